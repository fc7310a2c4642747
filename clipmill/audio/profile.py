"""Spectral profile of an audio segment: noise floor, speech-band level, SNR, flatness, clipping.

The profile is computed once per segment and adapts every later threshold (energy VAD, silence,
fillers) to the recording instead of assuming studio levels. Levels are in dBFS, where a frame's
level is ``10 * log10(mean square)`` of the Hann-windowed frame (a full-scale square wave reads
0 dBFS, a full-scale sine about -3 dBFS). Frames are centred on ``(i + 0.5) * hop_s`` so frame ``i``
lines up with ``Timeline.to_mask(hop_s, ...)``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.fft

from clipmill.errors import InputError, InternalError

__all__ = [
    "BANDS_HZ",
    "SPEECH_BAND_HZ",
    "AudioProfile",
    "band_levels_db",
    "check_samples",
    "compute_profile",
    "noise_floor_db",
    "power_spectrogram",
    "shared_spectrogram",
]

logger = logging.getLogger(__name__)

#: Lowest level reported (dBFS); digital silence maps here instead of -inf.
LEVEL_FLOOR_DB = -120.0
#: Frames quieter than this are digital silence (padding), not room noise.
DIGITAL_SILENCE_DB = -110.0
SPEECH_BAND_HZ = (300.0, 3400.0)
#: Named bands for the per-band noise floor; the last band ends at Nyquist.
BANDS_HZ: dict[str, tuple[float, float]] = {
    "low": (0.0, 300.0),
    "speech": SPEECH_BAND_HZ,
    "high": (3400.0, math.inf),
}
CLIP_LEVEL = 0.999


@dataclass(frozen=True)
class AudioProfile:
    """Levels and spectral statistics of one mono segment (all levels in dBFS).

    Attributes
    ----------
    noise_floor_db
        Robust low percentile of the frame levels: what the room sounds like between words.
    noise_floor_band_db
        The same per band (``low`` < 300 Hz, ``speech`` 300-3400 Hz, ``high`` > 3400 Hz).
    speech_band_energy_db
        Mean level in the 300-3400 Hz band over the whole segment.
    speech_level_db
        High percentile of the frame levels: how loud the active parts are.
    snr_db
        ``speech_level_db - noise_floor_db``.
    spectral_flatness
        Median Wiener entropy over frames (near 1 for white noise, near 0 for tonal sound).
    loudness_db
        RMS level of the whole segment.
    clipping_ratio
        Fraction of samples at or above 0.999 full scale.
    """

    sample_rate: int
    duration_s: float
    noise_floor_db: float
    noise_floor_band_db: dict[str, float]
    speech_band_energy_db: float
    speech_level_db: float
    snr_db: float
    spectral_flatness: float
    loudness_db: float
    clipping_ratio: float
    frame_s: float
    hop_s: float
    percentiles: tuple[float, float] = field(default=(10.0, 95.0))

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready dict: levels to 0.01 dB, small values to 1e-6, and the duration to the
        microsecond like every stored time (the speech document takes its length from here: rounded
        to 0.01 s, a 28.275 s range read as 28.27 s and its last silence ran past it)."""
        data = asdict(self)
        data["percentiles"] = list(self.percentiles)
        return {**_rounded(data), "duration_s": round(self.duration_s, 6)}


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return round(value, 6) if abs(value) < 1 else round(value, 2)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


def check_samples(samples: np.ndarray, sr: int) -> np.ndarray:
    """Validate mono float samples and a sample rate; return them as contiguous float32.

    Raises `InputError` for empty input or non-finite values (what a damaged file decodes to) and
    `InternalError` for multi-channel or integer samples or a non-positive rate (a caller's bug).
    """
    if not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise InternalError(f"sample rate must be a positive integer, got {sr!r}")
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise InternalError(
            f"expected mono samples of shape (n,), got shape {samples.shape}: downmix first"
        )
    if samples.size == 0:
        raise InputError("no audio samples: the segment is empty")
    if not np.issubdtype(samples.dtype, np.floating):
        raise InternalError(f"expected float samples in [-1, 1], got dtype {samples.dtype}")
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if not np.isfinite(samples).all():
        raise InputError("audio samples contain NaN or inf")
    return samples


