"""Test media generated with real ffmpeg from the repository's sample (nothing binary committed)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def without_audio(sample: Path, target: Path) -> Path:
    ffmpeg("-i", str(sample), "-t", "8", "-map", "0:v:0", "-c", "copy", str(target))
    return target


def audio_only(sample: Path, target: Path) -> Path:
    ffmpeg("-i", str(sample), "-t", "5", "-vn", "-c:a", "pcm_s16le", str(target))
    return target


def empty(target: Path) -> Path:
    target.write_bytes(b"")
    return target


def random_bytes(target: Path, size: int = 200_000) -> Path:
    target.write_bytes(os.urandom(size))
    return target


def truncated(sample: Path, target: Path, *, fraction: float, faststart: bool) -> Path:
    """`sample` remuxed with the index at the start (faststart) or the end, then cut at `fraction`."""
    full = target.with_name(target.stem + "-full.mp4")
    ffmpeg("-i", str(sample), "-c", "copy", *(["-movflags", "+faststart"] if faststart else []), str(full))
    data = full.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    full.unlink()
    return target


def ntsc_test_pattern(target: Path, *, seconds: float = 6.0) -> Path:
    """Synthetic 29.97 fps video with a tone: the frame-grid case that drifts when handled as 29.97."""
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=30000/1001:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(target),
    )
    return target
