"""Running ffmpeg and ffprobe: one place that turns their failures into clipmill errors."""

from __future__ import annotations

import functools
import logging
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from clipmill.errors import InputError, InternalError, ToolError
from clipmill.space import out_of_space

log = logging.getLogger(__name__)

#: Inputs ffmpeg may open: plain files and pipes. No network, no concat/subfile/playlist tricks.
PROTOCOL_WHITELIST = "file,pipe"

#: Demuxers an input may be read with: real containers only. Playlists (hls), the concat demuxer,
#: image sequences (image2), tty/txt and lavfi are not on it, so a file that *contains* a
#: playlist (an ``.mp4``-named m3u8 pointing at other local files) is refused before it is read.
SOURCE_FORMATS = (
    "mov", "mp4", "m4a", "3gp", "matroska", "webm", "mpeg", "mpegts", "avi", "flv", "ogg", "wav", "flac",
    "mp3", "aac",
)
FORMAT_WHITELIST = ",".join(SOURCE_FORMATS)


def input_guard() -> list[str]:
    """Input options that confine ffmpeg/ffprobe to local files and pipes in real container formats."""
    return ["-protocol_whitelist", PROTOCOL_WHITELIST, "-format_whitelist", FORMAT_WHITELIST]


def require(binary: str) -> str:
    """Absolute path of `binary`, or a `ToolError` saying how to install it."""
    path = shutil.which(binary)
    if path is None:
        raise ToolError(
            f"{binary!r} was not found on PATH; install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg) "
            "or set CLIPMILL_FFMPEG / CLIPMILL_FFPROBE to its location"
        )
    return path


def run(args: Sequence[str], *, what: str) -> subprocess.CompletedProcess[bytes]:
    """Run a tool to completion; raise `ToolError` with the tail of its stderr when it fails."""
    command = [require(args[0]), *args[1:]]
    log.debug("running %s", " ".join(command))
    result = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, check=False)
    if result.returncode != 0 and b"No space left on device" in result.stderr:
        raise out_of_space(Path(command[-1]).parent, what)
    if result.returncode != 0:
        raise ToolError(f"{what} failed (exit {result.returncode}): {stderr_tail(result.stderr)}")
    return result


def read_ahead(args: Sequence[str], *, what: str, chunk_bytes: int) -> Iterator[bytes]:
    """A tool's stdout in pieces of `chunk_bytes` (the last shorter), read one piece ahead.

    A thread keeps reading while the caller works on the piece it was given, so the tool (a
    decoder, in its own process) runs beside the caller's computation instead of waiting on a
    full pipe; memory stays at two pieces. Raises `ToolError` with the tail of its stderr when it
    fails; closing the iterator early stops the tool.
    """
    if chunk_bytes <= 0:
        raise InternalError(f"chunk_bytes must be positive, got {chunk_bytes}")
    command = [require(args[0]), *args[1:]]
    log.debug("running %s", " ".join(command))
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL)
        pieces: queue.Queue[bytes | OSError] = queue.Queue(maxsize=1)
        stop = threading.Event()

        def hand_over(piece: bytes | OSError) -> None:
            while not stop.is_set():
                try:
                    pieces.put(piece, timeout=0.1)
                    return
                except queue.Full:
                    continue

        def read() -> None:
            assert process.stdout is not None
            while not stop.is_set():
                try:
                    piece = process.stdout.read(chunk_bytes)
                except OSError as exc:
                    hand_over(exc)
                    return
                hand_over(piece)
                if len(piece) < chunk_bytes:
                    return

        reader = threading.Thread(target=read, name=f"read-ahead {command[0]}", daemon=True)
        reader.start()
        try:
            while True:
                piece = pieces.get()
                if isinstance(piece, OSError):
                    raise ToolError(f"{what} failed: reading its output: {piece}")
                if piece:
                    yield piece
                if len(piece) < chunk_bytes:
                    break
            if process.wait() != 0:
                stderr.seek(0)
                raise ToolError(f"{what} failed (exit {process.returncode}): {stderr_tail(stderr.read())}")
        finally:
            stop.set()
            if process.poll() is None:
                process.kill()
            process.wait()
            reader.join()
            if process.stdout is not None:
                process.stdout.close()


@dataclass(frozen=True)
class DecodeReport:
    """What a decoder complained about while reading a source that it still got through."""

    errors: int = 0
    first: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"decode_errors": self.errors, "first_decode_error": self.first}


def decode_report(stderr: bytes) -> DecodeReport:
    """Count the error lines of a *successful* ffmpeg run at ``-loglevel error``: with a damaged
    source they are the decoders' reports (``error while decoding MB``, ``Invalid NAL unit size``,
    AAC ``Reserved bit set``); on intact media there are none."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return DecodeReport(errors=len(lines), first=lines[0].encode("ascii", "backslashreplace").decode() if lines else None)


def check_decoded(report: DecodeReport, *, source: str, start_s: float, end_s: float, allowed: bool) -> None:
    """Refuse a range the decoders reported errors in, unless the request allows them (`allowed`)."""
    if report.errors and not allowed:
        raise InputError(
            f"source {source!r} has {report.errors} decode errors in {start_s:.3f}-{end_s:.3f} s (first: "
            f"{report.first}): the file is damaged there; copy or export it again, or set "
            "allow_decode_errors=true to publish anyway with the count in the manifest"
        )


def stderr_tail(stderr: bytes, lines: int = 6) -> str:
    """The last meaningful lines of a tool's stderr, joined on one line."""
    text = stderr.decode("utf-8", "replace").strip().splitlines()
    return " | ".join(line.strip() for line in text[-lines:]) or "no error output"


@functools.cache
def tool_version(binary: str) -> str:
    """First line of `binary -version`, e.g. ``ffmpeg version 5.1.6-0+deb12u1``."""
    result = run([binary, "-version"], what=f"{binary} -version")
    first = result.stdout.decode("utf-8", "replace").splitlines()[0]
    parts = first.split()
    return parts[2] if len(parts) > 2 else first