def _frame_lengths(sr: int, frame_s: float, hop_s: float) -> tuple[int, int]:
    if frame_s <= 0 or hop_s <= 0 or hop_s > frame_s:
        raise InternalError(f"need 0 < hop_s <= frame_s, got frame_s={frame_s}, hop_s={hop_s}")
    return max(2, round(frame_s * sr)), max(1, round(hop_s * sr))


#: frames transformed at a time: the windowed frames and their spectra are this big, not the segment's
SPECTROGRAM_BLOCK_FRAMES = 4096


def power_spectrogram(
    samples: np.ndarray, sr: int, *, frame_s: float = 0.032, hop_s: float = 0.010,
    block_frames: int = SPECTROGRAM_BLOCK_FRAMES,
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised one-sided power spectrogram, frame ``i`` centred on ``(i + 0.5) * hop_s``.

    Returns ``(power, freqs)`` with ``power`` of shape ``(bins, ceil(n / hop))``, scaled so that
    summing over bins gives the frame's window-weighted mean square (Parseval). Frames are transformed
    ``block_frames`` at a time into the result, so memory beyond it stays flat however long the
    segment (windowing and transforming all 10 minutes at once took 5x the result's size).
    """
    samples = check_samples(samples, sr)
    n_fft, hop = _frame_lengths(sr, frame_s, hop_s)
    n_frames = math.ceil(len(samples) / hop)
    left = (n_fft - hop) // 2
    right = (n_frames - 1) * hop + n_fft - left - len(samples)
    padded = np.pad(samples, (left, max(0, right)))
    window = np.hanning(n_fft + 2)[1:-1].astype(samples.dtype)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:n_frames]
    spectra = np.empty((n_frames, n_fft // 2 + 1), np.float32)  # returned transposed, as one rfft of all frames was
    for first in range(0, n_frames, max(1, block_frames)):
        block = frames[first : first + block_frames]
        spectra[first : first + len(block)] = np.abs(scipy.fft.rfft(block * window, axis=1)) ** 2
    power = spectra.T
    power[1:] *= 2.0
    if n_fft % 2 == 0:
        power[-1] /= 2.0
    power /= n_fft * float(np.sum(window**2))
    return power, np.fft.rfftfreq(n_fft, 1.0 / sr)


def spectral_flatness(
    power: np.ndarray, *, floor: float = 1e-10, block_frames: int = SPECTROGRAM_BLOCK_FRAMES
) -> np.ndarray:
    """Per frame, geometric over arithmetic mean of the power spectrum (``librosa.feature.spectral_flatness``).

    Near 1 for white noise, near 0 for tones and voiced speech; bins below ``floor`` count as ``floor``.
    Computed ``block_frames`` frames at a time (in float64), so it needs no float64 copy of the whole spectrogram.
    """
    power = np.asarray(power)
    flatness = np.empty(power.shape[1], np.float64)
    for first in range(0, power.shape[1], block_frames):
        clipped = np.maximum(power[:, first : first + block_frames].astype(np.float64), floor)
        flatness[first : first + clipped.shape[1]] = np.exp(np.mean(np.log(clipped), axis=0)) / np.mean(clipped, axis=0)
    return flatness


def shared_spectrogram(
    samples: np.ndarray,
    sr: int,
    spectrogram: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    frame_s: float = 0.032,
    hop_s: float = 0.010,
) -> tuple[np.ndarray, np.ndarray]:
    """`power_spectrogram` of checked `samples`, or the precomputed ``spectrogram`` after a shape check.

    The stages share one spectrogram (``analyze`` computes it once) instead of recomputing it.
    """
    if spectrogram is None:
        return power_spectrogram(samples, sr, frame_s=frame_s, hop_s=hop_s)
    power, freqs = spectrogram
    n_fft, hop = _frame_lengths(sr, frame_s, hop_s)
    expected = (n_fft // 2 + 1, math.ceil(len(samples) / hop))
    if power.shape != expected or freqs.shape != (expected[0],):
        raise InternalError(
            f"spectrogram of shape {power.shape} does not match {len(samples)} samples at {sr} Hz "
            f"with {frame_s * 1000:g} ms frames every {hop_s * 1000:g} ms (expected {expected})"
        )
    return power, freqs


def _to_db(power: np.ndarray) -> np.ndarray:
    return np.maximum(10.0 * np.log10(np.maximum(power, 1e-30)), LEVEL_FLOOR_DB)


def band_levels_db(
    power: np.ndarray, freqs: np.ndarray, band_hz: tuple[float, float] | None = None
) -> np.ndarray:
    """Per-frame level in dBFS of the power in ``[low, high)`` Hz (whole spectrum when None)."""
    if band_hz is None:
        return _to_db(power.sum(axis=0))
    low, high = band_hz
    selected = (freqs >= low) & (freqs < high)
    return _to_db(power[selected].sum(axis=0))


def noise_floor_db(levels_db: np.ndarray, *, percentile: float = 10.0) -> float:
    """Robust noise floor: a low percentile of frame levels, ignoring digital silence."""
    live = levels_db[levels_db > DIGITAL_SILENCE_DB]
    if live.size == 0:
        return LEVEL_FLOOR_DB
    return float(np.percentile(live, percentile))


def compute_profile(
    samples: np.ndarray,
    sr: int,
    *,
    frame_s: float = 0.032,
    hop_s: float = 0.010,
    floor_percentile: float = 10.0,
    level_percentile: float = 95.0,
    spectrogram: tuple[np.ndarray, np.ndarray] | None = None,
) -> AudioProfile:
    """Measure the levels and spectral shape of a mono segment.

    Parameters
    ----------
    samples
        Mono float samples in [-1, 1].
    sr
        Sample rate in Hz.
    frame_s, hop_s
        STFT window and hop in seconds.
    floor_percentile, level_percentile
        Percentiles of the frame levels taken as noise floor and as active (speech) level.
    spectrogram
        ``power_spectrogram(samples, sr, frame_s=frame_s, hop_s=hop_s)`` when already computed.
    """
    samples = check_samples(samples, sr)
    power, freqs = shared_spectrogram(samples, sr, spectrogram, frame_s=frame_s, hop_s=hop_s)
    levels = band_levels_db(power, freqs)
    live = levels > DIGITAL_SILENCE_DB
    floor = noise_floor_db(levels, percentile=floor_percentile)
    band_floors = {
        name: noise_floor_db(band_levels_db(power, freqs, band), percentile=floor_percentile)
        for name, band in BANDS_HZ.items()
    }
    speech_power = power[(freqs >= SPEECH_BAND_HZ[0]) & (freqs < SPEECH_BAND_HZ[1])].sum(axis=0)
    level = float(np.percentile(levels[live], level_percentile)) if live.any() else floor
    flatness = spectral_flatness(power)[live] if live.any() else None
    profile = AudioProfile(
        sample_rate=int(sr),
        duration_s=len(samples) / sr,
        noise_floor_db=floor,
        noise_floor_band_db=band_floors,
        speech_band_energy_db=float(_to_db(np.mean(speech_power))),
        speech_level_db=level,
        snr_db=level - floor,
        spectral_flatness=float(np.median(flatness)) if flatness is not None else 0.0,
        loudness_db=float(_to_db(np.mean(np.square(samples, dtype=np.float64)))),
        clipping_ratio=float(np.mean(np.abs(samples) >= CLIP_LEVEL)),
        frame_s=frame_s,
        hop_s=hop_s,
        percentiles=(floor_percentile, level_percentile),
    )
    logger.debug("audio profile: %s", profile)
    return profile
