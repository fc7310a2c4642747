"""Silero VAD: the model ships inside the ``silero-vad`` package (no download)."""

from __future__ import annotations

import functools

import librosa
import numpy as np

from clipmill.audio.profile import AudioProfile
from clipmill.audio.vad_backends import hysteresis
from clipmill.errors import ModelUnavailable

MODEL_SR = 16000
#: silero scores 512-sample chunks at 16 kHz
HOP_S = 512 / MODEL_SR


@functools.cache
def _load(onnx: bool) -> object:
    try:
        from silero_vad import load_silero_vad
    except ImportError as error:
        raise ModelUnavailable(
            "VAD backend 'silero' needs the silero-vad package (pip install silero-vad "
            "torch==2.13.0); or choose another backend with --vad / VadConfig"
        ) from error
    try:
        return load_silero_vad(onnx=onnx)
    except ImportError as error:
        raise ModelUnavailable(
            f"silero-vad could not load its {'ONNX' if onnx else 'TorchScript'} model "
            f"({error}); install onnxruntime or set VadConfig.silero_onnx=False"
        ) from error


def load(config) -> object:
    """The silero model, loaded once per process."""
    return _load(config.silero_onnx)


def activity(
    samples: np.ndarray, sr: int, model, *, config, profile: AudioProfile
) -> tuple[np.ndarray, float]:
    """Speech probabilities per 32 ms chunk, thresholded with hysteresis."""
    import torch

    if sr != MODEL_SR:
        samples = librosa.resample(samples, orig_sr=sr, target_sr=MODEL_SR)
    with torch.inference_mode():
        probabilities = model.audio_forward(torch.from_numpy(samples)[None], MODEL_SR)[0].numpy()
    return hysteresis(probabilities, config.threshold, config.neg_threshold), HOP_S
