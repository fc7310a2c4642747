"""The frame rate: parsed once from ffprobe's text, exact, and the one place seconds become frames."""

from __future__ import annotations

from fractions import Fraction

import pytest

from clipmill.errors import InputError
from clipmill.timebase import FrameRate


@pytest.mark.parametrize(("text", "exact"), [("30000/1001", Fraction(30000, 1001)), ("2997/100", Fraction(2997, 100)),
                                             ("25/1", Fraction(25)), ("60000/2002", Fraction(30000, 1001))])
def test_ffprobe_rates_parse_exactly_and_print_as_ratios(text, exact):
    rate = FrameRate.parse(text)
    assert rate == exact and isinstance(rate, Fraction)
    assert rate.text == f"{exact.numerator}/{exact.denominator}"


@pytest.mark.parametrize("text", ["0/0", "0/1", "-30/1", "fast", "", None])
def test_unusable_rates_are_refused_naming_the_value(text):
    with pytest.raises(InputError, match=repr(text).replace("(", r"\(")):
        FrameRate.parse(text)
    assert FrameRate.from_ffprobe(text) is None


def test_seconds_and_frames_convert_on_the_exact_grid():
    ntsc = FrameRate.parse("30000/1001")
    assert ntsc.seconds(30) == 1.001 and ntsc.frame_s == pytest.approx(1001 / 30000)
    assert ntsc.nearest_frame(1.001) == 30 and ntsc.nearest_frame(1.0) == 30
    # a boundary stored to the microsecond (74 / 29.97 = 2.469133...) is still that boundary
    boundary = round(FrameRate.parse("2997/100").seconds(74), 6)
    assert FrameRate.parse("2997/100").frame_floor(boundary) == 74
    assert FrameRate.parse("2997/100").frame_ceil(boundary) == 74
    # a real partial frame is not
    assert ntsc.frame_floor(1.02) == 30 and ntsc.frame_ceil(1.02) == 31


def test_a_duration_holds_its_whole_frames_only():
    assert FrameRate.parse("30000/1001").frame_floor(10.0) == 299  # 299.7 frames: never longer than asked
    assert FrameRate.parse("2997/100").frame_floor(60.06006) == 1800 and FrameRate.parse("2997/100").frame_floor(60.06) == 1799
    assert FrameRate(25).frame_ceil(10.01) == 251  # frames that start inside the range
