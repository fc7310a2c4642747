"""Audio analysis: spectral profile, voice activity, silences and fillers over numpy arrays."""
