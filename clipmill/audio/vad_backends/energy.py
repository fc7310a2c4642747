"""Energy VAD: speech-band level against thresholds adapted from the profile (no model)."""

from __future__ import annotations

import numpy as np

from clipmill.audio.profile import (
    DIGITAL_SILENCE_DB,
    SPEECH_BAND_HZ,
    AudioProfile,
    band_levels_db,
    shared_spectrogram,
)
from clipmill.audio.vad_backends import hysteresis

HOP_S = 0.010
FRAME_S = 0.032
ACTIVE_PERCENTILE = 95.0


def load(config) -> None:
    """Nothing to load."""
    return None


def thresholds_db(levels_db: np.ndarray, profile: AudioProfile, config) -> tuple[float, float]:
    """(enter, leave) levels in dBFS, between the speech-band noise floor and the active level.

    The floor comes from the profile; the active level is a high percentile of ``levels_db``.
    """
    floor = profile.noise_floor_band_db["speech"]
    live = levels_db[levels_db > DIGITAL_SILENCE_DB]
    span = max(float(np.percentile(live, ACTIVE_PERCENTILE)) - floor, 0.0) if live.size else 0.0
    on = floor + max(config.energy_on_ratio * span, config.energy_min_margin_db)
    off = floor + max(config.energy_off_ratio * span, config.energy_min_margin_db / 2)
    return on, min(off, on)


def activity(
    samples: np.ndarray, sr: int, model, *, config, profile: AudioProfile,
    spectrogram: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, float]:
    """Hysteresis on the 300-3400 Hz level per 10 ms frame (of ``spectrogram`` when given)."""
    power, freqs = shared_spectrogram(samples, sr, spectrogram, frame_s=FRAME_S, hop_s=HOP_S)
    levels = band_levels_db(power, freqs, SPEECH_BAND_HZ)
    on, off = thresholds_db(levels, profile, config)
    return hysteresis(levels, on, off), HOP_S
