"""Filler detection ("uh", "um", "er", "ah", "hmm"): one interface, three backends.

``acoustic`` (a committed 5-weight logistic model, no download) finds hesitation vowels by how
they sound: a stretch of speech whose spectrum barely changes, voiced with a flat pitch, no louder
than the speaker's words, bounded by a pause on at least one side and no front vowel. ``ensemble`` adds
the fillers pocketsphinx's phone decoder (its model ships in the package) hears as "speech noise":
more of them found, but the decoder reads every second of audio. ``transcription`` runs a local
Whisper-class model with word timestamps and maps filler words to labels; it needs a model path
from the config.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass, field

import numpy as np

from clipmill.audio.profile import AudioProfile, check_samples
from clipmill.errors import InputError, InternalError
from clipmill.events import LabelledEvents
from clipmill.timeline import Timeline

__all__ = ["FILLER_BACKENDS", "FILLER_WORDS", "FillerConfig", "detect_fillers",
           "load_filler_model"]

logger = logging.getLogger(__name__)

FILLER_BACKENDS: dict[str, str] = {
    "acoustic": "clipmill.audio.filler_backends.acoustic",
    "transcription": "clipmill.audio.filler_backends.transcription",
    "ensemble": "clipmill.audio.filler_backends.ensemble",
}
#: Transcribed word (lower case, punctuation stripped) -> filler label.
FILLER_WORDS: dict[str, str] = {
    "uh": "uh", "uhh": "uh", "uhm": "um", "um": "um", "umm": "um", "hm": "hmm", "hmm": "hmm",
    "mm": "hmm", "mhm": "hmm", "er": "er", "erm": "er", "ah": "ah", "ahh": "ah",
}


@dataclass(frozen=True)
class FillerConfig:
    """Tuning of the filler backends (seconds, dB, semitones).

    Attributes
    ----------
    max_change_db
        Acoustic: a 10 ms frame is spectrally stable when its MFCCs (without c0) move by less
        than this (RMS, dB-like units) between the frames ``context_frames`` before and after.
    context_frames
        Acoustic: half-width of the spectral-change difference, in 10 ms frames.
    min_duration_s, max_duration_s
        Acoustic: allowed length of a filler (deliberately drawn-out "uhhh" can exceed 1 s).
    min_level_re_floor_db
        Acoustic: a stable frame is voice, not room tone, at this many dB over the speech-band
        floor (fillers are often quiet: 8-16 dB over a noisy room's floor).
    pause_dip_db, pause_context_s
        Acoustic: a candidate needs the level within ``pause_context_s`` before or after it to
        drop at least ``pause_dip_db`` below its mean level (the model then weighs the dip).
    max_level_re_active_db
        Acoustic: a filler's mean speech-band level may exceed the speaker's active level
        (95th percentile inside speech) by at most this much; hesitations are not emphasised.
    fmin_hz, fmax_hz
        pYIN pitch search range.
    whisper_model_path
        Transcription: local path of a faster-whisper (CTranslate2) model directory or an
        openai-whisper checkpoint; falls back to ``CLIPMILL_WHISPER_MODEL``.
    language
        Transcription: language code passed to the model (None: detect).
    """

    max_change_db: float = 12.0
    context_frames: int = 2
    min_duration_s: float = 0.15
    max_duration_s: float = 1.5
    min_level_re_floor_db: float = 15.0
    pause_dip_db: float = 6.0
    pause_context_s: float = 0.15
    max_level_re_active_db: float = 0.0
    fmin_hz: float = 60.0
    fmax_hz: float = 300.0
    whisper_model_path: str | None = field(default=None)
    language: str | None = "en"

    def __post_init__(self) -> None:
        if not 0 < self.min_duration_s < self.max_duration_s:
            raise InputError(
                "FillerConfig needs 0 < min_duration_s < max_duration_s, got "
                f"{self.min_duration_s} and {self.max_duration_s}"
            )
        if self.context_frames < 1:
            raise InputError(f"FillerConfig.context_frames must be >= 1, got {self.context_frames}")
        if not 0 < self.fmin_hz < self.fmax_hz:
            raise InputError(f"need 0 < fmin_hz < fmax_hz, got {self.fmin_hz}, {self.fmax_hz}")

    def resolved_whisper_path(self) -> str | None:
        """The Whisper model path from the config, else from ``CLIPMILL_WHISPER_MODEL``."""
        return self.whisper_model_path or os.environ.get("CLIPMILL_WHISPER_MODEL") or None


def _backend(name: str):
    if name not in FILLER_BACKENDS:
        raise InputError(
            f"unknown filler backend {name!r}: choose one of {', '.join(FILLER_BACKENDS)}"
        )
    return importlib.import_module(FILLER_BACKENDS[name])


def load_filler_model(backend: str = "acoustic", config: FillerConfig | None = None) -> object:
    """Load (once per process) the model of a filler backend; `ModelUnavailable` if missing."""
    return _backend(backend).load(config or FillerConfig())


def detect_fillers(
    samples: np.ndarray,
    sr: int,
    *,
    speech: Timeline,
    profile: AudioProfile,
    backend: str = "acoustic",
    config: FillerConfig | None = None,
    spectrogram: tuple[np.ndarray, np.ndarray] | None = None,
) -> LabelledEvents:
    """Find filled pauses inside the speech of a mono segment.

    Parameters
    ----------
    samples, sr
        Mono float samples and their sample rate.
    speech
        Speech timeline from `clipmill.audio.vad.detect_speech`; fillers are searched inside it.
    profile
        The segment's `AudioProfile`.
    backend
        ``acoustic`` (default, no model), ``ensemble`` (acoustic + pocketsphinx) or
        ``transcription`` (local Whisper-class model); a clip job's ``auto`` is resolved before
        (`clipmill.config.ClipOptions.used_filler_backend`).
    config
        Backend settings.
    spectrogram
        The 32 ms / 10 ms `power_spectrogram` of ``samples`` when already computed (acoustic).
    """
    module = _backend(backend)
    config = config or FillerConfig()
    samples = check_samples(samples, sr)
    if profile.sample_rate != sr:
        raise InternalError(
            f"profile was computed at {profile.sample_rate} Hz but samples are at {sr} Hz"
        )
    model = module.load(config)
    events = module.detect(
        samples, sr, model, speech=speech, profile=profile, config=config, spectrogram=spectrogram
    )
    result = LabelledEvents.exclusive(events)
    logger.debug("%s fillers: %d found", backend, len(result))
    return result
