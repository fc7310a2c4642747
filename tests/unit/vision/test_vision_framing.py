"""Framing on synthetic tracks: crop geometry, dead zone, bounded pans, cuts, talker choice."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from clipmill.edit.edl import EditPlan, EditSegment
from clipmill.errors import InputError
from clipmill.timebase import FrameRate
from clipmill.vision.activity import shared_spans
from clipmill.vision.framing import (
    FramingSettings, crop_commands, crop_size, foreground, parse_aspect, plan_framing, window_commands,
)
from clipmill.vision.tracking import Track

FPS = 25


def track(track_id: int, start: float, end: float, centre_x, width: float = 80.0, y: float = 100.0) -> Track:
    times = np.arange(round(start * FPS), round(end * FPS)) / FPS
    cx = np.broadcast_to(np.asarray(centre_x(times) if callable(centre_x) else centre_x, dtype=float), times.shape)
    boxes = np.stack([cx - width / 2, np.full_like(cx, y), cx + width / 2, np.full_like(cx, y + width)], axis=1)
    return Track(id=track_id, times=times, xyxy=boxes.astype(np.float32), confidence=np.ones(len(times), np.float32))


def plan(seconds: float) -> EditPlan:
    return EditPlan(segments=(EditSegment(0, round(seconds * FPS)),), rate=FrameRate(FPS), source_duration_s=seconds)


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
    path = plan_framing([wobble], width=1280, height=720, plan=plan(4), aspect="9:16")
    assert len(set(path.x.tolist())) == 1
    assert path.subject_inside_share == 1.0


def test_pans_are_bounded_in_speed_and_keep_the_subject_in_frame():
    walker = track(1, 0, 6, lambda t: 300 + 120 * t)
    settings = FramingSettings()
    path = plan_framing([walker], width=1280, height=720, plan=plan(6), aspect="9:16", settings=settings)
    speed = np.abs(np.diff(path.x)) * FPS
    assert speed.max() <= settings.max_speed * 1280 + 1
    assert path.subject_inside_share >= 0.98
    assert path.jerk < 5


def test_shot_change_cuts_instead_of_panning():
    left, right = track(1, 0, 2, 200.0), track(2, 2, 4, 1100.0)
    path = plan_framing([left, right], width=1280, height=720, plan=plan(4), aspect="9:16")
    assert abs(int(path.x[49]) - int(path.x[50])) > 500
    assert path.subject_inside_share == 1.0


def test_the_talking_face_is_chosen_when_two_are_present():
    left, right = track(1, 0, 6, 200.0), track(2, 0, 6, 1100.0, width=120.0)
    times = np.arange(0, 6, 0.1)
    talking_left = np.where(times < 3, 8.0, 0.5)
    activity = (times, {1: talking_left, 2: 8.5 - talking_left})
    path = plan_framing([left, right], width=1280, height=720, plan=plan(6), aspect="9:16",
                        activity=activity)
    centre = path.x + path.crop_width / 2
    assert abs(centre[25] - 200) < 150, "the left face talks first although the right one is bigger"
    assert abs(centre[-1] - 1100) < 150


def test_mouth_motion_is_needed_only_where_faces_share_the_screen():
    def spans(*tracks: Track) -> list[list[float]]:
        return shared_spans(tracks, window_s=0.6, end_s=10.0, rate_hz=10.0).to_list()

    one, two = track(1, 0.0, 10.0, 300.0), track(2, 3.02, 5.0, 900.0)
    assert spans(one) == [] and spans(track(1, 0, 4, 300), track(2, 4, 8, 900)) == []  # one face at a time
    # shared 3.02-4.96 s, widened by the 0.6 s window and two samples, outward onto the 10 Hz grid
    np.testing.assert_allclose(spans(one, two), [[2.2, 5.8]])
    np.testing.assert_allclose(spans(track(1, 0, 1, 300), track(2, 0.52, 9.6, 900), track(3, 9.0, 10.0, 500)),
                               [[0.0, 1.8], [8.2, 10.0]], atol=1e-9)  # clipped to the range
    np.testing.assert_allclose(spans(one, two, track(3, 4.0, 6.0, 600)), [[2.2, 6.8]])


def test_without_faces_the_crop_is_centred_and_commands_are_sparse():
    path = plan_framing([], width=1280, height=720, plan=plan(2), aspect="1:1")
    assert set(path.x.tolist()) == {280} and path.tracked_frames == 0
    assert crop_commands(path).strip().splitlines() == ["0.000000 crop x 280, crop y 0;"]


def faces_inside(path, boxes: list[Track]) -> np.ndarray:
    """Per output frame (plan without cuts): every given track present there lies inside the window."""
    ok = np.ones(len(path.x), dtype=bool)
    w = path.w if path.composite else np.full(len(path.x), path.crop_width)
    h = path.h if path.composite else np.full(len(path.x), path.crop_height)
    for face in boxes:
        frames = np.round(face.times * FPS).astype(int)
        x0, y0, x1, y1 = face.xyxy.T
        ok[frames] &= (x0 >= path.x[frames]) & (x1 <= path.x[frames] + w[frames])
        ok[frames] &= (y0 >= path.y[frames]) & (y1 <= path.y[frames] + h[frames])
    return ok


WIDEST = FramingSettings(two_people="widest")


def test_widest_letterboxes_two_faces_too_far_apart_for_a_crop():
    left, right = track(1, 0, 6, 200.0), track(2, 0, 6, 1100.0)
    speaker = plan_framing([left, right], width=1280, height=720, plan=plan(6), aspect="9:16")
    assert faces_inside(speaker, [left, right]).mean() == 0.0, "a 9:16 crop cannot hold both"
    path = plan_framing([left, right], width=1280, height=720, plan=plan(6), aspect="9:16",
                        settings=WIDEST)
    assert path.composite and path.letterbox.all()
    assert faces_inside(path, [left, right]).mean() >= 0.98
    assert (path.out_width, path.out_height) == (404, 720)
    assert np.all(path.w * 16 // 9 - path.h <= 2) and np.all(path.w <= 1280)


def test_widest_frames_a_close_pair_with_a_plain_crop_between_them():
    left, right = track(1, 0, 4, 520.0), track(2, 0, 4, 760.0)
    path = plan_framing([left, right], width=1280, height=720, plan=plan(4), aspect="1:1",
                        settings=WIDEST)
    assert not path.composite, "the pair fits the largest square: no background needed"
    assert faces_inside(path, [left, right]).all()
    assert abs(path.x[50] + path.crop_width / 2 - 640) < 0.08 * 1280 + 1


def test_widest_widens_smoothly_when_a_second_face_joins():
    first, second = track(1, 0, 8, 300.0), track(2, 3, 8, 1000.0)
    path = plan_framing([first, second], width=1280, height=720, plan=plan(8), aspect="9:16",
                        settings=WIDEST)
    assert path.composite
    assert np.all(path.w[:75] == path.crop_width), "one face: the plain crop"
    growth = np.abs(np.diff(path.w)) * FPS
    assert growth.max() <= WIDEST.max_speed * 1280 + 2 * FPS, "the window's size changes with bounded speed"
    assert np.abs(np.diff(path.w, n=2)).max() * FPS**2 <= WIDEST.max_accel * 1280 + 4 * FPS**2
    settled = np.arange(len(path.x)) >= 5 * FPS
    assert faces_inside(path, [first, second])[settled].mean() >= 0.98
    assert path.subject_inside_share >= 0.98


def test_letterbox_only_where_no_face_is_tracked_for_long():
    face = [track(1, 0, 2, 640.0), track(2, 4, 5, 640.0), track(3, 5.2, 7, 640.0)]
    settings = FramingSettings(no_face="letterbox")
    path = plan_framing(face, width=1280, height=720, plan=plan(7), aspect="9:16", settings=settings)
    times = np.arange(len(path.x)) / FPS
    faceless = ~np.any([(times >= t.times[0] - 1e-6) & (times <= t.times[-1] + 1e-6) for t in face], axis=0)
    assert path.composite
    assert np.array_equal(path.letterbox, faceless & (times > 1.99) & (times < 4)), "the 0.2 s gap holds the crop"
    full = path.letterbox
    assert np.all(path.w[full] == 1280) and np.all(path.x[full] == 0)
    assert np.all(path.y[full] == (720 - path.h[full]) // 2)
    assert np.all(path.w[~full] == path.crop_width)


def test_foreground_fills_the_output_inside_the_frame_and_leaves_bars_outside():
    face = [track(1, 0, 1, 640.0)]
    path = plan_framing(face, width=1280, height=720, plan=plan(2), aspect="9:16",
                        settings=FramingSettings(no_face="letterbox", min_no_face_s=0.2))
    rows = foreground(path)
    assert rows[0].tolist() == [path.x[0], 0, 404, 720, 404, 720]
    assert rows[-1].tolist() == [0, 0, 1280, 720, 404, 228]
    lines = window_commands(path).strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("0.980000 crop@fg w 1280, crop@fg h 720, crop@fg x 0")
    assert lines[1].endswith("scale@fg w 404, scale@fg h 228;")


def test_a_cut_moves_the_crop_on_its_frame_even_for_the_same_person():
    # identity joined one person's track across a cut at 2 s: the face jumps from the left to the right third
    times = np.arange(0, 4 * FPS) / FPS
    cx = np.where(times < 2, 420.0, 860.0)
    one = Track(1, times, np.stack([cx - 100, np.full_like(cx, 100), cx + 100, np.full_like(cx, 300)], 1),
                np.ones(len(times)))
    path = plan_framing([one], width=1280, height=720, plan=plan(4), aspect="9:16", cut_times_s=[2.0])
    assert len(set(path.x[:50].tolist())) == 1  # nothing moves before the cut
    assert path.x[50] - path.x[49] > 300 and len(set(path.x[50:].tolist())) == 1
    assert path.subject_inside_share == 1.0 and path.worst_outside_frames == 0 and path.n_shots == 2
    unplanned = plan_framing([one], width=1280, height=720, plan=plan(4), aspect="9:16")
    assert len(set(unplanned.x[50:].tolist())) > 1  # without the cut it is dragged there, then pans on


def test_quality_figures_count_every_output_frame():
    # a face for 2 of 4 s: the frames without one are counted apart, not left out
    face = track(1, 0, 2, 640.0, width=120.0)
    path = plan_framing([face], width=1280, height=720, plan=plan(4), aspect="9:16")
    assert path.tracked_frames == 50 and path.no_face_share == pytest.approx(0.5)
    summary = path.to_dict()
    assert {"no_face_share", "worst_outside_frames", "worst_outside_s", "n_shots"} <= set(summary)


def test_a_large_face_near_the_dead_zone_edge_stays_inside():
    # a 360 px face drifting 60 px: inside the dead zone by its centre, but its edge would leave a 404 px crop
    big = track(1, 0, 3, lambda t: 640 + 20 * t, width=360.0)
    path = plan_framing([big], width=1280, height=720, plan=plan(3), aspect="9:16")
    assert path.subject_inside_share == 1.0
