"""Decoding a media file's first audio stream to 16 kHz mono float32, the analysis format."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile

from clipmill.errors import InputError
from clipmill.media.tool import input_guard, read_ahead, run

ANALYSIS_SAMPLE_RATE = 16_000


def decode_audio_args(
    path: Path, *, sample_rate: int, start_s: float = 0.0, duration_s: float | None = None, ffmpeg: str = "ffmpeg"
) -> list[str]:
    """ffmpeg arguments that write raw little-endian float32 mono samples to stdout."""
    window = (["-ss", f"{start_s:.6f}"] if start_s > 0 else []) + (["-t", f"{duration_s:.6f}"] if duration_s else [])
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
        *input_guard(), *window, "-i", str(path),
        "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "pipe:1",
    ]


def decode_audio(
    path: Path, *, has_audio: bool, sample_rate: int = ANALYSIS_SAMPLE_RATE, start_s: float = 0.0,
    duration_s: float | None = None, ffmpeg: str = "ffmpeg",
) -> np.ndarray:
    """The first audio stream of `path` as a float32 array in [-1, 1] at `sample_rate`.

    Lossy decoders overshoot full scale on clipped sources; such samples are clipped to ±1, where
    a clipping measure will find them.

    `has_audio` comes from the probe: a file without audio is an `InputError`, not an empty array,
    so audio stages can report "no audio track" instead of analysing silence.
    """
    if not has_audio:
        raise InputError(f"{path.name!r} has no audio track")
    args = decode_audio_args(path, sample_rate=sample_rate, start_s=start_s, duration_s=duration_s, ffmpeg=ffmpeg)
    return _samples(run(args, what=f"decoding audio of {path.name}").stdout)


def stream_audio(
    path: Path, *, has_audio: bool, chunk_samples: int, sample_rate: int = ANALYSIS_SAMPLE_RATE, ffmpeg: str = "ffmpeg",
) -> Iterator[np.ndarray]:
    """`decode_audio` of the whole file in consecutive pieces of `chunk_samples` (the last shorter).

    ffmpeg decodes the next piece while the caller analyses this one: over a long source the
    decode leaves the critical path, and memory holds two pieces, not the whole source.
    """
    if not has_audio:
        raise InputError(f"{path.name!r} has no audio track")
    args = decode_audio_args(path, sample_rate=sample_rate, ffmpeg=ffmpeg)
    for piece in read_ahead(args, what=f"decoding audio of {path.name}", chunk_bytes=4 * chunk_samples):
        yield _samples(piece)


def _samples(raw: bytes) -> np.ndarray:
    """Float32 samples from ffmpeg's little-endian f32 output, clipped to [-1, 1] (lossy decoders
    overshoot full scale on clipped sources)."""
    samples = np.frombuffer(raw, dtype="<f4").astype(np.float32, copy=True)
    return np.clip(samples, -1.0, 1.0, out=samples)


def to_wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """32-bit float WAV bytes: how decoded analysis audio is stored between stages."""
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, sample_rate, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def from_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    """Samples (float32, mono) and sample rate of WAV bytes written by `to_wav_bytes`."""
    samples, sample_rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=False)
    return samples, int(sample_rate)
