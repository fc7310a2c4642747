"""Ensemble filler detector: the acoustic model's fillers and the phone decoder's speech noise.

The two see different fillers: the acoustic model (`acoustic`) finds held vowels bounded by a
pause, the phone decoder (`phonetic`) hears the quiet and noisy "uh" the VAD and the spectra
miss and says "speech noise" where a word would be a held vowel too. Their union is reported;
where an acoustic filler overlaps or touches a decoded one they are one sound, and the decoder's
span stays (its phone boundaries keep fillers said back to back apart). Where the decoder heard
phones instead, an acoustic filler needs more evidence: the model's ``alone_threshold``. A decoded filler is "um"
when a nasal murmur follows it, as in `acoustic`.
"""

from __future__ import annotations

import numpy as np

from clipmill.audio.filler_backends import acoustic, phonetic
from clipmill.audio.profile import SPEECH_BAND_HZ, AudioProfile, band_levels_db, shared_spectrogram
from clipmill.timeline import Timeline

#: confidence of a filler only the decoder heard: about the share of its long speech-noise segments
#: that are labelled fillers on ../shared/media (11 of 13; nothing of it is fitted)
PHONETIC_CONFIDENCE = 0.85


def load(config) -> tuple[acoustic.FillerModel, object]:
    """The committed acoustic model and the phone decoder's configuration (each read once per process)."""
    return acoustic.load(config), phonetic.decoder_config()


def _same_sound(event: tuple[float, ...], start: float, end: float) -> bool:
    """Whether ``event`` overlaps ``[start, end)`` or lies closer to it than `acoustic.SPLIT_GAP_S`."""
    return event[0] - acoustic.SPLIT_GAP_S < end and event[1] + acoustic.SPLIT_GAP_S > start


def combine(heard: list[tuple[float, float, str, float]], decoded: list[tuple[float, float, str]],
            alone_threshold: float) -> list[tuple[float, float, str, float]]:
    """The decoded fillers and the acoustic ones (``heard``) that are not one of them.

    An acoustic filler on a decoded one (`_same_sound`) is dropped, and its probability raises
    the decoded one's confidence; one on none is kept when its probability reaches
    ``alone_threshold``.
    """
    combined = [(start, end, label, max([PHONETIC_CONFIDENCE] + [
        event[3] for event in heard if _same_sound(event, start, end)])) for start, end, label in decoded]
    combined += [event for event in heard if event[3] >= alone_threshold
                 and not any(_same_sound(event, start, end) for start, end, _ in decoded)]
    return sorted(combined)


def detect(
    samples: np.ndarray, sr: int, model, *, speech: Timeline, profile: AudioProfile, config,
    spectrogram: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[tuple[float, float, str, float]]:
    """Filler events ``(start, end, label, confidence)`` of both detectors (`combine`)."""
    filler_model, decoder_settings = model
    spectrogram = shared_spectrogram(samples, sr, spectrogram, frame_s=acoustic.FRAME_S, hop_s=acoustic.HOP_S)
    heard = acoustic.detect(samples, sr, filler_model, speech=speech, profile=profile, config=config,
                            spectrogram=spectrogram)
    power, freqs = spectrogram
    levels = band_levels_db(power, freqs, SPEECH_BAND_HZ)
    floor = profile.noise_floor_band_db["speech"]
    decoded = phonetic.speech_noise(samples, sr, decoder_settings, speech=speech, min_duration_s=config.min_duration_s)
    labelled = [(start, end, "um" if acoustic.is_nasal_after(
        min(round(end / acoustic.HOP_S), len(levels)), power, freqs, levels, floor) else "uh")
        for start, end in decoded]
    return combine(heard, labelled, filler_model.alone_threshold)
