"""What is in a media file: streams, duration, frame rate, rotation — read with ffprobe."""

from __future__ import annotations

import json
import math
import struct
import subprocess
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from clipmill.errors import InputError
from clipmill.media.tool import SOURCE_FORMATS, input_guard, require, stderr_tail
from clipmill.timebase import SECONDS_RESOLUTION_S, FrameRate

#: Largest frame clipmill decodes (8192x8192): beyond 8K UHD, and a guard against files that
#: declare huge dimensions so that decoding them would exhaust memory.
MAX_PIXELS = 8192 * 8192

#: Smallest side clipmill cuts: H.264 4:2:0 needs even sides of at least 2 pixels, and the face and
#: framing stages need a picture to look at, so anything narrower is refused rather than retried.
MIN_SIDE = 16


@dataclass(frozen=True)
class MediaInfo:
    """The facts about a source that the pipeline depends on."""

    duration_s: float
    width: int
    height: int
    fps: str
    constant_frame_rate: bool
    rotation: int
    video_codec: str
    pix_fmt: str
    has_audio: bool
    audio_codec: str | None
    audio_sample_rate: int | None
    audio_channels: int | None
    format_name: str
    size_bytes: int
    data_end_s: float | None = None

    @property
    def frame_rate(self) -> FrameRate:
        """Frame rate as an exact rational (30000/1001, not 29.97)."""
        return FrameRate.parse(self.fps)

    @property
    def frame_s(self) -> float:
        """Duration of one frame in seconds."""
        return float(1 / self.frame_rate)

    @property
    def frames_addressable_in_place(self) -> bool:
        """True when frames can be cut by time straight from this file: constant frame rate, no
        rotation to apply, even dimensions. Other sources go through the frame-accurate intermediate."""
        return self.constant_frame_rate and self.rotation == 0 and self.width % 2 == 0 and self.height % 2 == 0

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as shown, after applying the rotation metadata."""
        if self.rotation % 180:
            return self.height, self.width
        return self.width, self.height

    @property
    def truncated(self) -> bool:
        """The container declares more data than the file holds (`data_end_s` is where it stops)."""
        return self.data_end_s is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe(path: Path, *, ffprobe: str = "ffprobe") -> MediaInfo:
    """Probe `path` and check it is a video clipmill can cut.

    Raises `InputError` when the file is missing, empty, unreadable as media, or has no video stream.
    An ISO BMFF file (mp4, mov) whose boxes declare more bytes than it holds is *truncated*: its
    `data_end_s` says where the media data stops (see `check_complete`).
    """
    size = _check_file(path)
    info = parse_probe(_ffprobe_json(path, ffprobe=ffprobe), path=path, size_bytes=size)
    if set(info.format_name.split(",")) & {"mov", "mp4"} and overrunning_box(path, size) is not None:
        data_end_s = _data_end_s(path, ffprobe=ffprobe)
        if data_end_s < info.duration_s - info.frame_s:  # a box sized too generously around complete data is fine
            info = replace(info, data_end_s=data_end_s)
    return info


def check_complete(info: MediaInfo, path: Path, *, allow_truncated: bool) -> MediaInfo:
    """`info` of a complete file as it is; a truncated one is refused with where its data ends, or,
    with `allow_truncated`, kept with its duration cut to the data that is there."""
    if not info.truncated:
        return info
    if not allow_truncated:
        raise InputError(
            f"source {str(path)!r} is truncated: its data ends at {info.data_end_s:.1f} s of {info.duration_s:.1f} s "
            f"(the container declares more than its {info.size_bytes} bytes); copy it again in full, or set "
            "allow_truncated=true to cut from the data that is there"
        )
    return replace(info, duration_s=info.data_end_s)


def overrunning_box(path: Path, size: int) -> str | None:
    """The first top-level ISO BMFF box (``mdat``, ``moov``, ...) that extends past the file's end, if any."""
    offset = 0
    with path.open("rb") as handle:
        while offset + 8 <= size:
            handle.seek(offset)
            header = handle.read(16)
            length, kind = struct.unpack(">I4s", header[:8])
            if length == 1 and len(header) == 16:
                length = struct.unpack(">Q", header[8:16])[0]
            elif length == 0:
                return None
            if length < 8:  # not a box header (padding or junk after the last box): nothing declared
                return None
            if offset + length > size:
                return kind.decode("latin-1")
            offset += length
    return None


