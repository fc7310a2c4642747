"""Voice activity detection: one interface, several backends chosen by name.

Every backend turns samples into a boolean activity mask on its own frame grid (silero: 32 ms,
webrtc: 10-30 ms, energy: 10 ms, pyannote: its model's frames). The shared post-processing here
bridges short gaps, drops blips, refines each boundary on a 10 ms speech-band level grid (so
boundaries resolve to ~10 ms whatever the backend hop) and pads. Models are loaded once per
process by each backend's ``load(config)``; loading is separate from inference so a worker can warm
up before the first job.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from clipmill.audio.profile import (
    SPEECH_BAND_HZ,
    AudioProfile,
    band_levels_db,
    check_samples,
    compute_profile,
    power_spectrogram,
)
from clipmill.audio.vad_backends import hysteresis
from clipmill.errors import InputError
from clipmill.timeline import Timeline

__all__ = ["BACKENDS", "REFINE_HOP_S", "VadConfig", "detect_speech", "hysteresis", "load_vad"]

logger = logging.getLogger(__name__)

#: Backend name -> module implementing ``load(config)`` and ``activity(...)``.
BACKENDS: dict[str, str] = {
    "silero": "clipmill.audio.vad_backends.silero",
    "webrtc": "clipmill.audio.vad_backends.webrtc",
    "energy": "clipmill.audio.vad_backends.energy",
    "pyannote": "clipmill.audio.vad_backends.pyannote",
}
#: Grid on which boundaries are refined (seconds).
REFINE_HOP_S = 0.010


@dataclass(frozen=True)
class VadConfig:
    """Tuning of the VAD backends and of the shared post-processing (seconds, dB).

    Attributes
    ----------
    threshold, neg_threshold
        Hysteresis on model speech probabilities (silero, pyannote): enter speech at
        ``threshold``, leave it below ``neg_threshold``.
    min_speech_s
        Speech runs shorter than this (after gap bridging) are dropped as clicks or breaths.
    min_gap_s
        Pauses shorter than this inside speech are bridged (word-internal closures).
    speech_pad_s
        Padding added around each speech interval after refinement.
    refine_window_s
        How far (each way) a boundary may move during refinement; 0 disables refinement.
    refine_margin_db
        A 10 ms frame counts as acoustically active when its speech-band level is this far above
        the speech-band noise floor (refinement only).
    energy_on_ratio, energy_off_ratio
        Energy backend: enter / leave speech at this fraction of the way from the speech-band noise
        floor to the speech-band active level (hysteresis, in dB).
    energy_min_margin_db
        Energy backend: the thresholds stay at least this far above the noise floor.
    webrtc_mode, webrtc_frame_s
        webrtcvad aggressiveness (0-3) and frame length (0.01, 0.02 or 0.03 s).
    silero_onnx
        Run silero's ONNX model (needs onnxruntime) instead of its TorchScript one.
    pyannote_model_path
        Local path of a pyannote segmentation checkpoint; falls back to ``CLIPMILL_PYANNOTE_MODEL``.
    """

    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_speech_s: float = 0.1
    min_gap_s: float = 0.1
    speech_pad_s: float = 0.0
    refine_window_s: float = 0.25
    refine_margin_db: float = 12.0
    energy_on_ratio: float = 0.4
    energy_off_ratio: float = 0.25
    energy_min_margin_db: float = 6.0
    webrtc_mode: int = 2
    webrtc_frame_s: float = 0.03
    silero_onnx: bool = False
    pyannote_model_path: str | None = field(default=None)

    def __post_init__(self) -> None:
        for name in ("min_speech_s", "min_gap_s", "speech_pad_s", "refine_window_s"):
            if getattr(self, name) < 0:
                raise InputError(f"VadConfig.{name} must be non-negative, got {getattr(self, name)}")
        if not 0.0 <= self.neg_threshold <= self.threshold <= 1.0:
            raise InputError(
                "VadConfig needs 0 <= neg_threshold <= threshold <= 1, got "
                f"threshold={self.threshold}, neg_threshold={self.neg_threshold}"
            )
        if not 0.0 <= self.energy_off_ratio <= self.energy_on_ratio <= 1.0:
            raise InputError(
                "VadConfig needs 0 <= energy_off_ratio <= energy_on_ratio <= 1, got "
                f"{self.energy_off_ratio} and {self.energy_on_ratio}"
            )
        if self.webrtc_mode not in (0, 1, 2, 3):
            raise InputError(f"VadConfig.webrtc_mode must be 0-3, got {self.webrtc_mode}")
        if self.webrtc_frame_s not in (0.01, 0.02, 0.03):
            raise InputError(
                f"VadConfig.webrtc_frame_s must be 0.01, 0.02 or 0.03, got {self.webrtc_frame_s}"
            )

    def resolved_pyannote_path(self) -> str | None:
        """The pyannote model path from the config, else from ``CLIPMILL_PYANNOTE_MODEL``."""
        return self.pyannote_model_path or os.environ.get("CLIPMILL_PYANNOTE_MODEL") or None


def _backend(name: str) -> ModuleType:
    if name not in BACKENDS:
        raise InputError(f"unknown VAD backend {name!r}: choose one of {', '.join(BACKENDS)}")
    return importlib.import_module(BACKENDS[name])


def load_vad(backend: str = "silero", config: VadConfig | None = None) -> object:
    """Load (once per process) and return the model of a VAD backend.

    Raises `ModelUnavailable` when the backend's package or weights are missing.
    """
    return _backend(backend).load(config or VadConfig())


def _refine(
    timeline: Timeline, active: np.ndarray, *, window_s: float, total_s: float
) -> Timeline:
    """Move each boundary (by at most ``window_s``) to the edge of the 10 ms active run it meets."""
    if window_s <= 0 or not len(timeline):
        return timeline
    reach = max(1, round(window_s / REFINE_HOP_S))
    n = len(active)
    refined = timeline.array.copy()
    for row, (start, end) in enumerate(timeline.array):
        i = min(max(round(start / REFINE_HOP_S), 0), n - 1)
        if active[i]:
            j = i
            while j > 0 and i - j < reach and active[j - 1]:
                j -= 1
        else:
            j = i
            while j < n - 1 and j - i < reach and not active[j]:
                j += 1
            j = j if active[j] else i
        k = min(max(round(end / REFINE_HOP_S), 1), n)
        if active[k - 1]:
            m = k
            while m < n and m - k < reach and active[m]:
                m += 1
        else:
            m = k
            while m > 1 and k - m < reach and not active[m - 1]:
                m -= 1
            m = m if active[m - 1] else k
        if m > j:
            refined[row] = (j * REFINE_HOP_S, min(m * REFINE_HOP_S, total_s))
    return Timeline(refined)


def detect_speech(
    samples: np.ndarray,
    sr: int,
    *,
    backend: str = "silero",
    profile: AudioProfile | None = None,
    config: VadConfig | None = None,
) -> Timeline:
    """Speech intervals (seconds from the first sample) of a mono segment.

    Parameters
    ----------
    samples
        Mono float samples in [-1, 1].
    sr
        Sample rate in Hz (backends resample internally when their model needs another rate).
    backend
        ``silero`` (default), ``webrtc``, ``energy`` or ``pyannote``.
    profile
        The segment's `AudioProfile`; computed here when not given. It sets the energy thresholds
        and the level used to refine boundaries.
    config
        Backend and post-processing settings.
    """
    module = _backend(backend)
    config = config or VadConfig()
    samples = check_samples(samples, sr)
    total_s = len(samples) / sr
    if profile is None:
        profile = compute_profile(samples, sr)
    elif profile.sample_rate != sr:
        raise InputError(
            f"profile was computed at {profile.sample_rate} Hz but samples are at {sr} Hz"
        )
    model = module.load(config)
    mask, hop_s = module.activity(samples, sr, model, config=config, profile=profile)
    speech = (
        Timeline.from_mask(mask, hop_s)
        .clip(0.0, total_s)
        .merge_gaps(config.min_gap_s)
        .drop_shorter(config.min_speech_s)
    )
    power, freqs = power_spectrogram(samples, sr, frame_s=0.032, hop_s=REFINE_HOP_S)
    levels = band_levels_db(power, freqs, SPEECH_BAND_HZ)
    active = levels >= profile.noise_floor_band_db["speech"] + config.refine_margin_db
    speech = _refine(speech, active, window_s=config.refine_window_s, total_s=total_s)
    speech = speech.pad(config.speech_pad_s, span=(0.0, total_s))
    logger.debug(
        "%s VAD: %d speech intervals, %.1f s of %.1f s", backend, len(speech), speech.duration,
        total_s,
    )
    return speech
