"""pyannote.audio segmentation model from a local checkpoint (never fetched from a hub)."""

from __future__ import annotations

import functools

import librosa
import numpy as np

from clipmill.local_models import local_model, missing_package

MODEL_SR = 16000
#: How the checkpoint is given: an environment variable of the process that runs the job
#: (clipmill.toml has no key for it; in Python, ``VadConfig(pyannote_model_path=...)`` works too).
SETTING = "the environment variable CLIPMILL_PYANNOTE_MODEL"


@functools.cache
def _load(path: str) -> object:
    try:
        from pyannote.audio import Inference, Model
    except ImportError as error:
        raise missing_package(
            "VAD backend 'pyannote'", "pyannote.audio", error=error, fallback="choose --vad silero",
            install="install pyannote.audio with a working torchaudio",
        ) from error
    model = Model.from_pretrained(path)
    return Inference(model, step=model.specifications.duration / 10)


def load(config) -> object:
    """The segmentation model at the configured local path, loaded once per process."""
    path = local_model(
        "VAD backend 'pyannote'", config.resolved_pyannote_path(), setting=SETTING, fallback="choose --vad silero",
        model="segmentation checkpoint (e.g. a downloaded pyannote/segmentation-3.0 pytorch_model.bin)",
    )
    return _load(str(path))


def probabilities(samples: np.ndarray, sr: int, model) -> tuple[np.ndarray, float]:
    """Frame-level speech probability (max over the model's speaker/powerset outputs) and the hop."""
    import torch

    if sr != MODEL_SR:
        samples = librosa.resample(samples, orig_sr=sr, target_sr=MODEL_SR)
    scores = model({"waveform": torch.from_numpy(samples)[None], "sample_rate": MODEL_SR})
    return np.asarray(scores.data).max(axis=1), scores.sliding_window.step
