"""The time base: an exact frame rate, and the one place seconds become frames and back.

Inside clipmill the edit plan and the framing path count whole frames on a rational rate (as
auto-editor and OpenTimelineIO do), so 29.97 fps material (``30000/1001``, ``2997/100``) never
drifts. Seconds appear only at the edges: a probe or a request comes in, an ffmpeg filter, an
``.otio`` or a manifest goes out. `FrameRate` is a `Fraction` (arithmetic, ``numerator`` and
``denominator`` as usual) that converts at those edges.
"""

from __future__ import annotations

import math
from fractions import Fraction

from clipmill.errors import InputError

#: Seconds that cross an edge are read to the microsecond: every document stores them rounded so,
#: and a float's binary noise below that is not time.
SECONDS_DENOMINATOR = 10**6

#: The finest time a probe or a document prints: a requested end this close past a source's
#: duration is its end.
SECONDS_RESOLUTION_S = 1e-6

#: How far a container's stream duration may stray from its frames' length beside a frame's
#: worth (timestamps rounded to the millisecond).
DURATION_SLACK_S = 1e-3

#: A time given in seconds (a probe's duration, a requested start) may sit this far (in frames)
#: short of a frame boundary and still count as on it: a microsecond-rounded boundary is off by
#: less, while a real partial frame is off by more.
GRID_SLACK_FRAMES = Fraction(1, 1000)


def exact_seconds(seconds: float) -> Fraction:
    """`seconds` as the rational it stands for, read to the microsecond."""
    return Fraction(seconds).limit_denominator(SECONDS_DENOMINATOR)


class FrameRate(Fraction):
    """An exact video frame rate in frames per second, e.g. ``FrameRate.parse("30000/1001")``."""

    __slots__ = ()

    @classmethod
    def parse(cls, text: str | Fraction | int) -> FrameRate:
        """The rate ffprobe writes as ``r_frame_rate``/``avg_frame_rate`` (``"30000/1001"``, ``"25/1"``);
        `InputError` naming the value when it is not a positive, finite ratio (ffprobe's ``"0/0"``)."""
        try:
            rate = cls(text)
        except (ValueError, ZeroDivisionError, TypeError):
            raise InputError(f"frame rate {text!r} is not a ratio of whole numbers such as 30000/1001") from None
        if rate <= 0:
            raise InputError(f"frame rate {text!r} must be above 0")
        return rate

    @classmethod
    def from_ffprobe(cls, text: str | None) -> FrameRate | None:
        """A stream's ``avg_frame_rate``/``r_frame_rate`` field, or None where ffprobe has none (``"0/0"``)."""
        try:
            return cls.parse(text or "0/0")
        except InputError:
            return None

    @property
    def text(self) -> str:
        """``"num/den"``, as ffmpeg and the stored documents write a rate (``"25/1"``, not ``"25"``)."""
        return f"{self.numerator}/{self.denominator}"

    @property
    def frame_s(self) -> float:
        """Seconds one frame lasts."""
        return float(1 / self)

    def seconds(self, frames: int | Fraction) -> float:
        """Seconds `frames` frames last (a frame index: seconds from frame 0 to its start)."""
        return float(Fraction(frames) / self)

    def nearest_frame(self, seconds: float) -> int:
        """Index of the frame boundary nearest to `seconds` (ties to even, as `round` does)."""
        return round(exact_seconds(seconds) * self)

    def frame_floor(self, seconds: float) -> int:
        """Index of the last frame boundary at or before `seconds` (`GRID_SLACK_FRAMES` allowed); for a
        duration, the frames that fit whole in it."""
        return math.floor(exact_seconds(seconds) * self + GRID_SLACK_FRAMES)

    def frame_ceil(self, seconds: float) -> int:
        """Index of the first frame boundary at or after `seconds` (`GRID_SLACK_FRAMES` allowed); for a
        duration, the frames that start inside it (a last partial frame counts)."""
        return math.ceil(exact_seconds(seconds) * self - GRID_SLACK_FRAMES)
