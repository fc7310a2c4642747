"""Framing on synthetic tracks: crop geometry, dead zone, bounded pans, cuts, talker choice."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from clipmill.edit.edl import EditPlan, EditSegment
from clipmill.errors import InputError
from clipmill.vision.framing import FramingSettings, crop_commands, crop_size, parse_aspect, plan_framing
from clipmill.vision.tracking import Track

FPS = 25


def track(track_id: int, start: float, end: float, centre_x, width: float = 80.0, y: float = 100.0) -> Track:
    times = np.arange(round(start * FPS), round(end * FPS)) / FPS
    cx = np.broadcast_to(np.asarray(centre_x(times) if callable(centre_x) else centre_x, dtype=float), times.shape)
    boxes = np.stack([cx - width / 2, np.full_like(cx, y), cx + width / 2, np.full_like(cx, y + width)], axis=1)
    return Track(id=track_id, times=times, xyxy=boxes.astype(np.float32), confidence=np.ones(len(times), np.float32))


def plan(seconds: float) -> EditPlan:
    return EditPlan(segments=(EditSegment(0.0, seconds),), fps=f"{FPS}/1", source_duration_s=seconds)


@pytest.mark.parametrize("text", ["0:1", "9:0", "-9:16", "916", "a:b", ""])
def test_bad_aspect_ratios_are_rejected(text):
    with pytest.raises(InputError, match="reframe"):
        parse_aspect(text)


def test_crop_is_the_largest_even_window_of_the_aspect():
    assert crop_size(1920, 1080, Fraction(9, 16)) == (606, 1080)
    assert crop_size(1280, 720, Fraction(1, 1)) == (720, 720)
    assert crop_size(720, 1280, Fraction(16, 9)) == (720, 404)


def test_camera_holds_still_inside_the_dead_zone():
    wobble = track(1, 0, 4, lambda t: 640 + 30 * np.sin(2 * np.pi * t))
    path = plan_framing([wobble], width=1280, height=720, fps="25/1", plan=plan(4), aspect="9:16")
    assert len(set(path.x.tolist())) == 1
    assert path.subject_inside_share == 1.0


def test_pans_are_bounded_in_speed_and_keep_the_subject_in_frame():
    walker = track(1, 0, 6, lambda t: 300 + 120 * t)
    settings = FramingSettings()
    path = plan_framing([walker], width=1280, height=720, fps="25/1", plan=plan(6), aspect="9:16", settings=settings)
    speed = np.abs(np.diff(path.x)) * FPS
    assert speed.max() <= settings.max_speed * 1280 + 1
    assert path.subject_inside_share >= 0.98
    assert path.jerk < 5


def test_shot_change_cuts_instead_of_panning():
    left, right = track(1, 0, 2, 200.0), track(2, 2, 4, 1100.0)
    path = plan_framing([left, right], width=1280, height=720, fps="25/1", plan=plan(4), aspect="9:16")
    assert abs(int(path.x[49]) - int(path.x[50])) > 500
    assert path.subject_inside_share == 1.0


def test_the_talking_face_is_chosen_when_two_are_present():
    left, right = track(1, 0, 6, 200.0), track(2, 0, 6, 1100.0, width=120.0)
    times = np.arange(0, 6, 0.1)
    talking_left = np.where(times < 3, 8.0, 0.5)
    activity = (times, {1: talking_left, 2: 8.5 - talking_left})
    path = plan_framing([left, right], width=1280, height=720, fps="25/1", plan=plan(6), aspect="9:16",
                        activity=activity)
    centre = path.x + path.crop_width / 2
    assert abs(centre[25] - 200) < 150, "the left face talks first although the right one is bigger"
    assert abs(centre[-1] - 1100) < 150


def test_without_faces_the_crop_is_centred_and_commands_are_sparse():
    path = plan_framing([], width=1280, height=720, fps="25/1", plan=plan(2), aspect="1:1")
    assert set(path.x.tolist()) == {280} and path.tracked_frames == 0
    assert crop_commands(path).strip().splitlines() == ["0.000000 crop x 280, crop y 0;"]
