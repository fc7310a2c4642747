"""WebRTC VAD (Google's GMM detector from the ``webrtcvad-wheels`` package)."""

from __future__ import annotations

import functools

import librosa
import numpy as np

from clipmill.audio.profile import AudioProfile
from clipmill.local_models import missing_package

SUPPORTED_SR = (8000, 16000, 32000, 48000)


@functools.cache
def _module():
    try:
        import webrtcvad
    except ImportError as error:
        raise missing_package(
            "VAD backend 'webrtc'", "webrtcvad-wheels", install="pip install webrtcvad-wheels",
            fallback="choose another backend with --vad / VadConfig",
        ) from error
    return webrtcvad


def load(config) -> object:
    """A webrtcvad detector at the configured aggressiveness (cheap; the module is cached)."""
    return _module().Vad(config.webrtc_mode)


def activity(
    samples: np.ndarray, sr: int, model, *, config, profile: AudioProfile,
    spectrogram: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, float]:
    """One speech decision per 10/20/30 ms frame of 16-bit PCM."""
    if sr not in SUPPORTED_SR:
        samples = librosa.resample(samples, orig_sr=sr, target_sr=16000)
        sr = 16000
    frame = round(config.webrtc_frame_s * sr)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    pcm = np.pad(pcm, (0, -len(pcm) % frame)).tobytes()
    step = frame * 2
    mask = np.fromiter(
        (model.is_speech(pcm[i : i + step], sr) for i in range(0, len(pcm), step)),
        dtype=bool,
    )
    return mask, frame / sr
