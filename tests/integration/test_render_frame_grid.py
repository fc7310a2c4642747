"""The render plays exactly the plan's frames on every common frame rate, with audio in step.

The plan below is the one a real 29.97 fps (``2997/100``) minute was cut by when its render came out
two frames long (1633 for 1631) and failed its own duration contract, now in the integer frames the
plan counts (it was float seconds then). The property test draws edit plans with the planner itself
(cuts and sped-up pauses in whole frames) and renders each, read in place from a longer source at a
seek that lands between grid points, as a clip job does.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipmill.edit.edl import EditPlan, EditSegment, EditSettings, plan_edit
from clipmill.edit.render import filter_graph, render_args
from clipmill.media.encode import EncoderSettings
from clipmill.timebase import FrameRate
from clipmill.timeline import Timeline
from tests.media_factory import ffmpeg

pytestmark = pytest.mark.timeout(120)

#: ``[start_frame, end_frame]`` at 2997/100 (0-1.368035 s, 1.501502-3.53687 s, ... as it was stored in seconds).
REAL_MINUTE_PLAN = [
    [0, 41], [45, 106], [111, 465], [469, 530], [535, 889], [893, 954], [959, 1313], [1317, 1378], [1383, 1667],
]
RATES = ("2997/100", "30000/1001", "24000/1001", "25", "60")
FAST_ENCODE = EncoderSettings(preset="ultrafast", crf=30)


def tiny_source(target: Path, *, rate: str, seconds: float) -> Path:
    """A 64x48 H.264/AAC test pattern: the frame grid is what matters, not the picture."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=64x48:rate={rate}:duration={seconds}",
           "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(target))
    return target


def render(source: Path, plan: EditPlan, folder: Path, *, window: tuple[float, float] | None = None) -> dict[str, float]:
    """Render `plan` with the clip job's graph and arguments; the output's frame count and stream durations."""
    graph, output = folder / "graph.txt", folder / "out.mp4"
    graph.write_text(filter_graph(plan, has_audio=True))
    subprocess.run(render_args(source, output, graph, has_audio=True, settings=FAST_ENCODE, window=window),
                   check=True, capture_output=True)
    streams = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=codec_type,nb_read_frames,duration",
         "-of", "json", str(output)], capture_output=True, text=True, check=True,
    ).stdout)["streams"]
    facts = {s["codec_type"]: s for s in streams}
    return {"frames": int(facts["video"]["nb_read_frames"]), "video_s": float(facts["video"]["duration"]),
            "audio_s": float(facts["audio"]["duration"])}


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("grid-sources")
    return {rate: tiny_source(folder / f"{rate.replace('/', '_')}.mp4", rate=rate, seconds=6.0) for rate in RATES}


def test_the_real_2997_minute_plan_renders_its_exact_frames(tmp_path):
    source = tiny_source(tmp_path / "minute.mp4", rate="2997/100", seconds=56.8)
    plan = EditPlan(segments=tuple(EditSegment(a, b) for a, b in REAL_MINUTE_PLAN), rate=FrameRate.parse("2997/100"),
                    source_duration_s=56.8)
    got = render(source, plan, tmp_path)
    assert plan.output_frames == 1631
    assert got["frames"] == 1631, got
    assert abs(got["audio_s"] - got["video_s"]) <= 100 / 2997 + 1e-3, got


pauses = st.lists(st.tuples(st.floats(0.05, 3.2), st.floats(0.1, 0.9)), min_size=1, max_size=4)


@pytest.mark.parametrize("rate", RATES)
@settings(max_examples=3, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seek=st.floats(0.0, 1.5), length=st.floats(1.2, 3.8), gaps=pauses,
       speed=st.sampled_from([None, 1.5, 2.0, 3.0]))
def test_any_plan_renders_exactly_its_frames_with_audio_in_step(rate, sources, tmp_path, seek, length, gaps, speed):
    silences = Timeline.from_list([(a, min(a + g, length)) for a, g in gaps if a < length - 0.05])
    edit = EditSettings(remove_silence=speed is None, speed_up_silence=speed is not None, speed_factor=speed or 2.0,
                        max_silence_s=0.4, min_keep_frames=1)
    try:
        plan = plan_edit(length, rate=FrameRate.parse(rate), speech=Timeline(), silences=silences, settings=edit)
    except Exception as error:  # a plan that cuts everything is not a render case
        assert "remove the whole segment" in str(error)
        return
    got = render(sources[rate], plan, tmp_path, window=(seek, length))
    frame_s = plan.rate.frame_s
    assert got["frames"] == plan.output_frames, (plan.to_dict(), got)
    assert abs(got["audio_s"] - got["video_s"]) <= frame_s + 1e-3, (plan.to_dict(), got)