def _data_end_s(path: Path, *, ffprobe: str) -> float:
    """Where the readable data of a truncated file ends: the earliest of its streams' last packet ends."""
    command = [
        require(ffprobe), "-v", "quiet", *input_guard(), "-show_entries",
        "packet=stream_index,pts_time,duration_time", "-of", "csv=p=0", str(path),
    ]
    result = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, check=False)
    ends: dict[str, float] = {}
    for line in result.stdout.decode("ascii", "replace").splitlines():
        stream, pts, duration = (line.split(",") + ["", ""])[:3]
        if not stream.strip():
            continue
        end = (_first_number(pts) or 0.0) + (_first_number(duration) or 0.0)
        ends[stream] = max(ends.get(stream, 0.0), end)
    return min(ends.values(), default=0.0)


@dataclass(frozen=True)
class AudioInfo:
    """What audio analysis needs to know about any media file, video or audio-only."""

    duration_s: float
    has_audio: bool
    audio_codec: str | None
    audio_sample_rate: int | None


def probe_audio(path: Path, *, ffprobe: str = "ffprobe") -> AudioInfo:
    """Duration and first audio stream of `path` (a video or an audio-only file such as wav or flac)."""
    _check_file(path)
    data = _ffprobe_json(path, ffprobe=ffprobe)
    _check_format(data.get("format", {}), path)
    audio = next((s for s in data.get("streams", []) if s.get("codec_type") == "audio"), None)
    duration = _first_number(data.get("format", {}).get("duration"), audio.get("duration") if audio else None)
    if duration is None or not math.isfinite(duration) or duration <= 0:
        raise InputError(f"source {str(path)!r} reports no usable duration")
    return AudioInfo(
        duration_s=duration, has_audio=audio is not None, audio_codec=audio.get("codec_name") if audio else None,
        audio_sample_rate=int(audio["sample_rate"]) if audio and audio.get("sample_rate") else None,
    )


def _check_file(path: Path) -> int:
    if not path.is_file():
        raise InputError(f"source not found: {str(path)!r} does not exist or is not a file")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"source {str(path)!r} is empty (0 bytes)")
    return size


def _ffprobe_json(path: Path, *, ffprobe: str) -> dict[str, Any]:
    command = [
        require(ffprobe), "-v", "error", *input_guard(),
        "-print_format", "json", "-show_format", "-show_streams", str(path),
    ]
    result = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, check=False)
    if result.returncode != 0 and b"not on whitelist" in result.stderr:
        raise InputError(
            f"source {str(path)!r} is not in an allowed container format (a playlist, concat list, image "
            f"sequence or text file?); allowed containers: {', '.join(SOURCE_FORMATS)}"
        )
    if result.returncode != 0:
        raise InputError(
            f"source {str(path)!r} is not readable media (corrupt, truncated or not media): "
            f"{stderr_tail(result.stderr)}"
        )
    return json.loads(result.stdout or b"{}")


