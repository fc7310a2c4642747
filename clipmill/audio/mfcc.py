"""MFCCs of a power spectrogram, as librosa 0.11 computes them with its defaults, in numpy and scipy.fft.

Slaney mel scale and area-normalised filters (``librosa.filters.mel``), ``power_to_db`` with
``ref=1, amin=1e-10, top_db=80`` and an orthonormal DCT-II (``librosa.feature.mfcc``): results
equal to the bit, without importing librosa (numba and its compiled functions load with it).
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft

#: Slaney's mel scale: linear below 1 kHz (200/3 Hz a mel), logarithmic above
_HZ_PER_MEL = 200.0 / 3
_LOG_FROM_HZ = 1000.0
_LOG_FROM_MEL = _LOG_FROM_HZ / _HZ_PER_MEL
_LOG_STEP = np.log(6.4) / 27.0
#: ``power_to_db``'s floor on power and its dynamic range below the maximum
AMIN = 1e-10
TOP_DB = 80.0


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney mels of frequencies in Hz."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _HZ_PER_MEL
    with np.errstate(divide="ignore"):
        logarithmic = _LOG_FROM_MEL + np.log(hz / _LOG_FROM_HZ) / _LOG_STEP
    return np.where(hz >= _LOG_FROM_HZ, logarithmic, linear)


def mel_to_hz(mels: np.ndarray) -> np.ndarray:
    """Frequencies in Hz of Slaney mels."""
    mels = np.asarray(mels, dtype=np.float64)
    return np.where(mels >= _LOG_FROM_MEL, _LOG_FROM_HZ * np.exp(_LOG_STEP * (mels - _LOG_FROM_MEL)),
                    _HZ_PER_MEL * mels)


@functools.cache
def mel_filters(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """``(n_mels, n_fft // 2 + 1)`` float32 triangular filters from 0 Hz to Nyquist, each scaled
    to unit area (Slaney), built once per shape."""
    fft_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_hz = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    widths = np.diff(mel_hz)
    ramps = np.subtract.outer(mel_hz, fft_hz)
    weights = np.zeros((n_mels, len(fft_hz)), dtype=np.float32)
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / widths[i], ramps[i + 2] / widths[i + 1]))
    weights *= (2.0 / (mel_hz[2 : n_mels + 2] - mel_hz[:n_mels]))[:, np.newaxis]
    return weights


def power_to_db(power: np.ndarray) -> np.ndarray:
    """Power in dB re 1, floored at `AMIN` and at `TOP_DB` below the array's maximum."""
    db = 10.0 * np.log10(np.maximum(AMIN, power))
    return np.maximum(db, db.max() - TOP_DB)


def mfcc(power: np.ndarray, sr: int, *, n_mels: int, n_mfcc: int) -> np.ndarray:
    """``(n_mfcc, frames)`` MFCCs (c0 first) of a ``(bins, frames)`` power spectrogram: the dB of
    its mel power (offset by 1e-12, so silent bands stay finite), orthonormal DCT-II."""
    mel = np.einsum("...ft,mf->...mt", power, mel_filters(sr, 2 * (power.shape[0] - 1), n_mels), optimize=True)
    return scipy.fft.dct(power_to_db(mel + 1e-12), axis=-2, type=2, norm="ortho")[:n_mfcc]
