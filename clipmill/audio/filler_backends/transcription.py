"""Transcription filler backend: a local Whisper-class model with word timestamps.

faster-whisper (a CTranslate2 model directory) is preferred, openai-whisper (a ``.pt`` checkpoint)
is the fallback. Weights are never downloaded: the path comes from
``FillerConfig.whisper_model_path`` or ``CLIPMILL_WHISPER_MODEL``.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

import librosa
import numpy as np

from clipmill.audio.profile import AudioProfile
from clipmill.errors import ModelUnavailable
from clipmill.local_models import local_model
from clipmill.timeline import Timeline

MODEL_SR = 16000
#: How the model is given: an environment variable of the process that runs the job
#: (clipmill.toml has no key for it; in Python, ``FillerConfig(whisper_model_path=...)`` works too).
SETTING = "the environment variable CLIPMILL_WHISPER_MODEL"
#: Whisper drops fillers unless the prompt shows them being transcribed.
FILLER_PROMPT = "Umm, let me think like, hmm... Okay, uh, here's what I'm, er, thinking."


#: What a missing model stops, and what the user can do instead (the transcript stage passes its own).
FILLER_USE = ("filler backend 'transcription'", "choose the 'acoustic' filler backend")


@functools.cache
def _load(path: str, use: tuple[str, str] = FILLER_USE) -> tuple[str, object]:
    if importlib.util.find_spec("faster_whisper") is not None and Path(path).is_dir():
        from faster_whisper import WhisperModel

        return "faster_whisper", WhisperModel(path, device="cpu", compute_type="int8")
    if importlib.util.find_spec("whisper") is not None and Path(path).is_file():
        import whisper

        return "whisper", whisper.load_model(path, device="cpu")
    raise ModelUnavailable(
        f"{use[0]} cannot load {path!r}: install faster-whisper (for a CTranslate2 model directory) or "
        f"openai-whisper (for a .pt checkpoint), or {use[1]}"
    )


def load(config, use: tuple[str, str] = FILLER_USE) -> tuple[str, object]:
    """(library name, model) for the configured local path, loaded once per process; `use` names
    what needs the model and the alternative, for the message when it is missing."""
    path = local_model(use[0], config.resolved_whisper_path(), setting=SETTING, model="Whisper-class model",
                       fallback=use[1])
    return _load(str(path), use)


def timed_words(library: str, model, audio: np.ndarray, language: str | None):
    """Yield (start, end, word, probability) with word-level timestamps."""
    if library == "faster_whisper":
        segments, _ = model.transcribe(
            audio, language=language, word_timestamps=True, initial_prompt=FILLER_PROMPT
        )
        for segment in segments:
            for word in segment.words or ():
                yield word.start, word.end, word.word, word.probability
    else:
        result = model.transcribe(
            audio, language=language, word_timestamps=True, initial_prompt=FILLER_PROMPT
        )
        for segment in result["segments"]:
            for word in segment.get("words", ()):
                yield word["start"], word["end"], word["word"], word.get("probability", 1.0)


def detect(
    samples: np.ndarray, sr: int, model, *, speech: Timeline, profile: AudioProfile, config,
    spectrogram: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[tuple[float, float, str, float]]:
    """Filler words from the transcript, kept when they overlap speech."""
    from clipmill.audio.fillers import FILLER_WORDS

    library, asr = model
    if sr != MODEL_SR:
        samples = librosa.resample(samples, orig_sr=sr, target_sr=MODEL_SR)
    events = []
    for start, end, word, probability in timed_words(library, asr, samples, config.language):
        label = FILLER_WORDS.get(re.sub(r"[^a-z]", "", word.lower()))
        if label and len(speech.clip(start, end)):
            events.append((float(start), float(end), label, float(probability)))
    return events
