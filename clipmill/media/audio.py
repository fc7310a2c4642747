"""Decoding a media file's first audio stream to 16 kHz mono float32, the analysis format."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clipmill.errors import InputError
from clipmill.media.tool import PROTOCOL_WHITELIST, run

ANALYSIS_SAMPLE_RATE = 16_000


def decode_audio_args(path: Path, *, sample_rate: int, ffmpeg: str = "ffmpeg") -> list[str]:
    """ffmpeg arguments that write raw little-endian float32 mono samples to stdout."""
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-protocol_whitelist", PROTOCOL_WHITELIST, "-i", str(path),
        "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "pipe:1",
    ]


def decode_audio(path: Path, *, has_audio: bool, sample_rate: int = ANALYSIS_SAMPLE_RATE, ffmpeg: str = "ffmpeg") -> np.ndarray:
    """The first audio stream of `path` as a float32 array in [-1, 1] at `sample_rate`.

    Lossy decoders overshoot full scale on clipped sources; such samples are clipped to ±1, where
    a clipping measure will find them.

    `has_audio` comes from the probe: a file without audio is an `InputError`, not an empty array,
    so audio stages can report "no audio track" instead of analysing silence.
    """
    if not has_audio:
        raise InputError(f"{path.name!r} has no audio track")
    result = run(decode_audio_args(path, sample_rate=sample_rate, ffmpeg=ffmpeg), what=f"decoding audio of {path.name}")
    samples = np.frombuffer(result.stdout, dtype="<f4").astype(np.float32, copy=True)
    return np.clip(samples, -1.0, 1.0, out=samples)
