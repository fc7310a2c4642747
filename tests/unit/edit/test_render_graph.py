"""The render's filter graph, checked as text: one select, exact retiming, faded joins, exact lengths."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from clipmill.edit.edl import EditPlan, EditSegment
from clipmill.edit.render import Crop, Subtitles, filter_graph
from clipmill.timebase import FrameRate

PLAN = EditPlan(
    segments=(EditSegment(0, 50), EditSegment(75, 100, Fraction(25, 12)), EditSegment(100, 150)),
    rate=FrameRate(25), source_duration_s=6.0,
)


def test_video_is_selected_once_and_retimed_without_an_fps_filter():
    video = filter_graph(PLAN, has_audio=False)
    assert video.count("select=") == 1 and "fps=" not in video
    assert "between((floor(t*25/1+0.5)-75),0,24)" in video  # 3-4 s: source frames 75..99, by index
    assert "floor((floor(t*25/1+0.5)-75)*12/25)" in video  # 25 source frames play as 12 output frames
    assert "(62+(floor(T*25/1+0.5)-100))*1/25" in video  # after 50 + 12 output frames, on the grid
    assert video.endswith("[vout]") and "[aout]" not in video


def test_audio_is_cut_stretched_faded_at_discontinuities_and_padded_to_exact_length():
    graph = filter_graph(PLAN, has_audio=True)
    chains = [line for line in graph.split(";\n") if line.startswith("[as")]
    assert len(chains) == 3
    first, fast, last = chains
    assert "atempo=2.08333" in fast and "atempo" not in first
    assert "afade=t=out" in first and "afade=t=in" in fast
    assert "afade=t=out" not in fast and "afade=t=in" not in last  # 3-4 s and 4-6 s are continuous
    assert "apad=whole_dur=0.480000,atrim=end=0.480000" in fast  # 12 frames
    assert graph.rstrip().endswith("concat=n=3:v=0:a=1[aout]")


def test_crop_moves_by_sendcmd_and_scales_to_the_target():
    crop = Crop(width=162, height=288, x=40, y=0, out_width=162, out_height=288, commands=Path("/tmp/c.cmd"))
    video = filter_graph(PLAN, has_audio=False, crop=crop)
    assert "sendcmd=f=/tmp/c.cmd,crop=162:288:40:0,scale=162:288:flags=lanczos,setsar=1[vout]" in video


def test_composite_crop_overlays_the_moving_foreground_on_a_blurred_cover():
    crop = Crop(width=720, height=288, x=0, y=0, out_width=162, out_height=288, commands=Path("/tmp/w.cmd"),
                composite=True)
    graph = filter_graph(PLAN, has_audio=True, crop=crop)
    lines = graph.split(";\n")
    assert lines[0].startswith("[0:v]select=") and lines[0].endswith(",sendcmd=f=/tmp/w.cmd,split[full][fgin]")
    assert lines[1] == ("[full]scale=40:72:force_original_aspect_ratio=increase,crop=40:72,"
                        "boxblur=luma_radius=5:luma_power=2,scale=162:288,setsar=1[bg]")
    assert lines[2] == "[fgin]crop@fg=720:288:0:0,scale@fg=162:288:flags=lanczos,setsar=1[fg]"
    assert lines[3] == "[bg][fg]overlay=x=(W-w)/2:y=(H-h)/2:eval=frame,setsar=1[vout]"
    assert graph.count("[vout]") == 1 and graph.rstrip().endswith("[aout]")


def test_subtitles_are_drawn_last_on_the_output_frame():
    subtitles = Subtitles(Path("/tmp/job/captions.ass"), Path("/fonts"))
    crop = Crop(width=162, height=288, x=40, y=0, out_width=162, out_height=288, commands=Path("/tmp/c.cmd"))
    video = filter_graph(PLAN, has_audio=False, crop=crop, subtitles=subtitles)
    assert video.endswith("scale=162:288:flags=lanczos,setsar=1,ass=filename=/tmp/job/captions.ass:fontsdir=/fonts[vout]")
    composite = Crop(width=720, height=288, x=0, y=0, out_width=162, out_height=288, commands=Path("/tmp/w.cmd"),
                     composite=True)
    lines = filter_graph(PLAN, has_audio=True, crop=composite, subtitles=subtitles).split(";\n")
    assert lines[3].endswith("setsar=1,ass=filename=/tmp/job/captions.ass:fontsdir=/fonts[vout]")


def test_subtitle_paths_are_escaped_for_the_option_and_the_graph_parser():
    value = Subtitles(Path("/tmp/a:b,c [x]/it's.ass"), Path("/f")).filter()
    assert value == "ass=filename=/tmp/a\\\\:b\\,c \\[x\\]/it\\\\\\'s.ass:fontsdir=/f"
