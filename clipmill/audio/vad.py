"""Voice activity detection: one interface, several backends chosen by name.

Every backend turns samples into a boolean activity mask on its own frame grid (silero: 32 ms,
webrtc: 10-30 ms, energy: 10 ms, pyannote: its model's frames). The shared post-processing here
bridges short gaps, drops blips, refines each boundary on a 10 ms grid of per-band levels against
the local noise floor (so boundaries resolve to ~10 ms whatever the backend hop, and faint word
tails stay in speech) and pads. Models are loaded once per
process by each backend's ``load(config)``; loading is separate from inference so a worker can warm
up before the first job.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
import scipy.fft
from scipy.ndimage import median_filter, percentile_filter

from clipmill.audio.profile import (
    SPEECH_BAND_HZ,
    AudioProfile,
    band_levels_db,
    check_samples,
    compute_profile,
    noise_floor_db,
    shared_spectrogram,
)
from clipmill.audio.silence import audible_frames
from clipmill.audio.vad_backends import hysteresis
from clipmill.errors import InputError, InternalError
from clipmill.timeline import Timeline

__all__ = [
    "BACKENDS",
    "REFINE_BANDS_HZ",
    "REFINE_HOP_S",
    "VadConfig",
    "acoustic_activity",
    "aperiodicity",
    "detect_speech",
    "hysteresis",
    "load_vad",
    "speech_probabilities",
]

logger = logging.getLogger(__name__)

#: Backend name -> module implementing ``load(config)`` and ``activity(...)`` or ``probabilities(...)``.
BACKENDS: dict[str, str] = {
    "silero": "clipmill.audio.vad_backends.silero",
    "webrtc": "clipmill.audio.vad_backends.webrtc",
    "energy": "clipmill.audio.vad_backends.energy",
    "pyannote": "clipmill.audio.vad_backends.pyannote",
}
#: Grid on which boundaries are refined (seconds).
REFINE_HOP_S = 0.010
#: Voicing band (F0 and first harmonics, where nasal murmurs and voiced word endings keep their
#: energy) and formant band, judged separately during refinement.
VOICING_BAND_HZ = (80.0, 300.0)
#: A frame is periodic (voiced) when its YIN aperiodicity is under this.
MAX_APERIODICITY = 0.2
#: frames per FFT block in `aperiodicity`
APERIODICITY_BLOCK = 2048


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
        A 10 ms frame counts as acoustically active when its level in one of `REFINE_BANDS_HZ` is
        this far above that band's local noise floor (refinement only).
    refine_floor_window_s
        Length of the sliding window whose 10th level percentile is the local noise floor
        (refinement only); it follows noise that changes over seconds.
    min_audible_s
        A speech run with less than this of audible frames (above the silence threshold, see
        `clipmill.audio.silence.audible_frames`) is dropped: the model fired on a breath or on
        room tone, not on a word. 0 keeps every run.
    audible_tail_s
        Each speech run is trimmed to ``audible_tail_s`` beyond its first and last audible frame:
        the model's probability lingers into a pause after a word. None keeps the edges.
    energy_on_ratio, energy_off_ratio
        Energy backend: enter / leave speech at this fraction of the way from the speech-band noise
        floor to the speech-band active level (hysteresis, in dB).
    energy_min_margin_db
        Energy backend: the thresholds stay at least this far above the noise floor.
    webrtc_mode, webrtc_frame_s
        webrtcvad aggressiveness (0-3) and frame length (0.01, 0.02 or 0.03 s).
    silero_onnx
        Run silero's ONNX model (True; needs onnxruntime) or its TorchScript one (False). None
        (default) picks ONNX, its sequence model (several times faster), when onnxruntime is installed.
    pyannote_model_path
        Local path of a pyannote segmentation checkpoint; falls back to ``CLIPMILL_PYANNOTE_MODEL``.
    """

    threshold: float = 0.2
    neg_threshold: float = 0.15
    min_speech_s: float = 0.1
    min_gap_s: float = 0.1
    speech_pad_s: float = 0.0
    refine_window_s: float = 0.25
    refine_margin_db: float = 12.0
    refine_floor_window_s: float = 4.0
    min_audible_s: float = 0.03
    audible_tail_s: float | None = 0.1
    energy_on_ratio: float = 0.4
    energy_off_ratio: float = 0.25
    energy_min_margin_db: float = 6.0
    webrtc_mode: int = 2
    webrtc_frame_s: float = 0.03
    silero_onnx: bool | None = None
    pyannote_model_path: str | None = field(default=None)

    def __post_init__(self) -> None:
        for name in ("min_speech_s", "min_gap_s", "speech_pad_s", "refine_window_s",
                     "refine_floor_window_s", "min_audible_s"):
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


