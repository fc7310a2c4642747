"""Test media generated with real ffmpeg from the repository's sample (nothing binary committed)."""

from __future__ import annotations

import random
import struct
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


def random_bytes(target: Path, size: int = 200_000, *, seed: int = 0) -> Path:
    """`size` bytes of noise, the same each run: fresh noise now and then looks like the start of some
    container ffmpeg knows (seen once in CI: "not in an allowed container format" instead of "not
    readable media"), which makes a test of garbage input flaky."""
    target.write_bytes(random.Random(seed).randbytes(size))
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


def synthetic(target: Path, *, size: str = "320x240", rate: str = "25", seconds: float = 3.0,
              video: tuple[str, ...] = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
              extra_audio: int = 0) -> Path:
    """A test pattern with a 440 Hz tone (and `extra_audio` more tone streams), encoded with `video`."""
    tones = [("-f", "lavfi", "-i", f"sine=frequency={440 + 220 * i}:duration={seconds}:sample_rate=48000")
             for i in range(1 + extra_audio)]
    maps = [arg for i in range(1 + extra_audio) for arg in ("-map", f"{i + 1}:a")]
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
           *(arg for tone in tones for arg in tone), "-map", "0:v", *maps, *video, "-c:a", "aac", "-shortest",
           str(target))
    return target


def variable_frame_rate(target: Path, *, seconds: float = 4.0) -> Path:
    """Frames dropped irregularly from a 30 fps pattern and kept with their own timestamps (VFR)."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=30:duration={seconds}",
           "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000",
           "-vf", r"select='not(mod(n\,3))+lt(mod(n\,7)\,2)'", "-fps_mode", "vfr",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(target))
    return target


def rotated(target: Path, *, degrees: int = 90, seconds: float = 3.0) -> Path:
    """A landscape 320x240 video (white box top-left) tagged to display rotated, as phones record."""
    coded = target.with_name(target.stem + "-coded.mp4")
    ffmpeg("-f", "lavfi", "-i", f"color=c=black:size=320x240:rate=25:duration={seconds}",
           "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000",
           "-vf", "drawbox=x=0:y=0:w=120:h=80:color=white:t=fill",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(coded))
    ffmpeg("-i", str(coded), "-map", "0", "-c", "copy", "-metadata:s:v", f"rotate={degrees}", str(target))
    coded.unlink()
    return target


def rotation_tagged(sample: Path, target: Path, *, degrees: int = 180) -> Path:
    """`sample` stream-copied with a display rotation tag: the same packets, but frames that cannot be
    cut in place, so a clip job reads them through the extracted segment."""
    ffmpeg("-i", str(sample), "-map", "0", "-c", "copy", "-metadata:s:v", f"rotate={degrees}", str(target))
    return target


def moov_missing(sample: Path, target: Path) -> Path:
    """`sample` remuxed as mp4 with its ``moov`` box (the index) cut out: data without a header."""
    full = target.with_name(target.stem + "-full.mp4")
    ffmpeg("-i", str(sample), "-t", "5", "-c", "copy", str(full))
    data, kept, offset = full.read_bytes(), bytearray(), 0
    while offset + 8 <= len(data):
        size = struct.unpack(">I", data[offset:offset + 4])[0] or len(data) - offset
        if data[offset + 4:offset + 8] != b"moov":
            kept += data[offset:offset + size]
        offset += size
    target.write_bytes(bytes(kept))
    full.unlink()
    return target


def huge_dimensions(target: Path, *, width: int, height: int) -> Path:
    """A tiny raw-video mov whose headers (stsd, tkhd) declare `width` x `height`."""
    small = target.with_name(target.stem + "-small.mov")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10:duration=0.5", "-c:v", "rawvideo",
           "-pix_fmt", "rgb24", str(small))
    data = bytearray(small.read_bytes())
    entry = data.find(b"stsd") + 12
    struct.pack_into(">HH", data, entry + 32, width, height)
    struct.pack_into(">II", data, data.find(b"tkhd") + 80, width << 16, height << 16)
    target.write_bytes(bytes(data))
    small.unlink()
    return target


def hls_playlist(target: Path, *, references: list[str]) -> Path:
    """An HLS playlist (text) under a video's name: the classic ffmpeg local-file-read vector."""
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:10", "#EXT-X-MEDIA-SEQUENCE:0"]
    for reference in references:
        lines += ["#EXTINF:10.0,", reference]
    target.write_text("\n".join([*lines, "#EXT-X-ENDLIST", ""]))
    return target


def with_still_picture(audio: Path, target: Path, *, size: str = "320x240") -> Path:
    """A video of `audio` over a plain picture: real speech in a container the clip job accepts."""
    ffmpeg(
        "-f", "lavfi", "-i", f"color=c=0x336699:size={size}:rate=25", "-i", str(audio),
        "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(target),
    )
    return target


def ntsc_bursts(target: Path, *, seconds: float = 40.0) -> Path:
    """29.97 fps picture with 2 s of sound then 1 s of silence, repeated: many cuts on the NTSC grid."""
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=30000/1001:duration={seconds}",
        "-f", "lavfi", "-i",
        f"aevalsrc='0.3*sin(2*PI*220*t)*(1+0.5*sin(2*PI*3*t))*lt(mod(t,3),2)':s=48000:d={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(target),
    )
    return target


def one_pixel(target: Path, *, seconds: float = 1.0) -> Path:
    """A 1x1 video (raw RGB in a mov): legal in the container, too small for a 4:2:0 encoder."""
    ffmpeg("-f", "lavfi", "-i", f"color=c=red:size=16x16:rate=25:duration={seconds}", "-vf", "scale=1:1",
           "-c:v", "rawvideo", "-pix_fmt", "rgb24", str(target))
    return target


def with_cover_art(sample: Path, target: Path) -> Path:
    """An m4a of the sample's sound carrying a still cover picture (an ``attached_pic`` video stream)."""
    ffmpeg("-i", str(sample), "-f", "lavfi", "-i", "color=c=blue:size=64x64:duration=1", "-t", "4",
           "-map", "0:a:0", "-map", "1:v:0", "-frames:v", "1", "-c:a", "aac", "-c:v", "png",
           "-disposition:v:0", "attached_pic", str(target))
    return target


def damaged(sample: Path, target: Path, *, at: tuple[float, ...] = (0.30, 0.32, 0.34), length: int = 20_000) -> Path:
    """`sample` with `length` bytes overwritten (seeded noise) at each fraction of its size: the
    container is intact, the H.264 and AAC data in that stretch (about 10-11 s in) is not."""
    data = bytearray(sample.read_bytes())
    noise = random.Random(21)
    for fraction in at:
        offset = int(len(data) * fraction)
        data[offset:offset + length] = bytes(noise.getrandbits(8) for _ in range(length))
    target.write_bytes(bytes(data))
    return target
