"""Silero VAD: the model ships inside the ``silero-vad`` package (no download)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import librosa
import numpy as np

from clipmill.errors import ModelUnavailable
from clipmill.local_models import missing_package

MODEL_SR = 16000
#: silero scores 512-sample chunks at 16 kHz, each seen with the 64 samples before it
CHUNK = 512
CONTEXT = 64
HOP_S = CHUNK / MODEL_SR
#: the model ``silero_vad.load_silero_vad(onnx=True)`` opens (opset 16)
ONNX_MODEL = "silero_vad.onnx"


def _no_silero(error: ImportError | None = None) -> ModelUnavailable:
    return missing_package(
        "VAD backend 'silero'", "silero-vad", error=error, install="pip install silero-vad torch==2.13.0",
        fallback="choose another backend with --vad / VadConfig",
    )


@functools.cache
def _load(onnx: bool) -> object:
    """silero's ONNX model as an onnxruntime session, or its TorchScript model (imports torch)."""
    if onnx:
        return _onnx_session()
    try:
        from silero_vad import load_silero_vad
    except ImportError as error:
        raise _no_silero(error) from error
    return load_silero_vad(onnx=False)


def _onnx_session() -> object:
    """The ONNX model straight from silero-vad's data folder, the way its own wrapper opens it.

    Finding the file without importing the package keeps torch (which silero-vad imports) out of
    the process: about a second saved on every clip job's first VAD call.
    """
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise _no_silero()
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / ONNX_MODEL
    if not path.is_file():
        raise ModelUnavailable(f"silero-vad has no {ONNX_MODEL} at {path}; reinstall silero-vad")
    try:
        import onnxruntime
    except ImportError as error:
        raise ModelUnavailable(
            f"silero-vad could not load its ONNX model ({error}); install onnxruntime or set "
            "VadConfig.silero_onnx=False"
        ) from error
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def load(config) -> object:
    """The silero model, loaded once per process (ONNX when onnxruntime is installed, unless
    ``config.silero_onnx`` says otherwise)."""
    onnx = config.silero_onnx
    if onnx is None:
        onnx = importlib.util.find_spec("onnxruntime") is not None
    return _load(onnx)


def onnx_probabilities(session, samples: np.ndarray) -> np.ndarray:
    """Speech probability per 512-sample chunk from silero's ONNX session at 16 kHz.

    The same inputs as silero-vad's ``OnnxWrapper.audio_forward`` (zero-padded last chunk,
    64 samples of context, recurrent state carried over), fed as numpy without its per-chunk
    torch conversions.
    """
    n_chunks = -(-len(samples) // CHUNK)
    padded = np.zeros(CONTEXT + n_chunks * CHUNK, dtype=np.float32)
    padded[CONTEXT : CONTEXT + len(samples)] = samples
    windows = np.lib.stride_tricks.sliding_window_view(padded, CONTEXT + CHUNK)[::CHUNK]
    state = np.zeros((2, 1, 128), dtype=np.float32)
    rate = np.array(MODEL_SR, dtype=np.int64)
    probabilities = np.empty(n_chunks, dtype=np.float32)
    for i, window in enumerate(windows):
        out, state = session.run(None, {"input": window[None], "state": state, "sr": rate})
        probabilities[i] = out[0, 0]
    return probabilities


def probabilities(samples: np.ndarray, sr: int, model) -> tuple[np.ndarray, float]:
    """Speech probability per 32 ms chunk (chunk ``i`` starts at ``i * HOP_S``) and the hop."""
    if sr != MODEL_SR:
        samples = librosa.resample(samples, orig_sr=sr, target_sr=MODEL_SR)
    if hasattr(model, "get_inputs"):  # an onnxruntime session
        return onnx_probabilities(model, samples), HOP_S
    import torch

    with torch.inference_mode():
        return model.audio_forward(torch.from_numpy(samples)[None], MODEL_SR)[0].numpy(), HOP_S
