"""Which frames to run the face detector on.

Detection is the expensive step; the tracker predicts between sampled frames, so sampling every k-th
frame (``uniform``), more often when the picture moves (``motion``), on the encoder's key frames
(``keyframe``: I-frames sit on scene changes) or more often while the faces are uncertain or moving
(``adaptive``, :class:`AdaptiveSampler`) keeps the cost down without losing faces. Functions return
sorted frame indices into the chunk; the first and last frames are always included so tracks span
the whole chunk.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from clipmill.errors import InternalError
from clipmill.vision.detections import Detections, box_iou

__all__ = [
    "AdaptiveSampler", "frame_gaps", "motion_energy", "sample_keyframes", "sample_motion", "sample_uniform",
    "i420_thumbnails", "thumbnail_change", "thumbnails",
]


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
        raise InternalError(f"n_frames must be >= 0, got {n_frames}")
    if fps <= 0:
        raise InternalError(f"fps must be > 0, got {fps}")
    if (every is None) == (rate_hz is None):
        raise InternalError(f"give exactly one of every= and rate_hz=, got every={every}, rate_hz={rate_hz}")
    if every is not None and every < 1:
        raise InternalError(f"every must be >= 1, got {every}")
    if rate_hz is not None and rate_hz <= 0:
        raise InternalError(f"rate_hz must be > 0, got {rate_hz}")
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
    return thumbnail_change(thumbnails(frames, size=size))


def thumbnails(frames: np.ndarray, *, size: int = 64) -> np.ndarray:
    """Grey images in [0, 1] of about ``size`` pixels on the long side, shape (B, h, w), float32."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise InternalError(f"frames must be an array (B, H, W, 3), got shape {frames.shape}")
    step = max(1, max(frames.shape[1:3]) // size)
    return frames[:, ::step, ::step].astype(np.float32).mean(axis=-1) / 255.0


#: BT.601 limited-range YUV -> RGB, the conversion ffmpeg applies to untagged video: R, G, B rows
#: of (Y - 16, U - 128, V - 128) coefficients
_BT601 = np.array([[1.164, 0.0, 1.596], [1.164, -0.392, -0.813], [1.164, 2.017, 0.0]], np.float32)


def i420_thumbnails(frames: np.ndarray, *, size: int = 64) -> np.ndarray:
    """:func:`thumbnails` of planar I420 frames ``(B, H * 3 // 2, W)``: the same grey images, without an RGB frame.

    Only the thumbnail's pixels are converted to RGB (BT.601, as ffmpeg converts untagged video),
    so frames decoded as YUV give the frame changes, cuts and dissolves their RGB decode would.
    """
    frames = np.asarray(frames)
    if frames.ndim != 3 or frames.shape[1] % 3 or frames.shape[2] % 2:
        raise InternalError(f"frames must be I420 arrays (B, H * 3 // 2, W) of an even size, got shape {frames.shape}")
    height, width = frames.shape[1] * 2 // 3, frames.shape[2]
    step = max(1, max(height, width) // size)
    rows, cols = np.arange(0, height, step), np.arange(0, width, step)
    planes = frames[:, height:].reshape(len(frames), 2, height // 2, width // 2)
    chroma = planes[:, :, rows[:, None] // 2, cols[None, :] // 2]
    yuv = np.stack([frames[:, rows[:, None], cols[None, :]], chroma[:, 0], chroma[:, 1]], axis=-1).astype(np.float32)
    rgb = np.clip((yuv - np.array([16.0, 128.0, 128.0], np.float32)) @ _BT601.T, 0.0, 255.0)
    return rgb.mean(axis=-1) / 255.0


def thumbnail_change(grey: np.ndarray) -> np.ndarray:
    """Mean absolute change of each thumbnail from the previous one, shape (B,); the first is 0."""
    energy = np.zeros(len(grey), np.float64)
    if len(grey) > 1:
        energy[1:] = np.abs(np.diff(grey, axis=0)).mean(axis=(1, 2))
    return energy


def frame_gaps(fps: float, min_rate_hz: float, max_rate_hz: float) -> tuple[int, int]:
    """Shortest and longest gap between samples, in frames, for a detection rate between two bounds."""
    if fps <= 0 or not 0 < min_rate_hz <= max_rate_hz:
        raise InternalError(
            f"need fps > 0 and 0 < min_rate_hz <= max_rate_hz, got {fps}, {min_rate_hz}, {max_rate_hz}"
        )
    min_gap = max(1, int(round(fps / max_rate_hz)))
    return min_gap, max(min_gap, int(round(fps / min_rate_hz)))


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
    min_gap, max_gap = frame_gaps(fps, min_rate_hz, max_rate_hz)
    n = len(energy)
    if n == 0:
        return np.zeros(0, np.int64)
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


def sample_keyframes(
    n_frames: int,
    keyframes: np.ndarray,
    *,
    fps: float,
    min_rate_hz: float = 1.0,
    max_rate_hz: float = 12.5,
    confirm: int = 2,
) -> np.ndarray:
    """The chunk's key frames, each followed by a few quick samples, and a floor rate in between.

    Encoders put I-frames on scene changes, so they mark where a new face may appear: the
    ``confirm`` frames after each (``1 / max_rate_hz`` s apart) let the tracker confirm it at once. A
    long GOP (ten seconds is common) would starve the tracker, hence the floor: no gap exceeds
    ``1 / min_rate_hz`` s. Filler frames step forward from the frame before them, so a prefix of the
    chunk gets the same choices.

    Parameters
    ----------
    keyframes : ndarray of int
        Indices of key frames (and shot cuts) in the chunk; out-of-range values are ignored.
    """
    quick, max_gap = frame_gaps(fps, min_rate_hz, max_rate_hz)
    if confirm < 0:
        raise InternalError(f"confirm must be >= 0, got {confirm}")
    if n_frames == 0:
        return np.zeros(0, np.int64)
    keyframes = np.asarray(keyframes, np.int64).reshape(-1)
    keyframes = np.unique(np.concatenate([[0], keyframes[(keyframes >= 0) & (keyframes < n_frames)]]))
    following = (keyframes[:, None] + quick * np.arange(1, confirm + 1)[None, :]).reshape(-1)
    chosen = np.unique(np.concatenate([keyframes, following[following < n_frames], [n_frames - 1]]))
    filled = [chosen] + [np.arange(a + max_gap, b, max_gap, dtype=np.int64) for a, b in zip(chosen[:-1], chosen[1:])]
    return np.unique(np.concatenate(filled))


class AdaptiveSampler:
    """Decides frame by frame whether to detect: often while faces are uncertain or moving, rarely when still.

    Feed every frame in order to :meth:`step`. The interval between detections starts at its
    shortest, doubles after each sample whose faces agree with the previous sample's (same number,
    confident, boxes matched and barely moved) up to ``1 / min_rate_hz`` s, and falls back to
    ``1 / max_rate_hz`` s as soon as they disagree. Picture motion accumulated since the last sample
    (frame change summed, as in :func:`sample_motion`) also triggers a sample early.

    Parameters
    ----------
    fps : float
        Frame rate of the frames fed.
    min_rate_hz, max_rate_hz : float
        Bounds of the detection rate.
    motion_threshold : float
        Accumulated frame change that triggers a sample.
    confident : float
        Detections below this confidence count as uncertain.
    max_speed : float
        Faces moving faster than this many box heights per second count as moving.
    """

    def __init__(
        self,
        *,
        fps: float,
        min_rate_hz: float = 1.0,
        max_rate_hz: float = 12.5,
        motion_threshold: float = 0.02,
        confident: float = 0.6,
        max_speed: float = 0.5,
    ) -> None:
        self.min_gap, self.max_gap = frame_gaps(fps, min_rate_hz, max_rate_hz)
        self.fps = fps
        self.motion_threshold = motion_threshold
        self.confident = confident
        self.max_speed = max_speed
        self.interval = self.min_gap
        self._last: tuple[int, Detections] | None = None
        self._motion = 0.0

    def step(
        self, index: int, energy: float, detect: Callable[[int], Detections], *, force: bool = False
    ) -> Detections | None:
        """Feed frame ``index`` (its change from the previous frame); detect it when due or forced.

        Returns the frame's detections when it was detected, else None.
        """
        if self._last is not None and index <= self._last[0]:
            raise InternalError(f"frames must be fed in increasing order: got {index} after {self._last[0]}")
        self._motion += float(energy)
        gap = None if self._last is None else index - self._last[0]
        due = (
            force
            or gap is None
            or gap >= self.interval
            or (gap >= self.min_gap and self._motion >= self.motion_threshold)
        )
        if not due:
            return None
        found = detect(index)
        if self._last is not None:
            stable = self._motion < self.motion_threshold and self._agree(self._last[1], found, gap / self.fps)
            self.interval = min(self.max_gap, self.interval * 2) if stable else self.min_gap
        self._last = (index, found)
        self._motion = 0.0
        return found

    def _agree(self, before: Detections, after: Detections, dt_s: float) -> bool:
        """Same faces, confidently found, none moved faster than ``max_speed`` heights per second."""
        if len(before) != len(after) or np.any(after.confidence < self.confident):
            return False
        if not len(after):
            return True
        from scipy.optimize import linear_sum_assignment  # 0.3 s to import: only where faces are sampled

        iou = box_iou(before.xyxy, after.xyxy)
        rows, cols = linear_sum_assignment(-iou)
        if np.any(iou[rows, cols] < 0.3):
            return False
        a, b = before.xyxy[rows], after.xyxy[cols]
        shift = np.hypot((a[:, 0] + a[:, 2] - b[:, 0] - b[:, 2]) / 2, (a[:, 1] + a[:, 3] - b[:, 1] - b[:, 3]) / 2)
        height = np.maximum(a[:, 3] - a[:, 1], 1.0)
        return bool(np.all(shift / height / max(dt_s, 1e-9) <= self.max_speed))
