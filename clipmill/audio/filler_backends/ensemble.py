"""Ensemble filler detector: the acoustic model's fillers and the phone decoder's speech noise.

The two see different fillers: the acoustic model (`acoustic`) finds held vowels bounded by a
pause, the phone decoder (`phonetic`) hears the quiet and noisy "uh" the VAD and the spectra
miss and says "speech noise" where a word would be a held vowel too. Their union is reported;
where an acoustic filler overlaps or touches a decoded one they are one sound, and the decoder's
span stays (its phone boundaries keep fillers said back to back apart). Where the decoder heard
phones instead, an acoustic filler needs more evidence: the model's ``alone_threshold``. Not every
speech-noise span is a filler (`decoded_sounds`): spans are split at the pauses inside them (dips
of the model's ``pause_depth_db``), the tails of louder words dropped, and a span whose pitch
spreads wider than the model's ``max_pitch_std_st`` (laughter) is no held vowel. A decoded filler is "um" when a nasal murmur
follows it, as in `acoustic`.
"""

from __future__ import annotations

import numpy as np

from clipmill.audio.filler_backends import acoustic, phonetic
from clipmill.audio.filler_backends.decoded_sounds import DecodedSound, continues_louder_sound, split_at_pauses
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


def decoded_sounds(samples: np.ndarray, sr: int, spans: list[tuple[float, float]], *, levels: np.ndarray,
                   config, pause_depth_db: float) -> list[DecodedSound]:
    """The decoder's speech-noise ``spans`` (`phonetic.speech_noise`) as sounds of their own: split
    at the pauses inside them (dips of ``pause_depth_db``), without the tails and onsets of louder
    words, with their pitch spread.

    ``levels`` are the speech-band levels of ``samples`` on `acoustic.HOP_S` frames.
    """
    min_frames = round(config.min_duration_s / acoustic.HOP_S)
    context_frames = round(config.pause_context_s / acoustic.HOP_S)
    sounds = []
    for start, end in spans:
        first, stop = round(start / acoustic.HOP_S), min(round(end / acoustic.HOP_S), len(levels))
        for a, b in split_at_pauses(first, stop, levels, min_frames, pause_depth_db):
            if b <= a or continues_louder_sound(a, b, levels, context_frames):
                continue
            piece = (start if a == first else a * acoustic.HOP_S, end if b == stop else b * acoustic.HOP_S)
            _, spread = acoustic.pitch_stats(samples[round(piece[0] * sr) : round(piece[1] * sr)], sr, config)
            sounds.append(DecodedSound(*piece, pitch_std_st=spread))
    return sounds


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
    spans = phonetic.speech_noise(samples, sr, decoder_settings, speech=speech, min_duration_s=config.min_duration_s)
    sounds = decoded_sounds(samples, sr, spans, levels=levels, config=config,
                            pause_depth_db=filler_model.pause_depth_db)
    labelled = [(sound.start, sound.end, "um" if acoustic.is_nasal_after(
        min(round(sound.end / acoustic.HOP_S), len(levels)), power, freqs, levels, floor) else "uh")
        for sound in sounds if sound.held(filler_model.max_pitch_std_st)]
    return combine(heard, labelled, filler_model.alone_threshold)
