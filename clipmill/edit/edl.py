"""The edit plan: ordered ``(src_start, src_end, speed)`` segments built from the analysis timelines.

Pure set algebra on `Timeline`s: pauses are the silences outside speech, plus the fillers when
they are to be removed (the only place a cut may enter speech). Words a transcript times are never
cut into or sped up: every cut and sped-up piece stops at the frame boundary outside the word.
Each pause is removed, sped up or
kept; whatever the mode, when ``max_silence_s`` is set no pause longer than that survives in the
output — a longer one keeps its head and tail and loses its middle. Kept pauses with no
``max_silence_s`` are not cut at all. Every boundary sits on the frame grid of the
rational frame rate, so cuts never drift on 29.97 fps material.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from clipmill.errors import InputError
from clipmill.timeline import Timeline


@dataclass(frozen=True)
class EditSegment:
    """A piece of the source, in source seconds, played at `speed` (1 = as recorded)."""

    src_start: float
    src_end: float
    speed: float = 1.0

    @property
    def output_duration(self) -> float:
        return (self.src_end - self.src_start) / self.speed


@dataclass(frozen=True)
class EditPlan:
    """What the render plays, in order; plus what was cut or sped up, for the manifest."""

    segments: tuple[EditSegment, ...]
    fps: str
    source_duration_s: float
    removed_silence_s: float = 0.0
    sped_up_silence_s: float = 0.0
    removed_filler_s: float = 0.0

    @property
    def output_duration(self) -> float:
        return sum(segment.output_duration for segment in self.segments)

    @property
    def reduction_pct(self) -> float:
        if self.source_duration_s <= 0:
            return 0.0
        return max(0.0, 100.0 * (1.0 - self.output_duration / self.source_duration_s))

    def output_time(self, source_s: float) -> float | None:
        """Where source time `source_s` lands in the output; None when it was cut."""
        elapsed = 0.0
        for segment in self.segments:
            if segment.src_start <= source_s < segment.src_end:
                return elapsed + (source_s - segment.src_start) / segment.speed
            elapsed += segment.output_duration
        return None

    def source_time(self, output_s: float) -> float:
        """The source time shown at output time `output_s` (inverse of `output_time`)."""
        elapsed = 0.0
        for segment in self.segments:
            if output_s < elapsed + segment.output_duration:
                return segment.src_start + (output_s - elapsed) * segment.speed
            elapsed += segment.output_duration
        return self.segments[-1].src_end if self.segments else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "fps": self.fps,
            "source_duration_s": round(self.source_duration_s, 6),
            "output_duration_s": round(self.output_duration, 6),
            "reduction_pct": round(self.reduction_pct, 3),
            "removed_silence_s": round(self.removed_silence_s, 3),
            "sped_up_silence_s": round(self.sped_up_silence_s, 3),
            "removed_filler_s": round(self.removed_filler_s, 3),
            "segments": [[round(s.src_start, 6), round(s.src_end, 6), s.speed] for s in self.segments],
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> EditPlan:
        return cls(
            segments=tuple(EditSegment(float(a), float(b), float(c)) for a, b, c in data["segments"]),  # type: ignore[union-attr]
            fps=str(data["fps"]), source_duration_s=float(data["source_duration_s"]),  # type: ignore[arg-type]
            removed_silence_s=float(data.get("removed_silence_s", 0.0)),  # type: ignore[arg-type]
            sped_up_silence_s=float(data.get("sped_up_silence_s", 0.0)),  # type: ignore[arg-type]
            removed_filler_s=float(data.get("removed_filler_s", 0.0)),  # type: ignore[arg-type]
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


def snap(seconds: float, fps: Fraction) -> float:
    """`seconds` rounded to the nearest frame boundary of `fps`."""
    return float(round(Fraction(seconds).limit_denominator(10**6) * fps) / fps)


def plan_edit(
    duration_s: float, *, fps: str, speech: Timeline, silences: Timeline, fillers: Timeline,
    settings: EditSettings = EditSettings(), words: Timeline = Timeline(),
) -> EditPlan:
    """Build the edit plan of a segment of `duration_s` seconds from its analysis timelines.

    The plan covers the whole frames inside ``duration_s`` (``floor(duration_s * fps)``): an uncut
    clip is never longer than the requested range and at most one frame shorter. `words` (timed by
    a transcript, fillers to be cut left out) are kept whole, widened to the frames they touch.
    """
    rate = Fraction(fps)
    frame = float(1 / rate)
    spoken = Timeline([(math.floor(a * rate + 1e-6) / rate, math.ceil(b * rate - 1e-6) / rate) for a, b in words.to_list()])
    pauses = _snapped(silences.subtract(speech.union(words)), rate).subtract(spoken)
    removed_fillers = _snapped(fillers, rate).subtract(spoken) if settings.remove_fillers else Timeline()
    pauses = pauses.subtract(removed_fillers)

    cut = removed_fillers
    slow: list[tuple[float, float]] = []
    removed_silence = sped_up = 0.0
    for start, end in pauses.to_list():
        length = end - start
        if settings.remove_silence:
            cut = cut.union(Timeline([(start, end)]))
            removed_silence += length
            continue
        speed = settings.speed_factor if settings.speed_up_silence else 1.0
        kept = length if settings.max_silence_s is None else min(length, settings.max_silence_s * speed)
        if kept < length:
            head = snap(start + kept / 2, rate)
            tail = snap(end - kept / 2, rate)
            if tail > head:
                cut = cut.union(Timeline([(head, tail)]))
                removed_silence += tail - head
        if speed != 1.0:
            slow.append((start, end))
            sped_up += min(length, kept)

    frames = math.floor(Fraction(duration_s).limit_denominator(10**6) * rate + Fraction(1, 1000))
    keep = Timeline([(0.0, float(frames / rate))]).subtract(cut).drop_shorter(settings.min_keep_frames * frame - 1e-9)
    segments = _segments(keep, Timeline(slow), settings.speed_factor if settings.speed_up_silence else 1.0, frame)
    if not segments:
        raise InputError("the edit would remove the whole segment: it contains no speech to keep")
    return EditPlan(
        segments=segments, fps=f"{rate.numerator}/{rate.denominator}", source_duration_s=duration_s,
        removed_silence_s=removed_silence, sped_up_silence_s=sped_up,
        removed_filler_s=removed_fillers.duration,
    )


def _snapped(timeline: Timeline, rate: Fraction) -> Timeline:
    return Timeline([(snap(a, rate), snap(b, rate)) for a, b in timeline.to_list() if snap(b, rate) > snap(a, rate)])


def _segments(keep: Timeline, slow: Timeline, speed: float, frame: float) -> tuple[EditSegment, ...]:
    """Split kept ranges where sped-up pauses start and end; drop sub-frame slivers.

    A sped-up piece plays a whole number of output frames: its speed is adjusted slightly from the
    nominal factor so video (frame-quantised) and audio (sample-exact) end together at every join.
    """
    segments: list[EditSegment] = []
    fast = keep.intersect(slow)
    normal = keep.subtract(slow)
    pieces = [(a, b, 1.0) for a, b in normal.to_list()] + [(a, b, speed) for a, b in fast.to_list()]
    for start, end, nominal_speed in sorted(pieces):
        frames_out = round((end - start) / nominal_speed / frame)
        if frames_out < 1:
            continue
        piece_speed = nominal_speed if nominal_speed == 1.0 else (end - start) / (frames_out * frame)
        previous = segments[-1] if segments else None
        if previous and previous.speed == piece_speed and abs(previous.src_end - start) < 1e-9:
            segments[-1] = EditSegment(previous.src_start, end, piece_speed)
        else:
            segments.append(EditSegment(start, end, piece_speed))
    return tuple(segments)
