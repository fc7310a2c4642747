"""Streaming decoded video frames in fixed-size chunks through an ffmpeg pipe.

Memory is bounded by one chunk (frames × height × width × 3 bytes, × 1.5 for planar YUV, × 1 for grey),
never by the video's length: frames are read from ffmpeg's stdout as they are decoded, nothing is
written to disk.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clipmill.errors import InputError, InternalError, ToolError
from clipmill.media.tool import input_guard, require, stderr_tail


@dataclass(frozen=True)
class FrameChunk:
    """Consecutive decoded frames and their times in seconds: RGB uint8 ``(N, H, W, 3)``, grey ``(N, H, W)``,
    or planar I420 ``(N, H * 3 // 2, W)`` (the luma rows, then the quarter-size U and V planes)."""

    times_s: np.ndarray
    frames: np.ndarray

    def __len__(self) -> int:
        return len(self.times_s)


#: raw pixel formats frames can be read in, and the rows each frame's array has per row of picture
PIXEL_FORMATS = {"rgb24": 1.0, "gray": 1.0, "yuv420p": 1.5}


def frame_args(
    path: Path, *, fps: float, size: tuple[int, int], start_s: float = 0.0, duration_s: float | None = None,
    ffmpeg: str = "ffmpeg", pix_fmt: str = "rgb24",
) -> list[str]:
    """ffmpeg arguments that resample `path` to `fps` and `size` and write raw `pix_fmt` to stdout.

    ``gray`` is the decoder's own luma plane: no colour conversion, a third of the bytes; ``yuv420p``
    the decoder's own planes, half the bytes of RGB and no conversion of frames nobody looks at in colour.
    """
    width, height = size
    window = (["-ss", f"{start_s:.6f}"] if start_s > 0 else []) + (["-t", f"{duration_s:.6f}"] if duration_s else [])
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
        *input_guard(), *window, "-i", str(path),
        "-map", "0:v:0", "-an", "-vf", f"fps={fps},scale={width}:{height}:flags=area",
        "-pix_fmt", pix_fmt, "-f", "rawvideo", "pipe:1",
    ]


def iter_frame_chunks(
    path: Path, *, fps: float, size: tuple[int, int], chunk_frames: int = 64, start_s: float = 0.0,
    duration_s: float | None = None, ffmpeg: str = "ffmpeg", pix_fmt: str = "rgb24",
) -> Iterator[FrameChunk]:
    """Yield frames of `path` sampled at `fps`, scaled to `size`, `chunk_frames` at a time.

    ``pix_fmt`` ``rgb24`` gives ``(N, H, W, 3)`` frames, ``gray`` ``(N, H, W)``, ``yuv420p`` I420
    ``(N, H * 3 // 2, W)`` (even `size` only; ``cv2.cvtColor(frame, cv2.COLOR_YUV2RGB_I420)`` makes one RGB).

    Frame ``i`` is stamped ``start_s + i / fps``, matching ffmpeg's fps filter. Closing the
    iterator early stops ffmpeg.
    """
    if fps <= 0 or chunk_frames <= 0 or min(size) <= 0:
        raise InputError(f"frame sampling needs positive fps, size and chunk size (got {fps}, {size}, {chunk_frames})")
    if pix_fmt not in PIXEL_FORMATS:
        raise InternalError(f"pix_fmt must be one of {sorted(PIXEL_FORMATS)}, got {pix_fmt!r}")
    width, height = size
    if pix_fmt == "yuv420p" and (width % 2 or height % 2):
        raise InternalError(f"yuv420p frames need an even size, got {width}x{height}")
    channels = 3 if pix_fmt == "rgb24" else 1
    rows = int(height * PIXEL_FORMATS[pix_fmt])
    frame_bytes = width * rows * channels
    command = frame_args(
        path, fps=fps, size=size, start_s=start_s, duration_s=duration_s, ffmpeg=ffmpeg, pix_fmt=pix_fmt
    )
    command[0] = require(command[0])
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    index = 0
    try:
        assert process.stdout is not None
        while True:
            data = process.stdout.read(frame_bytes * chunk_frames)
            count = len(data) // frame_bytes
            if count:
                shape = (count, rows, width) + ((channels,) if channels > 1 else ())
                frames = np.frombuffer(data[: count * frame_bytes], dtype=np.uint8).reshape(shape)
                times = start_s + (index + np.arange(count)) / fps
                index += count
                yield FrameChunk(times_s=times, frames=frames)
            if len(data) < frame_bytes * chunk_frames:
                break
        stderr = process.stderr.read() if process.stderr else b""
        if process.wait() != 0:
            raise ToolError(f"decoding frames of {path.name} failed: {stderr_tail(stderr)}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
