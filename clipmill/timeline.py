"""Intervals and timelines in seconds: the one type for speech, silences, fillers and keeps.

A `Timeline` is a set of half-open intervals ``[start, end)`` stored as a sorted, non-overlapping
``(N, 2)`` float64 array. Every stage downstream of the audio analysis is set algebra on it
(union, intersection, difference, padding, gap merging), modelled on pyannote.core's ``Timeline``.
Set operations work on the elementary segments between all boundaries, so they are exact (no
sampling grid) and vectorised.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clipmill.errors import InternalError

__all__ = ["Interval", "Timeline"]


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open time interval ``[start, end)`` in seconds.

    Raises `InternalError` when a bound is not finite or ``end < start``: user times are checked
    before they become intervals (`clipmill.jobs.check_times`), so a bad interval is a bug.
    """

    start: float
    end: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise InternalError(f"interval bounds must be finite, got [{self.start}, {self.end})")
        if self.end < self.start:
            raise InternalError(f"interval end {self.end} is before its start {self.start}")

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


def _normalise(array: np.ndarray) -> np.ndarray:
    """Sort rows, drop empty ones and merge rows that overlap or touch."""
    array = array[array[:, 1] > array[:, 0]]
    if len(array) < 2:
        return array
    array = array[np.argsort(array[:, 0], kind="stable")]
    running_end = np.maximum.accumulate(array[:, 1])
    # a new run starts where a start lies strictly after every earlier end
    new_run = np.empty(len(array), dtype=bool)
    new_run[0] = True
    new_run[1:] = array[1:, 0] > running_end[:-1]
    run_id = np.cumsum(new_run) - 1
    starts = array[new_run, 0]
    ends = np.zeros(len(starts))
    np.maximum.at(ends, run_id, array[:, 1])
    return np.column_stack([starts, ends])


