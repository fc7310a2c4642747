"""Labelled events: things that happen over a span of time and carry a label (fillers, filler words).

A `Timeline` is set algebra: touching intervals merge into one. Events are not: an "um" from 1.0
to 1.2 s followed by an "uh" from 1.2 to 1.4 s are two events with their own labels and
confidences, and stay two on their way between stages. `LabelledEvents.timeline` is their union,
for the set algebra of the edit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from clipmill.errors import InternalError
from clipmill.timeline import Timeline


@dataclass(frozen=True, order=True)
class LabelledEvent:
    """One event in seconds, half-open ``[start, end)``; `confidence` in [0, 1]."""

    start: float
    end: float
    label: str
    confidence: float = 1.0

    def __post_init__(self) -> None:
        if not self.end > self.start:
            raise InternalError(f"a labelled event must end after it starts (got {self.start!r} .. {self.end!r})")
        if not 0.0 <= self.confidence <= 1.0:
            raise InternalError(f"a labelled event's confidence must be in [0, 1] (got {self.confidence!r})")

    def to_dict(self) -> dict[str, object]:
        """``{"start", "end", "label", "confidence"}``, ready for JSON (confidence to 0.001)."""
        return {"start": float(self.start), "end": float(self.end), "label": self.label,
                "confidence": round(float(self.confidence), 3)}


class LabelledEvents:
    """Events sorted by start (then end); never merged, so touching or overlapping events stay apart."""

    def __init__(self, events: Iterable[LabelledEvent] = ()) -> None:
        self._events = tuple(sorted(events))

    @classmethod
    def exclusive(cls, events: Iterable[tuple[float, float, str, float]]) -> LabelledEvents:
        """Events from ``(start, end, label, confidence)`` candidates where of overlapping ones only
        the most confident is kept (touching ones are all kept): one sound, one label."""
        kept: list[tuple[float, float, str, float]] = []
        for event in sorted(events, key=lambda item: -item[3]):
            if all(event[1] <= other[0] or event[0] >= other[1] for other in kept):
                kept.append(event)
        return cls(LabelledEvent(float(a), float(b), label, float(c)) for a, b, label, c in kept)

    @classmethod
    def from_list(cls, rows: Iterable[dict]) -> LabelledEvents:
        """The inverse of `to_list`."""
        return cls(LabelledEvent(row["start"], row["end"], row["label"], row["confidence"]) for row in rows)

    def to_list(self) -> list[dict[str, object]]:
        """``[{"start", "end", "label", "confidence"}, ...]`` in seconds, ready for JSON."""
        return [event.to_dict() for event in self._events]

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[LabelledEvent]:
        return iter(self._events)

    def __getitem__(self, index: int) -> LabelledEvent:
        return self._events[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelledEvents) and self._events == other._events

    def __hash__(self) -> int:
        return hash(self._events)

    def __repr__(self) -> str:
        return f"LabelledEvents({list(self._events)!r})"

    def combined(self, other: LabelledEvents) -> LabelledEvents:
        """The events of both collections, sorted together (none dropped, none merged)."""
        return LabelledEvents((*self._events, *other._events))

    def shift(self, offset_s: float) -> LabelledEvents:
        """Every event moved by `offset_s` seconds."""
        return LabelledEvents(
            LabelledEvent(e.start + offset_s, e.end + offset_s, e.label, e.confidence) for e in self._events
        )

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(event.label for event in self._events)

    @property
    def intervals(self) -> np.ndarray:
        """``(N, 2)`` float64 ``[start, end]`` rows, one per event (touching ones not merged)."""
        return np.array([(e.start, e.end) for e in self._events], dtype=np.float64).reshape(-1, 2)

    @property
    def confidences(self) -> np.ndarray:
        return np.array([e.confidence for e in self._events], dtype=np.float64)

    def label_counts(self) -> dict[str, int]:
        """How many events carry each label, in order of first appearance."""
        counts: dict[str, int] = {}
        for label in self.labels:
            counts[label] = counts.get(label, 0) + 1
        return counts

    @property
    def timeline(self) -> Timeline:
        """The union of the events, for set algebra (touching events merge here only)."""
        return Timeline(self.intervals)