def parse_probe(data: dict[str, Any], *, path: Path, size_bytes: int) -> MediaInfo:
    """Turn ffprobe's JSON into `MediaInfo`, rejecting what cannot be cut."""
    _check_format(data.get("format", {}), path)
    streams = data.get("streams", [])
    video = next(
        (s for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")),
        None,
    )
    if video is None:
        raise InputError(f"source {str(path)!r} has no video stream to cut: {_stream_kinds(streams)}")
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fmt = data.get("format", {})
    duration = _first_number(fmt.get("duration"), video.get("duration"))
    if duration is None or not math.isfinite(duration) or duration <= 0:
        raise InputError(f"source {str(path)!r} reports no usable duration (got {fmt.get('duration')!r})")
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise InputError(f"source {str(path)!r} has a video stream without dimensions ({width}x{height})")
    if min(width, height) < MIN_SIDE:
        raise InputError(
            f"source {str(path)!r} is {width}x{height} video, too small to make a clip of: "
            f"clipmill needs at least {MIN_SIDE}x{MIN_SIDE} pixels"
        )
    if width * height > MAX_PIXELS:
        raise InputError(
            f"source {str(path)!r} declares {width}x{height} video ({width * height / 1e6:.1f} Mpx), more than "
            f"clipmill decodes ({MAX_PIXELS / 1e6:.1f} Mpx); scale it down to at most 8192x8192 first"
        )
    return MediaInfo(
        duration_s=duration,
        width=width,
        height=height,
        fps=_frame_rate(video),
        constant_frame_rate=_constant_frame_rate(video),
        rotation=_rotation(video),
        video_codec=str(video.get("codec_name", "unknown")),
        pix_fmt=str(video.get("pix_fmt", "unknown")),
        has_audio=audio is not None,
        audio_codec=audio.get("codec_name") if audio else None,
        audio_sample_rate=int(audio["sample_rate"]) if audio and audio.get("sample_rate") else None,
        audio_channels=int(audio["channels"]) if audio and audio.get("channels") else None,
        format_name=str(fmt.get("format_name", "unknown")),
        size_bytes=size_bytes,
    )


def _check_format(fmt: dict[str, Any], path: Path) -> None:
    """Refuse containers outside `SOURCE_FORMATS` (playlists, concat lists, image sequences, text)."""
    name = str(fmt.get("format_name", ""))
    if not set(name.split(",")) & set(SOURCE_FORMATS):
        raise InputError(
            f"source {str(path)!r} is in format {name or 'unknown'!r}, which clipmill does not read; "
            f"allowed containers: {', '.join(SOURCE_FORMATS)}"
        )


def _frame_rate(video: dict[str, Any]) -> str:
    """The stream's average frame rate as a rational string, falling back to r_frame_rate."""
    for key in ("avg_frame_rate", "r_frame_rate"):
        if rate := FrameRate.from_ffprobe(video.get(key)):
            return rate.text
    raise InputError(f"video stream has no usable frame rate (avg {video.get('avg_frame_rate')!r})")


def _constant_frame_rate(video: dict[str, Any]) -> bool:
    """Nominal and average frame rates agree (variable-frame-rate files differ)."""
    nominal, average = (FrameRate.from_ffprobe(video.get(key)) for key in ("r_frame_rate", "avg_frame_rate"))
    return nominal is not None and nominal == average


def _rotation(video: dict[str, Any]) -> int:
    """Display rotation in degrees (0, 90, 180, 270) from side data or the legacy tag."""
    for side in video.get("side_data_list", []):
        if "rotation" in side:
            return int(-float(side["rotation"])) % 360
    return int(float(video.get("tags", {}).get("rotate", 0))) % 360


def _first_number(*values: Any) -> float | None:
    for value in values:
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    return None


def _stream_kinds(streams: list[dict[str, Any]]) -> str:
    """What a file without a cuttable video stream holds, in words (a cover picture is not a video)."""
    kinds = [
        "a still cover picture" if s.get("disposition", {}).get("attached_pic")
        else f"{s.get('codec_type', 'unknown')} ({s.get('codec_name', '?')})"
        for s in streams
    ]
    if not kinds:
        return "it holds no streams"
    audio_file = "; it is an audio file" if any(s.get("codec_type") == "audio" for s in streams) else ""
    return f"it holds {', '.join(kinds)}{audio_file}"


def keyframe_times(
    path: Path, *, start_s: float = 0.0, duration_s: float | None = None, ffprobe: str = "ffprobe"
) -> list[float]:
    """Times of the first video stream's key frames inside ``[start_s, start_s + duration_s)``.

    Seconds from the start of the file (the timeline ``ffmpeg -ss`` uses), read from packet flags:
    the file is demuxed, not decoded, so this is cheap even for long sources.
    """
    _check_file(path)
    window = f"{max(0.0, start_s):.6f}%" + ("" if duration_s is None else f"+{duration_s:.6f}")
    command = [
        require(ffprobe), "-v", "error", *input_guard(), "-select_streams", "v:0", "-read_intervals", window,
        "-show_entries", "packet=pts_time,flags:format=start_time", "-of", "json", str(path),
    ]
    result = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, check=False)
    if result.returncode != 0:
        raise InputError(f"cannot read the key frames of {str(path)!r}: {stderr_tail(result.stderr)}")
    data = json.loads(result.stdout or b"{}")
    origin = _first_number(data.get("format", {}).get("start_time")) or 0.0
    end = math.inf if duration_s is None else start_s + duration_s
    times = [
        pts - origin
        for packet in data.get("packets", [])
        if "K" in packet.get("flags", "") and (pts := _first_number(packet.get("pts_time"))) is not None
    ]
    return sorted(t for t in times if start_s - SECONDS_RESOLUTION_S <= t < end)
