"""ffmpeg argument lists are built by pure functions: checked here without running ffmpeg."""

from __future__ import annotations

from pathlib import Path

from clipmill.media.audio import decode_audio_args
from clipmill.edit.render import render_args
from clipmill.media.encode import EncoderSettings, extract_args
from clipmill.media.frames import frame_args
from clipmill.media.probe import MediaInfo

INFO = MediaInfo(
    duration_s=60.0, width=1920, height=1080, fps="30000/1001", constant_frame_rate=True, rotation=0, video_codec="h264", pix_fmt="yuv420p",
    has_audio=True, audio_codec="aac", audio_sample_rate=48000, audio_channels=2, format_name="mp4", size_bytes=1,
)


def _after(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_extract_seeks_before_input_and_bounds_by_duration():
    args = extract_args(Path("in.mp4"), Path("out.mp4"), info=INFO, start_s=10.5, end_s=30.25, settings=EncoderSettings())
    assert args.index("-ss") < args.index("-i")
    assert _after(args, "-ss") == "10.500000"
    assert _after(args, "-t") == "19.750000"
    assert args.index("-t") > args.index("-i")


def test_extract_keeps_the_rational_frame_rate_and_even_size():
    args = extract_args(Path("in.mp4"), Path("out.mp4"), info=INFO, start_s=0, end_s=1, settings=EncoderSettings())
    assert _after(args, "-r") == "30000/1001"
    assert _after(args, "-vf") == "scale=trunc(iw/2)*2:trunc(ih/2)*2"


def test_extract_maps_audio_only_when_present():
    with_audio = extract_args(Path("a"), Path("b"), info=INFO, start_s=0, end_s=1, settings=EncoderSettings())
    assert "0:a:0" in with_audio and _after(with_audio, "-c:a") == "aac"
    silent = INFO.__class__(**{**INFO.to_dict(), "has_audio": False, "audio_codec": None})
    without = extract_args(Path("a"), Path("b"), info=silent, start_s=0, end_s=1, settings=EncoderSettings())
    assert "0:a:0" not in without and "-c:a" not in without


def test_render_uses_requested_quality_and_faststart():
    args = render_args(
        Path("a"), Path("b.mp4"), Path("g.txt"), has_audio=True,
        settings=EncoderSettings(crf=23, preset="slow", audio_bitrate_kbps=96),
    )
    assert (_after(args, "-crf"), _after(args, "-preset"), _after(args, "-b:a")) == ("23", "slow", "96k")
    assert _after(args, "-movflags") == "+faststart"
    assert _after(args, "-pix_fmt") == "yuv420p"
    assert args[-1] == "b.mp4"


def test_every_ffmpeg_call_whitelists_file_and_pipe_protocols_only():
    calls = [
        extract_args(Path("a"), Path("b"), info=INFO, start_s=0, end_s=1, settings=EncoderSettings()),
        render_args(Path("a"), Path("b"), Path("g"), has_audio=True, settings=EncoderSettings()),
        decode_audio_args(Path("a"), sample_rate=16000),
        frame_args(Path("a"), fps=5, size=(64, 36)),
    ]
    for args in calls:
        assert _after(args, "-protocol_whitelist") == "file,pipe"
        assert args.index("-protocol_whitelist") < args.index("-i")


def test_audio_is_decoded_to_mono_float_at_the_analysis_rate():
    args = decode_audio_args(Path("a"), sample_rate=16000)
    assert (_after(args, "-ac"), _after(args, "-ar"), _after(args, "-f")) == ("1", "16000", "f32le")


def test_render_reads_a_window_of_the_source_with_an_accurate_input_seek():
    args = render_args(Path("src.mp4"), Path("o.mp4"), Path("g"), has_audio=True, settings=EncoderSettings(),
                       window=(12.5, 30.0))
    assert args.index("-ss") < args.index("-t") < args.index("-i")
    assert (_after(args, "-ss"), _after(args, "-t")) == ("12.500000", "30.000000")
    assert "-ss" not in render_args(Path("s"), Path("o"), Path("g"), has_audio=True, settings=EncoderSettings())


def test_only_plain_constant_rate_sources_are_cut_in_place():
    assert INFO.frames_addressable_in_place
    for change in ({"constant_frame_rate": False}, {"rotation": 90}, {"width": 1921}):
        assert not INFO.__class__(**{**INFO.to_dict(), **change}).frames_addressable_in_place
