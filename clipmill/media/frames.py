"""Streaming decoded video frames in fixed-size chunks through an ffmpeg pipe.

Memory is bounded by a few chunks (frames × height × width × 3 bytes, × 1.5 for planar YUV, × 1 for grey),
never by the video's length: frames are read from ffmpeg's stdout as they are decoded, nothing is
written to disk. A `FrameReader` reads the next chunk on a thread while its caller works on the last one,
so ffmpeg decodes beside the caller instead of waiting on a full pipe; a `ReaderShelf` keeps a reader
between callers, so the next chunk of a range continues its decode instead of seeking (and decoding from
the key frame before it) again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clipmill.errors import InputError, InternalError
from clipmill.media.tool import input_guard, read_ahead

__all__ = ["PIXEL_FORMATS", "FrameChunk", "FrameReader", "ReaderShelf", "frame_args", "iter_frame_chunks"]


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


class FrameReader:
    """One ffmpeg decode of `path` from `start_s`, read `chunk_frames` at a time on a thread, one chunk ahead.

    `read` hands out the frames in order, stamped ``start_s + i / fps`` (frame ``i`` of the decode) unless
    `resume_at` restamped them; the last `keep_frames` frames handed out are kept, so a caller whose work
    overlaps the previous caller's (chunks sharing frames) can step back onto them. `close` stops ffmpeg.
    """

    def __init__(
        self, path: Path, *, fps: float, size: tuple[int, int], start_s: float = 0.0, duration_s: float | None = None,
        ffmpeg: str = "ffmpeg", pix_fmt: str = "rgb24", chunk_frames: int = 64, keep_frames: int = 0,
    ) -> None:
        if fps <= 0 or chunk_frames <= 0 or min(size) <= 0:
            raise InputError(f"frame sampling needs positive fps, size and chunk size (got {fps}, {size}, {chunk_frames})")
        if pix_fmt not in PIXEL_FORMATS:
            raise InternalError(f"pix_fmt must be one of {sorted(PIXEL_FORMATS)}, got {pix_fmt!r}")
        width, height = size
        if pix_fmt == "yuv420p" and (width % 2 or height % 2):
            raise InternalError(f"yuv420p frames need an even size, got {width}x{height}")
        self.key = self.key_of(path, fps=fps, size=size, pix_fmt=pix_fmt, ffmpeg=ffmpeg)
        self.path, self.fps, self.start_s, self.keep_frames = Path(path), float(fps), float(start_s), keep_frames
        channels = 3 if pix_fmt == "rgb24" else 1
        self._shape = (int(height * PIXEL_FORMATS[pix_fmt]), width) + ((channels,) if channels > 1 else ())
        self._frame_bytes = int(np.prod(self._shape))
        self.position = 0  # frames of the decode handed out so far
        self._stamp = (self.start_s, 0)  # (time, decode index) that `read` stamps times from
        self._pending = np.zeros((0, *self._shape), np.uint8)  # read from ffmpeg (or stepped back onto), not handed out
        self._recent = self._pending  # the last `keep_frames` frames handed out
        command = frame_args(path, fps=fps, size=size, start_s=start_s, duration_s=duration_s, ffmpeg=ffmpeg, pix_fmt=pix_fmt)
        self._decoded = read_ahead(
            command, what=f"decoding frames of {self.path.name}", chunk_bytes=self._frame_bytes * chunk_frames)
        self.parked_at = time.monotonic()

    @staticmethod
    def key_of(path: Path, *, fps: float, size: tuple[int, int], pix_fmt: str, ffmpeg: str) -> tuple:
        """What two decodes must share for one to stand in for the other: file, rate, size, format, binary."""
        return str(path), float(fps), tuple(size), pix_fmt, ffmpeg

    def read(self, max_frames: int | None = None) -> FrameChunk | None:
        """The next frames (at most `max_frames`, at most a chunk), or ``None`` after the last one."""
        if not len(self._pending):
            data = next(self._decoded, b"")
            count = len(data) // self._frame_bytes
            self._pending = np.frombuffer(data[: count * self._frame_bytes], np.uint8).reshape(count, *self._shape)
        if not len(self._pending):
            return None
        count = len(self._pending) if max_frames is None else min(max_frames, len(self._pending))
        frames, self._pending = self._pending[:count], self._pending[count:]
        stamp_s, stamp_index = self._stamp
        times = stamp_s + (self.position - stamp_index + np.arange(count)) / self.fps
        self.position += count
        if self.keep_frames:
            self._recent = np.concatenate([self._recent, frames])[-self.keep_frames :].copy()
        return FrameChunk(times_s=times, frames=frames)

    def resume_at(self, start_s: float) -> bool:
        """Step back onto the kept frames so the next `read` starts at `start_s` (of the file), stamped from it.

        Returns ``False``, changing nothing, when `start_s` is not a frame between the oldest kept frame
        and the next one to read.
        """
        index = (start_s - self.start_s) * self.fps
        back = self.position - int(round(index))
        if abs(index - round(index)) > 1e-3 or not 0 <= back <= len(self._recent):
            return False
        if back:
            self._pending = np.concatenate([self._recent[-back:], self._pending])
            self._recent = self._recent[:-back]
        self.position -= back
        self._stamp = (float(start_s), self.position)
        return True

    def close(self) -> None:
        """Stop ffmpeg and the reading thread."""
        self._decoded.close()


class ReaderShelf:
    """Readers parked between callers, at most `capacity`, each for at most `max_idle_s`.

    A caller decoding frames from ``start_s`` takes a parked reader of the same file, rate, size and
    format that can resume there (`FrameReader.resume_at`), and parks it again when done, so consecutive
    chunks of one range share one decode. Whatever is parked longest goes first when the shelf is full.
    """

    def __init__(self, *, capacity: int = 2, max_idle_s: float = 60.0) -> None:
        self.capacity, self.max_idle_s = capacity, max_idle_s
        self._parked: list[FrameReader] = []
        self._lock = threading.Lock()

    def take(self, key: tuple, start_s: float) -> FrameReader | None:
        """A parked reader with `key` (see `FrameReader.key`) resumed at `start_s`, off the shelf; or ``None``."""
        with self._lock:
            self._expire()
            for reader in self._parked:
                if reader.key == key and reader.resume_at(start_s):
                    self._parked.remove(reader)
                    return reader
        return None

    def park(self, reader: FrameReader) -> None:
        """Keep `reader` for the next caller (the oldest parked one is closed when the shelf is full)."""
        reader.parked_at = time.monotonic()
        with self._lock:
            self._parked.append(reader)
            self._expire()
            while len(self._parked) > self.capacity:
                self._parked.pop(0).close()

    def close_all(self) -> None:
        """Close every parked reader."""
        with self._lock:
            while self._parked:
                self._parked.pop().close()

    def _expire(self) -> None:
        now = time.monotonic()
        for reader in [r for r in self._parked if now - r.parked_at > self.max_idle_s]:
            self._parked.remove(reader)
            reader.close()


def iter_frame_chunks(
    path: Path, *, fps: float, size: tuple[int, int], chunk_frames: int = 64, start_s: float = 0.0,
    duration_s: float | None = None, ffmpeg: str = "ffmpeg", pix_fmt: str = "rgb24",
) -> Iterator[FrameChunk]:
    """Yield frames of `path` sampled at `fps`, scaled to `size`, `chunk_frames` at a time.

    ``pix_fmt`` ``rgb24`` gives ``(N, H, W, 3)`` frames, ``gray`` ``(N, H, W)``, ``yuv420p`` I420
    ``(N, H * 3 // 2, W)`` (even `size` only; ``cv2.cvtColor(frame, cv2.COLOR_YUV2RGB_I420)`` makes one RGB).

    Frame ``i`` is stamped ``start_s + i / fps``, matching ffmpeg's fps filter. The next chunk is decoded
    while the caller works on this one. Closing the iterator early stops ffmpeg.
    """
    reader = FrameReader(
        path, fps=fps, size=size, start_s=start_s, duration_s=duration_s, ffmpeg=ffmpeg, pix_fmt=pix_fmt,
        chunk_frames=chunk_frames,
    )
    try:
        while (part := reader.read()) is not None:
            yield part
    finally:
        reader.close()