def speech_probabilities(
    samples: np.ndarray, sr: int, *, backend: str = "silero", config: VadConfig | None = None
) -> tuple[np.ndarray, float] | None:
    """The backend's raw speech probability per frame and its hop (s), before any threshold.

    For plots: `detect_speech` thresholds these at ``threshold`` / ``neg_threshold``. None for
    backends that decide without a probability (webrtc, energy).
    """
    module = _backend(backend)
    if not hasattr(module, "probabilities"):
        return None
    config = config or VadConfig()
    return module.probabilities(check_samples(samples, sr), sr, module.load(config))


def aperiodicity(
    samples: np.ndarray,
    sr: int,
    *,
    hop_s: float = REFINE_HOP_S,
    frame_s: float = 0.040,
    fmin_hz: float = 70.0,
    fmax_hz: float = 400.0,
    frames: np.ndarray | None = None,
) -> np.ndarray:
    """YIN aperiodicity per frame: near 0 for voiced speech, near 1 or more for noise.

    The minimum over pitch lags of YIN's cumulative-mean-normalised difference (de Cheveigne
    & Kawahara 2002), from the Hann-windowed autocorrelation corrected by the window's own
    (Boersma 1993). Low-pass noise, whose difference grows steadily with the lag, stays near 1.
    Frame ``i`` is centred on ``(i + 0.5) * hop_s`` like `power_spectrogram`; ``frames``
    (indices) limits the work to those frames, the others are NaN.
    """
    hop, n = max(1, round(hop_s * sr)), round(frame_s * sr)
    n_frames = math.ceil(len(samples) / hop)
    left = (n - hop) // 2
    padded = np.pad(samples, (left, max(0, (n_frames - 1) * hop + n - left - len(samples))))
    framed = np.lib.stride_tricks.sliding_window_view(padded, n)[::hop][:n_frames].T
    wanted = np.arange(n_frames) if frames is None else np.asarray(frames, dtype=np.intp)
    window = np.hanning(n + 2)[1:-1]
    lag_max = min(n - 1, math.ceil(sr / fmin_hz))
    n_fft = 1 << (n + lag_max).bit_length()  # zero padding enough for the linear autocorrelation up to lag_max
    lag_min = max(1, min(lag_max, math.floor(sr / fmax_hz)))
    window_autocorr = np.fft.irfft(np.abs(np.fft.rfft(window, n_fft)) ** 2, n_fft)
    lags = np.arange(1, lag_max + 1)[:, None]
    result = np.full(n_frames, np.nan)
    for first in range(0, len(wanted), APERIODICITY_BLOCK):  # bounded memory on long inputs
        columns = wanted[first : first + APERIODICITY_BLOCK]
        spectrum = scipy.fft.rfft(framed[:, columns] * window[:, None], n_fft, axis=0)
        autocorr = scipy.fft.irfft(np.abs(spectrum) ** 2, n_fft, axis=0)[: lag_max + 1]
        autocorr /= window_autocorr[: lag_max + 1, None]
        difference = 2.0 * (autocorr[:1] - autocorr[1:])
        normalised = difference * lags / np.maximum(np.cumsum(difference, axis=0), 1e-30)
        result[columns] = normalised[lag_min - 1 :].min(axis=0)
    return result


