"""The edit plan on hand-made timelines: exact segments in whole frames, max pause, speed-ups."""

from __future__ import annotations

from fractions import Fraction

import pytest

from clipmill.edit.edl import EditPlan, EditSegment, EditSettings, plan_edit
from clipmill.errors import InputError, InternalError
from clipmill.events import LabelledEvent, LabelledEvents
from clipmill.timebase import FrameRate
from clipmill.timeline import Timeline

SPEECH = Timeline([(0.0, 2.0), (3.0, 5.0), (8.0, 10.0)])
SILENCES = Timeline([(2.1, 2.9), (5.1, 7.9)])
PAL = FrameRate(25)


def test_remove_silence_cuts_every_pause_on_the_frame_grid():
    plan = plan_edit(10.0, rate=PAL, speech=SPEECH, silences=SILENCES)
    assert plan.segments == (EditSegment(0, 52), EditSegment(72, 128), EditSegment(198, 250))
    assert [plan.source_span(s) for s in plan.segments] == [(0.0, 2.08), (2.88, 5.12), (7.92, 10.0)]
    assert plan.removed_silence_frames == 20 + 70  # 0.8 s and 2.8 s
    assert plan.output_frames == 250 - 90 and plan.output_duration == pytest.approx(10.0 - 3.6)


def test_keeping_pauses_still_shortens_those_over_max_silence():
    settings = EditSettings(remove_silence=False, max_silence_s=1.0)
    plan = plan_edit(10.0, rate=PAL, speech=SPEECH, silences=SILENCES, settings=settings)
    # the 0.8 s pause stays whole; the 2.8 s one (frames 128-198) keeps its head and tail
    assert plan.segments == (EditSegment(0, 140), EditSegment(186, 250))
    kept_pause = (140 - 128) + (198 - 186)
    assert kept_pause <= 1.0 * 25 and plan.removed_silence_frames == 186 - 140


def test_keeping_pauses_without_max_silence_cuts_nothing():
    plan = plan_edit(10.0, rate=PAL, speech=SPEECH, silences=SILENCES, settings=EditSettings(remove_silence=False))
    assert plan.segments == (EditSegment(0, 250),)
    assert plan.removed_silence_frames == 0


def test_sped_up_pauses_play_whole_frames_and_respect_max_silence():
    settings = EditSettings(remove_silence=False, speed_up_silence=True, speed_factor=3.0, max_silence_s=0.5)
    plan = plan_edit(10.0, rate=PAL, speech=SPEECH, silences=SILENCES, settings=settings)
    fast = [s for s in plan.segments if s.speed != 1]
    assert fast, "pauses are sped up"
    for segment in fast:
        assert segment.output_frames * segment.speed == segment.source_frames  # exact, whole output frames
        assert float(segment.speed) == pytest.approx(3.0, rel=0.2)
    assert sum(s.output_frames for s in fast) <= 2 * 0.5 * 25  # two pauses, each at most max_silence_s


def test_fillers_are_cut_only_when_asked_and_cuts_never_enter_other_speech():
    fillers = LabelledEvents([LabelledEvent(4.0, 4.15, "um", 0.9), LabelledEvent(4.15, 4.3, "uh", 0.8)])
    kept = plan_edit(10.0, rate=PAL, speech=SPEECH, silences=Timeline(), fillers=fillers)
    assert kept.removed_filler_frames == 0 and len(kept.segments) == 1
    cut = plan_edit(10.0, rate=PAL, speech=SPEECH, silences=Timeline(), fillers=fillers,
                    settings=EditSettings(remove_fillers=True))
    assert cut.segments == (EditSegment(0, 100), EditSegment(108, 250))  # the touching um and uh, one cut
    speech_left = SPEECH.subtract(Timeline([(4.0, 4.32)]))
    kept_source = Timeline([cut.source_span(s) for s in cut.segments])
    assert speech_left.subtract(kept_source).duration == pytest.approx(0.0)


def test_ntsc_plans_count_whole_frames_inside_the_range():
    rate = FrameRate.parse("30000/1001")
    plan = plan_edit(10.0, rate=rate, speech=SPEECH, silences=SILENCES)
    assert plan.segments[-1].end_frame == 299  # whole frames inside 10 s
    assert plan.to_dict()["fps"] == "30000/1001"
    assert plan.source_span(plan.segments[-1])[1] == pytest.approx(299 * 1001 / 30000)


def test_tiny_keeps_are_dropped_and_the_whole_segment_cannot_vanish():
    plan = plan_edit(4.0, rate=PAL, speech=Timeline([(1.0, 1.04), (2.0, 4.0)]),
                     silences=Timeline([(0, 1.0), (1.04, 2.0)]), settings=EditSettings(min_keep_frames=2))
    assert plan.segments == (EditSegment(50, 100),)
    with pytest.raises(InputError, match="no speech to keep"):
        plan_edit(4.0, rate=PAL, speech=Timeline(), silences=Timeline([(0, 4.0)]))


def test_frame_mapping_through_the_plan():
    plan = EditPlan(segments=(EditSegment(0, 50), EditSegment(75, 125, 2)), rate=PAL, source_duration_s=5)
    assert plan.output_frames == 75 and plan.output_duration == 3.0
    assert plan.source_frame(10) == 10
    assert plan.source_frame(60) == 75 + 21  # output frame 10 of the fast piece shows the source under its middle
    assert EditPlan.from_dict(plan.to_dict()) == plan


def test_a_segment_must_play_whole_frames():
    assert EditSegment(0, 7, Fraction(7, 3)).output_frames == 3
    with pytest.raises(InternalError, match="not a whole number"):
        EditSegment(0, 7, 2)
    with pytest.raises(InternalError, match="start_frame < end_frame"):
        EditSegment(5, 5)


@pytest.mark.parametrize("factor", [0, -1, 16.5, float("nan")])
def test_bad_speed_factor_is_rejected_with_its_value(factor):
    with pytest.raises(InputError, match="speed_factor"):
        EditSettings(remove_silence=False, speed_up_silence=True, speed_factor=factor)

