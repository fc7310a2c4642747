"""Who is talking: mouth-region motion per face track, from decoded frames.

For each sampled frame and each track present, the mean absolute grey-level change of the lower
middle of the face box (the mouth) since the previous sampled frame. A talking face moves its
mouth; a listening or frozen one barely does. Computed chunk by chunk: the caller passes the last
frame of the previous chunk so the difference is continuous. Framing only asks who talks where two
faces or more are on screen at once, so only those stretches (:func:`shared_spans`) need decoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from clipmill.timeline import Timeline
from clipmill.vision.tracking import Track


def shared_spans(tracks: Sequence[Track], *, window_s: float, end_s: float, rate_hz: float) -> Timeline:
    """Where two tracks or more are on screen at once, on a grid of ``rate_hz`` samples, widened on each side
    by the framing's smoothing window ``window_s`` and two samples.

    The only stretches where a talker is chosen, so the only ones whose mouth motion counts. Widened so,
    the motion smoothed there is what a decode of the whole range gives: the window never reaches a
    span's edge nor its first sample (which has no frame before it). Bounds are whole samples inside
    ``[0, end_s]``, so the samples fall where a decode of everything puts them.
    """
    starts = np.asarray([tr.times[0] for tr in tracks if len(tr)], np.float64)
    ends = np.asarray([tr.times[-1] for tr in tracks if len(tr)], np.float64)
    if len(starts) < 2:
        return Timeline()
    times = np.concatenate([starts, ends])
    steps = np.concatenate([np.ones(len(starts)), -np.ones(len(ends))])
    order = np.lexsort((-steps, times))  # at a tie a start counts before an end: both faces share that frame
    on_screen = np.cumsum(steps[order])
    times = times[order]
    opened = np.flatnonzero((on_screen >= 2) & (np.concatenate([[0], on_screen[:-1]]) < 2))
    closed = np.flatnonzero((on_screen < 2) & (np.concatenate([[0], on_screen[:-1]]) >= 2))
    pad_s = window_s + 2 / rate_hz
    spans = np.stack([times[opened] - pad_s, times[closed] + pad_s], axis=1)
    grid = np.stack([np.floor(spans[:, 0] * rate_hz), np.ceil(spans[:, 1] * rate_hz)], axis=1) / rate_hz
    return Timeline(grid).clip(0.0, end_s)


@dataclass
class MouthActivity:
    """Accumulates per-track mouth motion over streamed frame chunks."""

    tracks: Sequence[Track]
    times: list[float] = field(default_factory=list)
    values: dict[int, list[float]] = field(default_factory=dict)
    _previous: np.ndarray | None = None

    def add(self, times: np.ndarray, frames: np.ndarray) -> None:
        """Add a chunk of frames sampled at `times` (segment seconds): grey ``(N, H, W)`` or RGB ``(N, H, W, 3)``.

        Grey frames (the decoder's luma) are cheapest: only the mouth regions are converted to float.
        """
        grey = frames.mean(axis=3, dtype=np.float32) if frames.ndim == 4 else frames
        for t, image in zip(times, grey):
            self.times.append(float(t))
            for track in self.tracks:
                self.values.setdefault(track.id, []).append(self._motion(track, float(t), image))
            self._previous = image

    def skip(self) -> None:
        """The next frames do not follow the last ones (another span): their first has no motion."""
        self._previous = None

    def _motion(self, track: Track, t: float, image: np.ndarray) -> float:
        if self._previous is None or not track.times[0] - 1e-6 <= t <= track.times[-1] + 1e-6:
            return float("nan")
        index = int(np.clip(np.searchsorted(track.times, t - 1e-6), 0, len(track.times) - 1))
        x1, y1, x2, y2 = track.xyxy[index]
        width, height = x2 - x1, y2 - y1
        top, bottom = int(y1 + 0.62 * height), int(y1 + 0.95 * height)
        left, right = int(x1 + 0.25 * width), int(x1 + 0.75 * width)
        rows = slice(max(0, top), min(image.shape[0], bottom))
        cols = slice(max(0, left), min(image.shape[1], right))
        region = image[rows, cols].astype(np.float32)
        before = self._previous[rows, cols].astype(np.float32)
        return float(np.abs(region - before).mean()) if region.size else float("nan")

    def result(self) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Sample times and, per track id, its mouth motion (NaN where the track is absent)."""
        return np.asarray(self.times), {k: np.asarray(v) for k, v in self.values.items()}
