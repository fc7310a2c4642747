"""Who is talking: mouth-region motion per face track, from decoded frames.

For each sampled frame and each track present, the mean absolute grey-level change of the lower
middle of the face box (the mouth) since the previous sampled frame. A talking face moves its
mouth; a listening or frozen one barely does. Computed chunk by chunk: the caller passes the last
frame of the previous chunk so the difference is continuous.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from clipmill.vision.tracking import Track


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
