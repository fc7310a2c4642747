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
#: silero's 16 kHz model over a whole sequence of chunks per call (silero-vad >= 6.2.2): the weights of the
#: per-chunk ``silero_vad.onnx`` that ``load_silero_vad(onnx=True)`` opens, and the same probabilities to the
#: bit, but its convolutions run over every chunk at once and its LSTM inside onnxruntime instead of one
#: Python call per 32 ms chunk (3-5x faster on 10 minutes)
ONNX_MODEL = "silero_vad_16k_sequence.onnx"
#: chunks per session call (33 s of audio): bounds the convolutions' activations on long inputs
SEQUENCE_BLOCK = 1024


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
    """The sequence ONNX model straight from silero-vad's data folder, on one thread like its own wrapper.

    Finding the file without importing the package keeps torch (which silero-vad imports) out of
    the process: about a second saved on every clip job's first VAD call.
    """
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise _no_silero()
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / ONNX_MODEL
    if not path.is_file():
        raise ModelUnavailable(
            f"silero-vad has no {ONNX_MODEL} at {path}: install silero-vad>=6.2.2 (or set VadConfig.silero_onnx=False)"
        )
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
    options.log_severity_level = 3  # the export's unused initializers are warned about on every load
    return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def load(config) -> object:
    """The silero model, loaded once per process (ONNX when onnxruntime is installed, unless
    ``config.silero_onnx`` says otherwise)."""
    onnx = config.silero_onnx
    if onnx is None:
        onnx = importlib.util.find_spec("onnxruntime") is not None
    return _load(onnx)


def onnx_probabilities(session, samples: np.ndarray, *, block: int = SEQUENCE_BLOCK) -> np.ndarray:
    """Speech probability per 512-sample chunk from silero's sequence ONNX session at 16 kHz.

    The inputs of silero-vad's ``OnnxWrapper.audio_forward`` (zero-padded last chunk, each chunk
    with the 64 samples before it, the LSTM state carried from chunk to chunk), `block` chunks per
    call with the state carried between calls.
    """
    n_chunks = -(-len(samples) // CHUNK)
    padded = np.zeros(CONTEXT + n_chunks * CHUNK, dtype=np.float32)
    padded[CONTEXT : CONTEXT + len(samples)] = samples
    windows = np.lib.stride_tricks.sliding_window_view(padded, CONTEXT + CHUNK)[::CHUNK]
    hidden = cell = np.zeros((1, 1, 128), dtype=np.float32)
    probabilities = []
    for first in range(0, n_chunks, block):
        inputs = {"input": np.ascontiguousarray(windows[first : first + block]), "h": hidden, "c": cell}
        scores, hidden, cell = session.run(None, inputs)
        probabilities.append(scores)
    return np.concatenate(probabilities).astype(np.float32, copy=False)


def probabilities(samples: np.ndarray, sr: int, model) -> tuple[np.ndarray, float]:
    """Speech probability per 32 ms chunk (chunk ``i`` starts at ``i * HOP_S``) and the hop."""
    if sr != MODEL_SR:
        samples = librosa.resample(samples, orig_sr=sr, target_sr=MODEL_SR)
    if hasattr(model, "get_inputs"):  # an onnxruntime session
        return onnx_probabilities(model, samples), HOP_S
    import torch

    with torch.inference_mode():
        return model.audio_forward(torch.from_numpy(samples)[None], MODEL_SR)[0].numpy(), HOP_S
