"""A transcript made from the audio by a local Whisper-class model, words timed (the ``transcription`` option).

The loading code is the transcription filler backend's (faster-whisper model directory or
openai-whisper checkpoint from ``CLIPMILL_WHISPER_MODEL``; weights are never downloaded): without
the model or its library the job fails with a message that names what is missing.
"""

from __future__ import annotations

import numpy as np

from clipmill.audio.filler_backends import transcription
from clipmill.audio.fillers import FillerConfig
from clipmill.captions.transcript import Cue, Transcript, Word

USE = ("transcription=whisper", "give the transcript as a file (transcript=talk.srt) instead")


def transcribe(samples: np.ndarray, sr: int, *, model_path: str | None = None, language: str | None = "en") -> Transcript:
    """Every word the model hears in `samples`, on their timeline (seconds from the first sample)."""
    library, model = transcription.load(FillerConfig(whisper_model_path=model_path, language=language), USE)
    if sr != transcription.MODEL_SR:
        import librosa

        samples = librosa.resample(samples, orig_sr=sr, target_sr=transcription.MODEL_SR)
    words = [
        Word(float(start), float(end), text.strip())
        for start, end, text, _ in transcription.timed_words(library, model, samples, language)
        if text.strip() and end > start
    ]
    return Transcript(cues=tuple(Cue(w.start, w.end, w.text, (w,)) for w in words), format="whisper", words_known=True)
