"""The edit plan: ordered segments of whole source frames, each with a speed, built from the analysis timelines.

Pure set algebra on `Timeline`s counted in frames of the source's exact rate (`FrameRate`): the
analysis times (seconds) are put on the frame grid once, at the start, and everything after is
integer arithmetic, so cuts never drift on 29.97 fps material. Pauses are the silences outside
speech, plus the fillers when they are to be removed (the only place a cut may enter speech).
Words a transcript times are never cut into or sped up: every cut and sped-up piece stops at the
frame boundary outside the word. Each pause is removed, sped up or kept; whatever the mode, when
``max_silence_s`` is set no pause longer than that survives in the output — a longer one keeps its
head and tail and loses its middle. Kept pauses with no ``max_silence_s`` are not cut at all.
Seconds are derived for readers (`EditPlan.source_span`, `EditPlan.output_duration`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from clipmill.errors import InputError, InternalError
from clipmill.events import LabelledEvents
from clipmill.timebase import FrameRate, exact_seconds
from clipmill.timeline import Timeline


@dataclass(frozen=True)
class EditSegment:
    """Source frames ``[start_frame, end_frame)`` played at `speed` (1 = as recorded).

    `speed` is exact: a sped-up piece plays a whole number of output frames (``source_frames /
    speed``), so video (frame-quantised) and audio (sample-exact) end together at every join.
    """

    start_frame: int
    end_frame: int
    speed: Fraction = Fraction(1)

    def __post_init__(self) -> None:
        object.__setattr__(self, "speed", Fraction(self.speed))
        if not 0 <= self.start_frame < self.end_frame:
            raise InternalError(f"an edit segment needs 0 <= start_frame < end_frame (got {self.start_frame}, {self.end_frame})")
        played = self.source_frames / self.speed
        if self.speed <= 0 or played.denominator != 1:
            raise InternalError(f"an edit segment of {self.source_frames} frames at speed {self.speed} plays {played} frames, "
                                "not a whole number")

    @property
    def source_frames(self) -> int:
        return self.end_frame - self.start_frame

    @property
    def output_frames(self) -> int:
        return int(self.source_frames / self.speed)


@dataclass(frozen=True)
class EditPlan:
    """What the render plays, in order, on the grid of `rate`; plus what was cut or sped up, for the manifest.

    `source_duration_s` is the range the job asked for (seconds, as given); the plan covers the
    whole frames inside it.
    """

    segments: tuple[EditSegment, ...]
    rate: FrameRate
    source_duration_s: float
    removed_silence_frames: int = 0
    sped_up_silence_frames: int = 0
    removed_filler_frames: int = 0

    @property
    def output_frames(self) -> int:
        return sum(segment.output_frames for segment in self.segments)

    @property
    def output_duration(self) -> float:
        """Seconds the output plays."""
        return self.rate.seconds(self.output_frames)

    @property
    def reduction_pct(self) -> float:
        if self.source_duration_s <= 0:
            return 0.0
        return max(0.0, 100.0 * (1.0 - self.output_duration / self.source_duration_s))

    def source_span(self, segment: EditSegment) -> tuple[float, float]:
        """``(start_s, end_s)`` of `segment` in source seconds from the segment's start."""
        return self.rate.seconds(segment.start_frame), self.rate.seconds(segment.end_frame)

    def source_frame(self, output_frame: int) -> int:
        """The source frame shown at output frame `output_frame`: the one under its middle."""
        first = 0
        for segment in self.segments:
            if output_frame < first + segment.output_frames:
                return segment.start_frame + math.floor((output_frame - first + Fraction(1, 2)) * segment.speed)
            first += segment.output_frames
        return self.segments[-1].end_frame if self.segments else 0

    def _lengths(self) -> dict[str, object]:
        """The rate and the lengths in and out: what `summary` and `to_dict` both start with."""
        return {
            "fps": self.rate.text, "source_duration_s": round(self.source_duration_s, 6),
            "output_duration_s": round(self.output_duration, 6), "output_frames": self.output_frames,
            "reduction_pct": round(self.reduction_pct, 3),
        }

    def summary(self) -> dict[str, object]:
        """What the manifest (and the ``.otio``) record of the plan: seconds, as they always have, and
        the output's frames."""
        return {
            **self._lengths(),
            "removed_silence_s": round(self.rate.seconds(self.removed_silence_frames), 3),
            "sped_up_silence_s": round(self.rate.seconds(self.sped_up_silence_frames), 3),
            "removed_filler_s": round(self.rate.seconds(self.removed_filler_frames), 3),
        }

    def to_dict(self) -> dict[str, object]:
        """The stored plan: frames and the rate; seconds beside them for readers."""
        return {
            **self._lengths(),
            "removed_silence_frames": self.removed_silence_frames,
            "sped_up_silence_frames": self.sped_up_silence_frames,
            "removed_filler_frames": self.removed_filler_frames,
            "segments": [[s.start_frame, s.end_frame, s.output_frames] for s in self.segments],
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> EditPlan:
        return cls(
            segments=tuple(EditSegment(a, b, Fraction(b - a, n)) for a, b, n in data["segments"]),  # type: ignore[union-attr]
            rate=FrameRate.parse(data["fps"]), source_duration_s=float(data["source_duration_s"]),  # type: ignore[arg-type]
            removed_silence_frames=int(data.get("removed_silence_frames", 0)),  # type: ignore[arg-type]
            sped_up_silence_frames=int(data.get("sped_up_silence_frames", 0)),  # type: ignore[arg-type]
            removed_filler_frames=int(data.get("removed_filler_frames", 0)),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class EditSettings:
    """How pauses and fillers are treated (the clip job's options)."""

    remove_silence: bool = True
    speed_up_silence: bool = False
    speed_factor: float = 2.0
    max_silence_s: float | None = None
    remove_fillers: bool = False
    min_keep_frames: int = 2

    def __post_init__(self) -> None:
        if self.remove_silence and self.speed_up_silence:
            raise InputError("remove_silence and speed_up_silence exclude each other: choose one")
        if not 0 < self.speed_factor <= 16 or not math.isfinite(self.speed_factor):
            raise InputError(f"speed_factor must be in (0, 16] (got {self.speed_factor!r})")
        if self.max_silence_s is not None and not self.max_silence_s > 0:
            raise InputError(f"max_silence_s must be > 0 or unset (got {self.max_silence_s!r})")


def plan_edit(
    duration_s: float, *, rate: FrameRate, speech: Timeline, silences: Timeline,
    fillers: LabelledEvents = LabelledEvents(), settings: EditSettings = EditSettings(), words: Timeline = Timeline(),
) -> EditPlan:
    """Build the edit plan of a segment of `duration_s` seconds from its analysis timelines.

    The plan covers the whole frames inside ``duration_s`` (`FrameRate.frame_floor`): an uncut
    clip is never longer than the requested range and at most one frame shorter. `words` (timed by
    a transcript, fillers to be cut left out) are kept whole, widened to the frames they touch.
    """
    spoken = Timeline([(rate.frame_floor(a), rate.frame_ceil(b)) for a, b in words.to_list()])
    pauses = _on_grid(silences.subtract(speech.union(words)), rate).subtract(spoken)
    removed_fillers = _on_grid(fillers.timeline, rate).subtract(spoken) if settings.remove_fillers else Timeline()
    pauses = pauses.subtract(removed_fillers)

    factor = Fraction(repr(settings.speed_factor)) if settings.speed_up_silence else Fraction(1)
    cut = removed_fillers
    slow: list[tuple[int, int]] = []
    removed_silence = sped_up = 0
    for start, end in _frame_pairs(pauses):
        if settings.remove_silence:
            cut = cut.union(Timeline([(start, end)]))
            removed_silence += end - start
            continue
        kept = end - start if settings.max_silence_s is None else min(
            end - start, exact_seconds(settings.max_silence_s) * factor * rate)
        removed = 0
        if kept < end - start:
            head, tail = round(start + kept / 2), round(end - kept / 2)
            if tail > head:
                cut = cut.union(Timeline([(head, tail)]))
                removed = tail - head
        removed_silence += removed
        if factor != 1:
            slow.append((start, end))
            sped_up += end - start - removed

    keep = Timeline([(0, rate.frame_floor(duration_s))]).subtract(cut).drop_shorter(settings.min_keep_frames)
    segments = _segments(keep, Timeline(slow), factor)
    if not segments:
        raise InputError("the edit would remove the whole segment: it contains no speech to keep")
    return EditPlan(
        segments=segments, rate=rate, source_duration_s=duration_s, removed_silence_frames=removed_silence,
        sped_up_silence_frames=sped_up, removed_filler_frames=round(removed_fillers.duration),
    )


def _on_grid(timeline: Timeline, rate: FrameRate) -> Timeline:
    """`timeline` (seconds) in frames: each boundary moved to the nearest frame boundary, sub-frame intervals gone."""
    pairs = [(rate.nearest_frame(a), rate.nearest_frame(b)) for a, b in timeline.to_list()]
    return Timeline([(a, b) for a, b in pairs if b > a])


def _frame_pairs(timeline: Timeline) -> list[tuple[int, int]]:
    """The intervals of a timeline counted in frames, as integers."""
    return [(round(a), round(b)) for a, b in timeline.to_list()]


def _segments(keep: Timeline, slow: Timeline, speed: Fraction) -> tuple[EditSegment, ...]:
    """Split kept ranges where sped-up pauses start and end; drop pieces that would play no frame.

    A sped-up piece plays a whole number of output frames, the nearest (half a frame up) to its
    length over the nominal factor: its speed is source frames over output frames.
    """
    segments: list[EditSegment] = []
    pieces = [(a, b, Fraction(1)) for a, b in _frame_pairs(keep.subtract(slow))]
    pieces += [(a, b, speed) for a, b in _frame_pairs(keep.intersect(slow))]
    for start, end, nominal in sorted(pieces):
        frames_out = math.floor((end - start) / nominal + Fraction(1, 2))
        if frames_out < 1:
            continue
        piece_speed = Fraction(end - start, frames_out)
        previous = segments[-1] if segments else None
        if previous and previous.speed == piece_speed and previous.end_frame == start:
            segments[-1] = EditSegment(previous.start_frame, end, piece_speed)
        else:
            segments.append(EditSegment(start, end, piece_speed))
    return tuple(segments)
