"""Frame-accurate segment extraction, and the H.264/AAC codec settings every encode uses.

The argument list is built by a pure function (`extract_args`) so it can be unit-tested without
running ffmpeg; `extract_segment` runs it and checks the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clipmill.errors import InputError
from clipmill.media.probe import MediaInfo, probe
from clipmill.media.tool import DecodeReport, decode_report, input_guard, run
from clipmill.timebase import DURATION_SLACK_S

#: Even dimensions: yuv420p H.264 needs them; odd-sized sources lose at most one pixel row/column.
EVEN_SIZE_FILTER = "scale=trunc(iw/2)*2:trunc(ih/2)*2"


@dataclass(frozen=True)
class EncoderSettings:
    """How a video is encoded: x264 rate control and AAC bitrate."""

    crf: int = 20
    preset: str = "veryfast"
    audio_bitrate_kbps: int = 160
    audio_sample_rate: int = 48000


#: The intermediate segment is encoded close to transparent and as fast as x264 goes: it is only
#: analysed and re-encoded once more at render (ultrafast halves the extract time of veryfast at
#: the same quality, for a file about twice as large).
INTERMEDIATE = EncoderSettings(crf=16, preset="ultrafast", audio_bitrate_kbps=256)


def codec_args(settings: EncoderSettings, *, has_audio: bool) -> list[str]:
    args = [
        "-c:v", "libx264", "-preset", settings.preset, "-crf", str(settings.crf),
        "-pix_fmt", "yuv420p",
    ]
    if has_audio:
        args += ["-c:a", "aac", "-b:a", f"{settings.audio_bitrate_kbps}k", "-ar", str(settings.audio_sample_rate)]
    return args + ["-movflags", "+faststart"]


def extract_args(
    source: Path, output: Path, *, info: MediaInfo, start_s: float, end_s: float, settings: EncoderSettings,
    ffmpeg: str = "ffmpeg",
) -> list[str]:
    """ffmpeg arguments that cut ``[start_s, end_s)`` out of `source`, frame-accurately.

    Input seeking with re-encoding decodes from the previous keyframe and drops frames before
    `start_s`, so the cut lands on the exact frame; ``-t`` bounds the output; ``-r`` with the
    source's rational rate makes the output constant-frame-rate (variable-rate sources included),
    so later stages can index frames by time without drift.
    """
    streams = ["-map", "0:v:0"] + (["-map", "0:a:0"] if info.has_audio else [])
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        *input_guard(),
        "-ss", f"{start_s:.6f}", "-i", str(source), "-t", f"{end_s - start_s:.6f}",
        *streams, "-vf", EVEN_SIZE_FILTER, "-r", info.fps,
        *codec_args(settings, has_audio=info.has_audio),
        "-map_metadata", "-1",
        str(output),
    ]


def extract_segment(
    source: Path, output: Path, *, info: MediaInfo, start_s: float, end_s: float,
    settings: EncoderSettings = INTERMEDIATE, ffmpeg: str = "ffmpeg", ffprobe: str = "ffprobe",
) -> MediaInfo:
    """Cut ``[start_s, end_s)`` from `source` into `output` and check the result's duration
    (`extract_reporting` without the decode report)."""
    return extract_reporting(
        source, output, info=info, start_s=start_s, end_s=end_s, settings=settings, ffmpeg=ffmpeg, ffprobe=ffprobe,
    )[0]


def extract_reporting(
    source: Path, output: Path, *, info: MediaInfo, start_s: float, end_s: float,
    settings: EncoderSettings = INTERMEDIATE, ffmpeg: str = "ffmpeg", ffprobe: str = "ffprobe",
) -> tuple[MediaInfo, DecodeReport]:
    """Cut ``[start_s, end_s)`` from `source` into `output`; the segment's probe and what the
    decoders reported on the way.

    A source whose data ends early (truncated after a valid header) yields a short segment; that
    is reported as an `InputError` naming both durations rather than published as a short clip.
    """
    done = run(extract_args(source, output, info=info, start_s=start_s, end_s=end_s, settings=settings, ffmpeg=ffmpeg),
               what=f"extracting {start_s:.3f}-{end_s:.3f} s from {source.name}")
    wanted = end_s - start_s
    try:
        result = probe(output, ffprobe=ffprobe)
        got = f"{result.duration_s:.3f} s"
    except InputError:
        result, got = None, "nothing playable"
    if result is None or abs(result.duration_s - wanted) > info.frame_s + DURATION_SLACK_S:
        raise InputError(
            f"source {str(source)!r} yielded {got} for the requested {wanted:.3f} s "
            f"({start_s:.3f}-{end_s:.3f} s): the file is truncated or corrupt in that range"
        )
    return result, decode_report(done.stderr)
