"""The edit plan on hand-made timelines: exact segments, frame grid, max pause, speed-ups."""

from __future__ import annotations

from fractions import Fraction

import pytest

from clipmill.edit.edl import EditPlan, EditSegment, EditSettings, plan_edit, snap
from clipmill.errors import InputError
from clipmill.timeline import Timeline

SPEECH = Timeline([(0.0, 2.0), (3.0, 5.0), (8.0, 10.0)])
SILENCES = Timeline([(2.1, 2.9), (5.1, 7.9)])


def test_remove_silence_cuts_every_pause_on_the_frame_grid():
    plan = plan_edit(10.0, fps="25/1", speech=SPEECH, silences=SILENCES, fillers=Timeline())
    assert [(s.src_start, s.src_end, s.speed) for s in plan.segments] == [
        (0.0, 2.08, 1.0), (2.88, 5.12, 1.0), (7.92, 10.0, 1.0)
    ]
    assert plan.removed_silence_s == pytest.approx(0.8 + 2.8)
    assert plan.output_duration == pytest.approx(10.0 - 3.6)


def test_keeping_pauses_still_shortens_those_over_max_silence():
    settings = EditSettings(remove_silence=False, max_silence_s=1.0)
    plan = plan_edit(10.0, fps="25/1", speech=SPEECH, silences=SILENCES, fillers=Timeline(), settings=settings)
    # the 0.8 s pause stays whole; the 2.8 s one keeps its head and tail, on the frame grid
    assert [(s.src_start, s.src_end) for s in plan.segments] == [(0.0, 5.6), (7.44, 10.0)]
    kept_pause = (5.6 - 5.12) + (7.92 - 7.44)
    assert kept_pause <= 1.0 and plan.removed_silence_s == pytest.approx(7.44 - 5.6)


def test_keeping_pauses_without_max_silence_cuts_nothing():
    plan = plan_edit(10.0, fps="25/1", speech=SPEECH, silences=SILENCES, fillers=Timeline(),
                     settings=EditSettings(remove_silence=False))
    assert [(s.src_start, s.src_end) for s in plan.segments] == [(0.0, 10.0)]
    assert plan.removed_silence_s == 0.0


def test_sped_up_pauses_play_whole_frames_and_respect_max_silence():
    settings = EditSettings(remove_silence=False, speed_up_silence=True, speed_factor=3.0, max_silence_s=0.5)
    plan = plan_edit(10.0, fps="25/1", speech=SPEECH, silences=SILENCES, fillers=Timeline(), settings=settings)
    fast = [s for s in plan.segments if s.speed != 1.0]
    assert fast, "pauses are sped up"
    for segment in fast:
        frames = segment.output_duration * 25
        assert frames == pytest.approx(round(frames), abs=1e-9)
        assert segment.speed == pytest.approx(3.0, rel=0.2)
    assert sum(s.output_duration for s in fast) <= 2 * 0.5 + 1e-9  # two pauses, each at most max_silence_s


def test_fillers_are_cut_only_when_asked_and_cuts_never_enter_other_speech():
    fillers = Timeline([(4.0, 4.3)])
    kept = plan_edit(10.0, fps="25/1", speech=SPEECH, silences=Timeline(), fillers=fillers)
    assert kept.removed_filler_s == 0.0 and len(kept.segments) == 1
    cut = plan_edit(10.0, fps="25/1", speech=SPEECH, silences=Timeline(), fillers=fillers,
                    settings=EditSettings(remove_fillers=True))
    assert [(s.src_start, s.src_end) for s in cut.segments] == [(0.0, 4.0), (4.32, 10.0)]
    speech_left = SPEECH.subtract(Timeline([(4.0, 4.32)]))
    kept_source = Timeline([(s.src_start, s.src_end) for s in cut.segments])
    assert speech_left.subtract(kept_source).duration == pytest.approx(0.0)


def test_ntsc_boundaries_sit_on_the_rational_frame_grid():
    rate = Fraction(30000, 1001)
    plan = plan_edit(10.0, fps="30000/1001", speech=SPEECH, silences=SILENCES, fillers=Timeline())
    for segment in plan.segments:
        for edge in (segment.src_start, segment.src_end):
            frames = Fraction(edge).limit_denominator(10**6) * rate
            assert abs(frames - round(frames)) < Fraction(1, 1000)
    assert plan.segments[-1].src_end == pytest.approx(299 / float(rate))  # whole frames inside 10 s


def test_tiny_keeps_are_dropped_and_the_whole_segment_cannot_vanish():
    plan = plan_edit(4.0, fps="25/1", speech=Timeline([(1.0, 1.04), (2.0, 4.0)]),
                     silences=Timeline([(0, 1.0), (1.04, 2.0)]), fillers=Timeline(),
                     settings=EditSettings(min_keep_frames=2))
    assert [(s.src_start, s.src_end) for s in plan.segments] == [(2.0, 4.0)]
    with pytest.raises(InputError, match="no speech to keep"):
        plan_edit(4.0, fps="25/1", speech=Timeline(), silences=Timeline([(0, 4.0)]), fillers=Timeline())


def test_time_mapping_through_the_plan():
    plan = EditPlan(segments=(EditSegment(0, 2), EditSegment(3, 5, 2.0)), fps="25/1", source_duration_s=5)
    assert plan.output_duration == 3.0
    assert plan.output_time(2.5) is None
    assert plan.output_time(4.0) == pytest.approx(2.5)
    assert plan.source_time(2.5) == pytest.approx(4.0)
    assert EditPlan.from_dict(plan.to_dict()) == plan


@pytest.mark.parametrize("factor", [0, -1, 16.5, float("nan")])
def test_bad_speed_factor_is_rejected_with_its_value(factor):
    with pytest.raises(InputError, match="speed_factor"):
        EditSettings(remove_silence=False, speed_up_silence=True, speed_factor=factor)


def test_snap():
    assert snap(1.019, Fraction(25)) == 1.0
    assert snap(1.03, Fraction(25)) == 1.04
    assert snap(1.0, Fraction(30000, 1001)) == pytest.approx(30 / (30000 / 1001))
