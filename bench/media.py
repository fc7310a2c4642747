"""The benchmark input: the repository's GRID talking-head sample scaled to 720p and looped.

Built with ffmpeg at bench time and cached under ``bench/.cache/`` (one file per duration).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "bench" / ".cache"
SAMPLE = REPO / "samples" / "grid_concat_11speakers_33s.mp4"
#: real 720p 29.97 fps address footage with hard cuts, in the shared media beside the repository (absent on
#: users' machines: the rows built from it then say so)
REAL_FOOTAGE = REPO.parent / "shared" / "media" / "video" / "real" / "obama_wa_01-03_cuts.mp4"

#: 360x288 (5:4) GRID frames scaled to 720 px high and centred on a 1280x720 canvas.
TO_720P = "scale=-2:720:flags=lanczos,pad=1280:720:(ow-iw)/2:0,setsar=1"


def talking_head(duration_s: float, *, sample: Path = SAMPLE, cache: Path = CACHE) -> Path:
    """A `duration_s` long 1280x720 25 fps H.264/AAC talking-head video, built once and cached."""
    return _looped(
        sample, cache / f"talking_head_720p_{int(duration_s)}s.mp4", duration_s,
        ["-vf", TO_720P, "-r", "25", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-g", "50",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-ar", "48000"],
    )


def real_footage(duration_s: float, *, footage: Path = REAL_FOOTAGE, cache: Path = CACHE) -> Path | None:
    """`footage` looped to `duration_s` at its own 2997/100 fps (re-encoded, so timestamps stay whole), cached;
    ``None`` when the shared media is not there."""
    if not footage.is_file():
        return None
    return _looped(
        footage, cache / f"{footage.stem}_{int(duration_s)}s.mp4", duration_s,
        ["-r", "2997/100", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "128k"],
    )


def _looped(source: Path, target: Path, duration_s: float, encode: list[str]) -> Path:
    """`source` looped to `duration_s` and encoded with the `encode` arguments into `target`, once."""
    if target.is_file() and target.stat().st_size > 0:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part.mp4")
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         "-stream_loop", "-1", "-i", str(source), "-t", f"{duration_s:.3f}", *encode, str(partial)],
        check=True, capture_output=True,
    )
    partial.replace(target)
    return target


def stream_durations(path: Path) -> dict[str, float]:
    """Duration in seconds of the first video and audio streams (``{"video": s, "audio": s}``)."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(path)],
        check=True, capture_output=True, text=True,
    )
    found: dict[str, float] = {}
    for stream in json.loads(result.stdout)["streams"]:
        kind = stream.get("codec_type")
        if kind in ("video", "audio") and kind not in found and stream.get("duration"):
            found[kind] = float(stream["duration"])
    return found


def bare_encode_args(source: Path, output: Path, *, start_s: float, end_s: float, preset: str, crf: int) -> list[str]:
    """The reference re-encode: ``ffmpeg -ss S -to E -i src -c:v libx264 -preset P -crf C -c:a aac``."""
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-ss", f"{start_s:.3f}", "-to", f"{end_s:.3f}", "-i", str(source),
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-c:a", "aac", str(output),
    ]
