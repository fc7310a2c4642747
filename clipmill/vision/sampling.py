"""Which frames to run the face detector on.

Detection is the expensive step; the tracker predicts between sampled frames, so sampling every k-th
frame (``uniform``) or more often when the picture moves (``motion``) keeps the cost down without
losing faces. Functions return sorted frame indices into the chunk; the first and last frames are
always included so tracks span the whole chunk.
"""

from __future__ import annotations

import numpy as np

from clipmill.errors import InputError

__all__ = ["motion_energy", "sample_motion", "sample_uniform"]


def sample_uniform(
    n_frames: int,
    *,
    fps: float,
    every: int | None = None,
    rate_hz: float | None = None,
) -> np.ndarray:
    """Every ``every``-th frame, or frames at ``rate_hz`` per second; give exactly one of the two.

    Parameters
    ----------
    n_frames : int
        Frames in the chunk.
    fps : float
        Frame rate of the chunk, used to turn ``rate_hz`` into a stride.

    Returns
    -------
    ndarray of int64
        Sorted indices, always including ``0`` and ``n_frames - 1``.
    """
    if n_frames < 0:
        raise InputError(f"n_frames must be >= 0, got {n_frames}")
    if fps <= 0:
        raise InputError(f"fps must be > 0, got {fps}")
    if (every is None) == (rate_hz is None):
        raise InputError(f"give exactly one of every= and rate_hz=, got every={every}, rate_hz={rate_hz}")
    if every is not None and every < 1:
        raise InputError(f"every must be >= 1, got {every}")
    if rate_hz is not None and rate_hz <= 0:
        raise InputError(f"rate_hz must be > 0, got {rate_hz}")
    if n_frames == 0:
        return np.zeros(0, np.int64)
    if every is None:
        positions = np.arange(0.0, n_frames, fps / rate_hz)
        indices = np.round(positions).astype(np.int64)
    else:
        indices = np.arange(0, n_frames, every, dtype=np.int64)
    return np.unique(np.concatenate([indices[indices < n_frames], [n_frames - 1]]))


def motion_energy(frames: np.ndarray, *, size: int = 64) -> np.ndarray:
    """Mean absolute grey-level change from the previous frame, in [0, 1], shape (B,); first is 0.

    Frames are reduced to about ``size`` pixels on the long side first: motion of a face, not noise.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise InputError(f"frames must be an array (B, H, W, 3), got shape {frames.shape}")
    step = max(1, max(frames.shape[1:3]) // size)
    grey = frames[:, ::step, ::step].astype(np.float32).mean(axis=-1) / 255.0
    energy = np.zeros(len(frames), np.float64)
    if len(frames) > 1:
        energy[1:] = np.abs(np.diff(grey, axis=0)).mean(axis=(1, 2))
    return energy


def sample_motion(
    energy: np.ndarray,
    *,
    fps: float,
    min_rate_hz: float = 2.0,
    max_rate_hz: float = 12.5,
    threshold: float = 0.02,
) -> np.ndarray:
    """Sample more often when the picture changes: motion drives the rate between two bounds.

    Motion since the last sample (the sum of ``energy``) is accumulated; a frame is sampled when it
    reaches ``threshold`` and at least ``1 / max_rate_hz`` s have passed, or when ``1 / min_rate_hz``
    s have passed whatever the motion.

    Parameters
    ----------
    energy : ndarray, shape (B,)
        Per-frame change, e.g. from :func:`motion_energy`.
    fps : float
        Frame rate of the chunk.
    """
    energy = np.asarray(energy, np.float64).reshape(-1)
    if fps <= 0 or not 0 < min_rate_hz <= max_rate_hz:
        raise InputError(
            f"need fps > 0 and 0 < min_rate_hz <= max_rate_hz, got {fps}, {min_rate_hz}, {max_rate_hz}"
        )
    n = len(energy)
    if n == 0:
        return np.zeros(0, np.int64)
    min_gap = max(1, int(round(fps / max_rate_hz)))
    max_gap = max(min_gap, int(round(fps / min_rate_hz)))
    chosen = [0]
    accumulated = 0.0
    for i in range(1, n):
        accumulated += energy[i]
        gap = i - chosen[-1]
        if gap >= max_gap or (gap >= min_gap and accumulated >= threshold):
            chosen.append(i)
            accumulated = 0.0
    if chosen[-1] != n - 1:
        chosen.append(n - 1)
    return np.asarray(chosen, np.int64)