def acoustic_activity(
    samples: np.ndarray,
    sr: int,
    *,
    margin_db: float = 12.0,
    floor_window_s: float = 4.0,
    hop_s: float = REFINE_HOP_S,
    spectrogram: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Per-frame mask of audible speech: a band ``margin_db`` above its local noise floor.

    Formant band (300-3400 Hz) energy counts as is. Voicing-band (80-300 Hz) energy counts
    only in periodic frames: nasal murmurs and voiced word endings carry little formant energy
    but are voiced, while breath puffs on a headset and room rumble are not. Each band is
    compared with its own floor, the 10th percentile of its level over a sliding
    ``floor_window_s`` window, never below the segment's floor (digital silence ignored).
    ``spectrogram`` is the 32 ms / ``hop_s`` `power_spectrogram` of ``samples`` when already computed.
    """
    power, freqs = shared_spectrogram(samples, sr, spectrogram, frame_s=0.032, hop_s=hop_s)
    size = max(1, round(floor_window_s / hop_s))

    def above_floor(band: tuple[float, float]) -> np.ndarray:
        levels = band_levels_db(power, freqs, band)
        local = percentile_filter(levels, 10.0, size=size, mode="nearest")
        return levels >= np.maximum(local, noise_floor_db(levels)) + margin_db

    formant = above_floor(SPEECH_BAND_HZ)
    low_only = above_floor(VOICING_BAND_HZ) & ~formant
    # periodicity decides only the low-band-only frames; their neighbours feed the median
    needed = np.flatnonzero(np.convolve(low_only, np.ones(3), mode="same") > 0)
    voiced = aperiodicity(samples, sr, hop_s=hop_s, frames=needed)[: len(formant)]
    voiced = median_filter(np.nan_to_num(voiced, nan=np.inf), size=3) < MAX_APERIODICITY
    return formant | (low_only & voiced)


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


def _audible(timeline: Timeline, audible: np.ndarray, *, min_active_s: float, tail_s: float | None) -> Timeline:
    """Intervals of ``timeline`` with at least ``min_active_s`` of audible 10 ms frames, each trimmed
    to ``tail_s`` around its first and last audible frame (None: edges kept)."""
    kept = []
    for start, end in timeline.array:
        first, last = round(start / REFINE_HOP_S), min(round(end / REFINE_HOP_S), len(audible))
        (loud,) = np.nonzero(audible[first:last])
        if loud.size * REFINE_HOP_S < min_active_s - 1e-9 or not loud.size:
            continue
        if tail_s is not None:
            start = max(start, (first + loud[0]) * REFINE_HOP_S - tail_s)
            end = min(end, (first + loud[-1] + 1) * REFINE_HOP_S + tail_s)
        kept.append((start, end))
    return Timeline(kept)


def detect_speech(
    samples: np.ndarray,
    sr: int,
    *,
    backend: str = "silero",
    profile: AudioProfile | None = None,
    config: VadConfig | None = None,
    spectrogram: tuple[np.ndarray, np.ndarray] | None = None,
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
        The segment's `AudioProfile`; computed here when not given. It sets the energy
        backend's thresholds.
    config
        Backend and post-processing settings.
    spectrogram
        The 32 ms / 10 ms `power_spectrogram` of ``samples`` when already computed.
    """
    module = _backend(backend)
    config = config or VadConfig()
    samples = check_samples(samples, sr)
    total_s = len(samples) / sr
    if profile is not None and profile.sample_rate != sr:
        raise InternalError(
            f"profile was computed at {profile.sample_rate} Hz but samples are at {sr} Hz"
        )
    model = module.load(config)
    with ThreadPoolExecutor(max_workers=1) as beside:
        # a model's probabilities need nothing else: they are computed on a second core (onnxruntime
        # and torch release the GIL) while the evidence that refines their boundaries is computed here
        scores = beside.submit(module.probabilities, samples, sr, model) if hasattr(module, "probabilities") else None
        spectrogram = shared_spectrogram(samples, sr, spectrogram)
        if profile is None:
            profile = compute_profile(samples, sr, spectrogram=spectrogram)
        active = acoustic_activity(
            samples, sr, margin_db=config.refine_margin_db, floor_window_s=config.refine_floor_window_s,
            spectrogram=spectrogram,
        )
        trims = config.min_audible_s > 0 or config.audible_tail_s is not None
        audible = audible_frames(*spectrogram) if trims else None
        if scores is not None:
            probabilities, hop_s = scores.result()
            mask = hysteresis(probabilities, config.threshold, config.neg_threshold)
        else:
            mask, hop_s = module.activity(
                samples, sr, model, config=config, profile=profile, spectrogram=spectrogram
            )
    speech = (
        Timeline.from_mask(mask, hop_s)
        .clip(0.0, total_s)
        .merge_gaps(config.min_gap_s)
        .drop_shorter(config.min_speech_s)
    )
    speech = _refine(speech, active, window_s=config.refine_window_s, total_s=total_s)
    if audible is not None:
        speech = _audible(speech, audible, min_active_s=config.min_audible_s, tail_s=config.audible_tail_s)
    speech = speech.pad(config.speech_pad_s, span=(0.0, total_s))
    logger.debug(
        "%s VAD: %d speech intervals, %.1f s of %.1f s", backend, len(speech), speech.duration,
        total_s,
    )
    return speech