def _as_array(intervals: Any) -> np.ndarray:
    """Turn Intervals, pairs or an (N, 2) array into a validated float64 (N, 2) array."""
    if isinstance(intervals, Timeline):
        return intervals.array
    if isinstance(intervals, np.ndarray):
        array = intervals.astype(np.float64, copy=True)
    else:
        rows = [
            (item.start, item.end) if isinstance(item, Interval) else tuple(item)
            for item in intervals
        ]
        array = np.asarray(rows, dtype=np.float64)
    if array.size == 0:
        return np.empty((0, 2), dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise InternalError(f"intervals must have shape (N, 2), got {array.shape}")
    if not np.isfinite(array).all():
        raise InternalError("interval bounds must be finite (found NaN or inf)")
    reversed_rows = array[:, 1] < array[:, 0]
    if reversed_rows.any():
        start, end = array[reversed_rows][0]
        raise InternalError(f"interval end {end} is before its start {start}")
    return array


class Timeline:
    """Sorted, non-overlapping half-open intervals in seconds.

    Parameters
    ----------
    intervals
        Intervals, ``(start, end)`` pairs or an ``(N, 2)`` array, in any order. Overlapping and
        touching intervals are merged and empty ones dropped, so equal sets compare equal.
    """

    __slots__ = ("_array",)

    def __init__(self, intervals: Iterable[Interval | Sequence[float]] | np.ndarray = ()) -> None:
        array = _normalise(_as_array(intervals))
        array.flags.writeable = False
        self._array = array

    # construction and export -------------------------------------------------------------

    @classmethod
    def from_list(cls, pairs: Iterable[Sequence[float]]) -> Timeline:
        """Build from ``[[start, end], ...]`` as stored in JSON."""
        return cls(list(pairs))

    def to_list(self) -> list[list[float]]:
        """``[[start, end], ...]`` in seconds, ready for JSON."""
        return self._array.tolist()

    @classmethod
    def from_mask(cls, mask: np.ndarray, hop_s: float, *, offset_s: float = 0.0) -> Timeline:
        """Intervals covering the True frames of a boolean frame mask.

        Frame ``i`` covers ``[offset_s + i * hop_s, offset_s + (i + 1) * hop_s)``.
        """
        if hop_s <= 0:
            raise InternalError(f"hop_s must be positive, got {hop_s}")
        mask = np.asarray(mask, dtype=bool).ravel()
        edges = np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8))
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1)
        return cls(np.column_stack([starts, ends]) * hop_s + offset_s)

    def to_mask(self, hop_s: float, total_s: float) -> np.ndarray:
        """Boolean frame mask: frame ``i`` is True when its centre ``(i + 0.5) * hop_s`` is inside.

        The mask has ``ceil(total_s / hop_s)`` frames.
        """
        if hop_s <= 0:
            raise InternalError(f"hop_s must be positive, got {hop_s}")
        if total_s < 0:
            raise InternalError(f"total_s must be non-negative, got {total_s}")
        n_frames = math.ceil(round(total_s / hop_s, 9))
        return self.contains((np.arange(n_frames) + 0.5) * hop_s)

    @property
    def array(self) -> np.ndarray:
        """The read-only ``(N, 2)`` float64 array of ``[start, end)`` rows."""
        return self._array

    # basic protocol ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._array)

    def __iter__(self) -> Iterator[Interval]:
        for start, end in self._array.tolist():
            yield Interval(start, end)

    def __getitem__(self, index: int) -> Interval:
        start, end = self._array[index].tolist()
        return Interval(start, end)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timeline):
            return NotImplemented
        return np.array_equal(self._array, other._array)

    def __hash__(self) -> int:
        return hash(self._array.tobytes())

    def __repr__(self) -> str:
        return f"Timeline({self.to_list()!r})"

    @property
    def duration(self) -> float:
        """Total covered time in seconds."""
        return float(np.sum(self._array[:, 1] - self._array[:, 0]))

    @property
    def durations(self) -> np.ndarray:
        """Length of each interval in seconds."""
        return self._array[:, 1] - self._array[:, 0]

    @property
    def extent(self) -> Interval | None:
        """``[first start, last end)``, or None when empty."""
        if not len(self):
            return None
        return Interval(float(self._array[0, 0]), float(self._array[-1, 1]))

    def contains(self, times: np.ndarray | float) -> np.ndarray:
        """Boolean array: which of ``times`` (seconds) fall inside an interval."""
        times = np.asarray(times, dtype=np.float64)
        index = np.searchsorted(self._array[:, 0], times, side="right") - 1
        inside = index >= 0
        ends = self._array[np.clip(index, 0, None), 1] if len(self) else np.zeros_like(times)
        return inside & (times < ends)

    # set algebra ---------------------------------------------------------------------------

    def _combine(
        self, other: Timeline, keep: Callable[[np.ndarray, np.ndarray], np.ndarray]
    ) -> Timeline:
        """Apply a boolean operation on membership to every elementary segment."""
        points = np.unique(np.concatenate([self._array.ravel(), other._array.ravel()]))
        if len(points) < 2:
            return Timeline()
        # membership is constant on [p_i, p_{i+1}); p_i itself is a representative point
        left = points[:-1]
        selected = keep(self.contains(left), other.contains(left))
        return Timeline(np.column_stack([left[selected], points[1:][selected]]))

    def union(self, other: Timeline) -> Timeline:
        """Time covered by either timeline."""
        return Timeline(np.concatenate([self._array, other._array]))

    def intersect(self, other: Timeline) -> Timeline:
        """Time covered by both timelines."""
        return self._combine(other, np.logical_and)

    def subtract(self, other: Timeline) -> Timeline:
        """Time covered by this timeline and not by ``other``."""
        return self._combine(other, lambda a, b: a & ~b)

    def complement(self, start: float, end: float) -> Timeline:
        """Time inside ``[start, end)`` not covered by this timeline (the gaps)."""
        return Timeline([(start, end)]).subtract(self)

    invert = complement

    def clip(self, start: float, end: float) -> Timeline:
        """Restrict to ``[start, end)``."""
        return self.intersect(Timeline([(start, end)]))

    def shift(self, offset_s: float) -> Timeline:
        """Move every interval by ``offset_s`` seconds (e.g. onto the source timeline)."""
        return Timeline(self._array + offset_s)

    def pad(
        self, before: float, after: float | None = None, *, span: tuple[float, float] | None = None
    ) -> Timeline:
        """Widen each interval by ``before`` at its start and ``after`` at its end (seconds).

        ``after`` defaults to ``before``. Widened intervals that meet are merged; ``span`` clips the
        result (e.g. to the segment ``(0, duration)``).
        """
        after = before if after is None else after
        if before < 0 or after < 0:
            raise InternalError(f"padding must be non-negative, got before={before}, after={after}")
        padded = Timeline(self._array + np.array([-before, after]))
        return padded.clip(*span) if span is not None else padded

    def drop_shorter(self, min_s: float) -> Timeline:
        """Keep only intervals at least ``min_s`` seconds long."""
        return Timeline(self._array[self.durations >= min_s])

    def merge_gaps(self, max_gap_s: float) -> Timeline:
        """Fill every gap of at most ``max_gap_s`` seconds between consecutive intervals."""
        if max_gap_s < 0:
            raise InternalError(f"max_gap_s must be non-negative, got {max_gap_s}")
        if len(self) < 2:
            return self
        gaps = self._array[1:, 0] - self._array[:-1, 1]
        fill = np.column_stack([self._array[:-1, 1], self._array[1:, 0]])[gaps <= max_gap_s]
        return Timeline(np.concatenate([self._array, fill]))
