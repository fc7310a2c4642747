"""How a library batch turns a whole video into clip ranges: snapped windows or suggested clips.

- ``windows``: the window policy (`clipmill.batch.windows`), each inner edge moved to the nearest
  clip boundary of the whole-source analysis, so no window starts or ends inside speech (a video
  without audio, or without a single pause, keeps its plain windows: ``snapped`` false).
- ``auto``: the `count` best non-overlapping `clipmill.segment` candidates of `length`.

Each range carries its `selection` record (`clipmill.manifest.RangeSelection`) for the manifest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clipmill.batch import windows
from clipmill.errors import InputError
from clipmill.segment import LengthRange, SourceAnalysis, find_boundaries, snap_windows

if TYPE_CHECKING:
    from clipmill.artifacts.suggestions import SuggestionDocument

SEGMENTATIONS = ("windows", "auto")


@dataclass(frozen=True)
class Segmentation:
    """The batch's segmentation parameters, checked once (bad values are an `InputError`).

    `vad_backend` is the VAD the whole-source analysis runs: energy (fast, and the better clip edges)
    unless the batch's options name the clip jobs' own; a model VAD's speech is then cut from the
    analysis by the clip jobs instead of heard again (`clipmill.analysis_slice`)."""

    mode: str = "windows"
    window_s: float = 60.0
    length: LengthRange = field(default_factory=LengthRange)
    count: int = 5
    vad_backend: str = "energy"

    def __post_init__(self) -> None:
        if self.mode not in SEGMENTATIONS:
            raise InputError(f"segmentation must be one of {', '.join(SEGMENTATIONS)} (got {self.mode!r})")
        if not (isinstance(self.window_s, (int, float)) and math.isfinite(self.window_s) and self.window_s > 0):
            raise InputError(f"window_s must be a positive number of seconds (got {self.window_s!r})")
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 1:
            raise InputError(f"count must be a whole number of at least 1 (got {self.count!r})")


@dataclass(frozen=True)
class PlannedRange:
    """One clip range of a video and how it was chosen."""

    start_s: float
    end_s: float
    selection: dict[str, Any]


def snapped_windows(
    duration_s: float, window_s: float, analysis: SourceAnalysis | None, *, analysis_key: str | None
) -> list[PlannedRange]:
    """The window policy's ranges with their inner edges snapped to the nearest clip boundary."""
    plain = windows(duration_s, window_s=window_s)
    edges = [start for start, _ in plain] + [plain[-1][1]]
    bounds = find_boundaries(analysis) if analysis is not None else None
    snapped = snap_windows(duration_s, edges, bounds) if bounds is not None and len(bounds) else edges
    moved = bounds is not None and len(bounds) > 0
    return [
        PlannedRange(round(a, 3), round(b, 3) if b < duration_s else b,
                     {"policy": "windows", "snapped": moved, "analysis_key": analysis_key})
        for a, b in zip(snapped[:-1], snapped[1:])
    ]


def suggested_ranges(document: SuggestionDocument, *, suggestion_key: str) -> list[PlannedRange]:
    """The candidates of a suggestion document as ranges, each with its score, reasons and the keys."""
    return [
        PlannedRange(c["start"], c["end"], {
            "policy": "auto", "score": c["score"], "reasons": c["reasons"], "suggestion_key": suggestion_key,
            "analysis_key": document.analysis_key,
        })
        for c in document.printed()["candidates"]
    ]
