"""The OTIO export of real edit plans: frame-exact source ranges, time warps, crop metadata, EDL."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import opentimelineio as otio
import pytest

from clipmill.edit.edl import EditPlan, EditSettings, plan_edit
from clipmill.edit.otio_export import crop_keyframes, timeline_from_plan
from clipmill.errors import InternalError
from clipmill.timebase import FrameRate
from clipmill.timeline import Timeline
from clipmill.vision.framing import FramingPath

SPEECH = Timeline([(0.0, 2.0), (3.0, 5.0), (8.0, 10.0)])
SILENCES = Timeline([(2.1, 2.9), (5.1, 7.9)])
SPEED_UP = EditSettings(remove_silence=False, speed_up_silence=True, speed_factor=2.0, max_silence_s=1.0)
START_S = 61.3
SOURCE_S = 3600.0


def _plan(fps: str, settings: EditSettings = EditSettings()) -> EditPlan:
    return plan_edit(10.0, rate=FrameRate.parse(fps), speech=SPEECH, silences=SILENCES, settings=settings)


def _framing(plan: EditPlan) -> FramingPath:
    """A crop that holds, pans steadily, holds, then cuts: one position per output frame."""
    n = plan.output_frames
    pan = np.round(np.linspace(200, 600, n // 3)).astype(int)
    x = np.concatenate([np.full(n // 4, 200), pan, np.full(n - n // 4 - len(pan) - 10, 600), np.full(10, 1000)])
    return FramingPath(aspect="9:16", fps=plan.rate.text, crop_width=606, crop_height=1080, out_width=606,
                       out_height=1080, x=x, y=np.full(n, 0), subject_inside_share=1.0, tracked_frames=n, jerk=0.0)


def _export(plan: EditPlan, **kwargs: object) -> otio.schema.Timeline:
    text = timeline_from_plan(plan, source_uri="/media/talk.mp4", source_start_s=START_S,
                              source_duration_s=SOURCE_S, name="talk-clip", **kwargs)
    return otio.adapters.read_from_string(text, "otio_json")


@pytest.mark.parametrize("fps", ["25/1", "30000/1001"])
@pytest.mark.parametrize("settings", [EditSettings(), SPEED_UP], ids=["remove", "speed-up"])
def test_each_segment_is_a_clip_on_its_exact_source_frames(fps: str, settings: EditSettings):
    plan = _plan(fps, settings)
    rate = Fraction(fps)
    first_frame = int(np.ceil(float(Fraction(START_S) * rate) - 1e-3))
    timeline = _export(plan)
    video, audio = timeline.video_tracks(), timeline.audio_tracks()
    assert len(video) == 1 and len(audio) == 1
    for track in (video[0], audio[0]):
        clips = list(track.find_clips())
        assert len(clips) == len(plan.segments)
        for clip, segment in zip(clips, plan.segments):
            source_range = clip.source_range
            assert source_range.start_time.rate == pytest.approx(float(rate), abs=0)
            source_frames = segment.end_frame - segment.start_frame
            assert source_range.start_time.value == first_frame + segment.start_frame
            warps = [e for e in clip.effects if isinstance(e, otio.schema.LinearTimeWarp)]
            if segment.speed == 1:
                assert warps == []
                assert source_range.duration.value == source_frames
            else:
                # OTIO convention: a retimed clip lasts its OUTPUT duration; it consumes duration × time_scalar
                assert source_range.duration.value == segment.output_frames
                assert [w.time_scalar for w in warps] == [source_frames / source_range.duration.value]
                assert warps[0].time_scalar == pytest.approx(float(segment.speed), rel=1e-9)
            assert clip.metadata["clipmill"]["source_frames"] == source_frames
    assert any(s.speed != 1 for s in plan.segments) == (settings is SPEED_UP)


@pytest.mark.parametrize("fps", ["25/1", "30000/1001"])
def test_track_duration_is_the_output_duration(fps: str):
    plan = _plan(fps, SPEED_UP)
    timeline = _export(plan)
    # OTIO's Track.duration() is the sum of the clips' source_range durations and ignores time
    # warps; the export gives retimed clips their output duration, so the track's duration IS the
    # plan's output duration (not the source span of the segments, which is longer when sped up)
    for track in timeline.tracks:
        duration = track.duration()
        assert duration.to_seconds() == pytest.approx(plan.output_duration, abs=1 / float(Fraction(fps)))
        assert duration.value == timeline.metadata["clipmill"]["output_frames"]
    source_span = sum(end - start for start, end in map(plan.source_span, plan.segments))
    assert source_span > plan.output_duration + 1.0


def test_media_reference_is_the_whole_original_source():
    plan = _plan("30000/1001")
    clip = _export(plan).find_clips()[0]
    reference = clip.media_reference
    assert isinstance(reference, otio.schema.ExternalReference)
    assert reference.target_url == "file:///media/talk.mp4"
    assert reference.available_range.start_time.value == 0
    assert reference.available_range.duration.to_seconds() == pytest.approx(SOURCE_S, abs=1 / 29.97)
    s3 = timeline_from_plan(plan, source_uri="s3://bucket/raw/talk.mp4", source_start_s=0.0,
                            source_duration_s=SOURCE_S, name="x")
    assert otio.adapters.read_from_string(s3, "otio_json").find_clips()[0].media_reference.target_url == (
        "s3://bucket/raw/talk.mp4"
    )
    with pytest.raises(InternalError, match="absolute"):
        timeline_from_plan(plan, source_uri="talk.mp4", source_start_s=0.0, source_duration_s=SOURCE_S, name="x")


def test_plan_stats_and_framing_are_in_the_metadata():
    plan = _plan("25/1", SPEED_UP)
    framing = _framing(plan)
    timeline = _export(plan, framing=framing)
    meta = timeline.metadata["clipmill"]
    assert meta["plan"]["reduction_pct"] == pytest.approx(plan.reduction_pct, abs=1e-3)
    assert meta["source"]["start_s"] == START_S
    crop = meta["framing"]
    assert (crop["crop_width"], crop["crop_height"], crop["out_width"], crop["out_height"]) == (606, 1080, 606, 1080)
    keys = np.array(crop["keyframes"])
    assert 4 <= len(keys) < len(framing.x) // 10
    frames = np.arange(len(framing.x))
    assert np.abs(np.interp(frames, keys[:, 0], keys[:, 1]) - framing.x).max() <= crop["tolerance_px"]
    assert np.abs(np.interp(frames, keys[:, 0], keys[:, 2]) - framing.y).max() <= crop["tolerance_px"]
    clips = list(timeline.video_tracks()[0].find_clips())
    assert [c.metadata["clipmill"]["record_start_frame"] for c in clips] == [
        int(c.range_in_parent().start_time.value) for c in clips
    ]
    assert all(c.metadata["clipmill"]["crop_keyframes"][0][0] == 0 for c in clips)


def test_crop_keyframes_keep_holds_and_cuts_and_drop_the_rest():
    x = np.array([5, 5, 5, 5, 9, 13, 17, 21, 21, 300, 300])
    assert crop_keyframes(x, np.zeros_like(x)) == [[0, 5, 0], [3, 5, 0], [7, 21, 0], [8, 21, 0], [9, 300, 0],
                                                   [10, 300, 0]]
    assert crop_keyframes(np.array([7]), np.array([3])) == [[0, 7, 3]]
    assert crop_keyframes(np.array([], dtype=int), np.array([], dtype=int)) == []


def test_otio_file_round_trips_and_exports_to_cmx_edl(tmp_path):
    plan = _plan("25/1", SPEED_UP)
    path = tmp_path / "talk-clip.otio"
    path.write_text(timeline_from_plan(plan, source_uri="/media/talk.mp4", source_start_s=START_S,
                                       source_duration_s=SOURCE_S, name="talk-clip", framing=_framing(plan)))
    timeline = otio.adapters.read_from_file(str(path))
    assert len(list(timeline.find_clips())) == 2 * len(plan.segments)
    if "cmx_3600" not in otio.adapters.available_adapter_names():
        pytest.skip("the CMX 3600 adapter (otio-cmx3600-adapter) is not installed")
    edl = otio.adapters.write_to_string(timeline, "cmx_3600", rate=25)
    events = [line.split() for line in edl.splitlines() if line[:3].isdigit()]
    # one event per segment: the writer folds the matching audio track into the video events
    assert len(events) == len(plan.segments)
    assert edl.count("\nM2 ") == sum(s.speed != 1 for s in plan.segments) == 3
    assert "M2   talk-clip 002\t\t50.0\t" in edl
    # source in of the first event: 61.3 s is frame 1532.5, so the segment starts on frame 1533;
    # the third starts 2.88 s (72 frames) later; record times are the output's
    assert events[0][-4:] == ["00:01:01:08", "00:01:03:10", "00:00:00:00", "00:00:02:02"]
    assert events[2][-4] == "00:01:04:05" and events[2][-2] == "00:00:02:12"
    # the pauses' two sped-up ends of 25 frames each play 13 frames (12.5, half a frame up)
    assert events[-1][-1] == "00:00:07:21" and plan.output_frames == 7 * 25 + 21
