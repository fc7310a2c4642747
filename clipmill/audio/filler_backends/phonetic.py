"""Phonetic filler evidence: where pocketsphinx's phone decoder hears "speech noise".

The en-US acoustic model that ships in the pocketsphinx wheel has a filler phone, ``+SPN+``
(speech noise), trained on the hesitations of many voices. Decoded with the wheel's phone
language model (allphone search, no words), its long ``+SPN+`` segments land on held "uh"/"um"
and almost never on fluent words, which spectra alone cannot tell apart from a held vowel.
Nothing here is fitted to clipmill's labelled set: the decoder's defaults, and the minimum filler
length of `clipmill.audio.fillers.FillerConfig`.
"""

from __future__ import annotations

import functools
import importlib.util

import librosa
import numpy as np

from clipmill.errors import ModelUnavailable
from clipmill.timeline import Timeline

MODEL_SR = 16000
#: pocketsphinx's frame rate (frames per second)
FRAMES_PER_S = 100
SPEECH_NOISE = "+SPN+"
#: an utterance ends at the first pause after this long (s): CMN is per utterance, memory per frame
UTTERANCE_S = 30.0
#: no utterance is longer than this, pause or not (s)
MAX_UTTERANCE_S = 60.0


@functools.cache
def decoder_config() -> dict[str, object]:
    """Settings of the allphone search over the wheel's en-US model and phone LM (`ModelUnavailable`
    without pocketsphinx); `speech_noise` builds a decoder from them per call (~0.4 s)."""
    if importlib.util.find_spec("pocketsphinx") is None:
        raise ModelUnavailable(
            "filler backend 'ensemble' needs the pocketsphinx package (pip install 'pocketsphinx>=5.1.1'), "
            "or choose the 'acoustic' filler backend"
        )
    from pocketsphinx import get_model_path

    return {"allphone": get_model_path("en-us/en-us-phone.lm.bin"), "lm": None, "loglevel": "FATAL"}


def utterances(speech: Timeline, total_s: float) -> list[tuple[float, float]]:
    """Consecutive ``(start, end)`` pieces covering ``[0, total_s)``, cut in the middle of the gaps
    between speech regions once a piece is `UTTERANCE_S` long (hard cuts past `MAX_UTTERANCE_S`)."""
    gaps = speech.clip(0.0, total_s).complement(0.0, total_s).array
    cut_points = [(a + b) / 2 for a, b in gaps if 0.0 < a and b < total_s]
    pieces, start = [], 0.0
    for point in [*cut_points, total_s]:
        while point - start > MAX_UTTERANCE_S:
            pieces.append((start, start + MAX_UTTERANCE_S))
            start += MAX_UTTERANCE_S
        if point - start >= UTTERANCE_S or point == total_s:
            pieces.append((start, point))
            start = point
    return [(a, b) for a, b in pieces if b > a]


def speech_noise(samples: np.ndarray, sr: int, decoder_settings: dict[str, object], *, speech: Timeline,
                 min_duration_s: float) -> list[tuple[float, float]]:
    """Spans of at least ``min_duration_s`` the phone decoder labels ``+SPN+`` (seconds of ``samples``).

    The signal is decoded whole, in utterances that end in pauses (`utterances`), so quiet fillers
    outside the VAD's speech are heard too. A decoder carries its cepstral mean and more from one
    utterance to the next, so each call builds its own from ``decoder_settings`` (`decoder_config`): the
    same audio, the same spans, whatever was decoded before.
    """
    from pocketsphinx import Decoder

    decoder = Decoder(**decoder_settings)
    if sr != MODEL_SR:
        samples = librosa.resample(samples, orig_sr=sr, target_sr=MODEL_SR)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    found = []
    for start, end in utterances(speech, len(pcm) / MODEL_SR):
        decoder.start_utt()
        decoder.process_raw(pcm[round(start * MODEL_SR) : round(end * MODEL_SR)].tobytes(), full_utt=True)
        decoder.end_utt()
        segments = [(segment.start_frame, segment.end_frame + 1) for segment in decoder.seg()
                    if segment.word == SPEECH_NOISE]
        found += [(start + first / FRAMES_PER_S, start + stop / FRAMES_PER_S) for first, stop in segments]
    # each segment is kept apart: two fillers decoded back to back are two events
    return [(a, b) for a, b in found if b - a >= min_duration_s]
