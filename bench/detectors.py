"""Detection speed per backend on CPU: frames per second at each backend's own analysis size.

The same batch of real 1280x720 frames (the bench input, one frame every 0.2 s) goes through each
backend as clipmill loads it, after one warm-up call. Backends whose model is not configured here
(RetinaFace weights, YOLO weights and the ``[yolo]`` extra) get an ``n/a`` row that says what is
missing, as the detectors' own error says it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bench.rows import Row, guarded, not_available, stopwatch
from clipmill.errors import ModelUnavailable
from clipmill.media import iter_frame_chunks
from clipmill.vision.detectors import DetectorConfig, load_detector
from clipmill.vision.ensemble import load_ensemble

GROUP = "detectors"
FRAMES = 25
SAMPLE_HZ = 5.0
SHARED_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
#: backend, analysis size (long side) and the weights used when no setting names them (a checkout
#: beside the project's shared models has RetinaFace's)
BACKENDS = (
    ("mediapipe", 640, None),
    ("yunet", 960, None),
    ("retinaface", 640, SHARED_MODELS / "retinaface" / "mobilenet0.25_Final.pth"),
    ("yolo", 640, None),
)


def detector_rows(source: Path) -> list[Row]:
    """One row per backend, plus the default ensemble, on the same frames."""
    frames = _frames(source)
    rows: list[Row] = []
    for name, side, shared in BACKENDS:
        rows += guarded(GROUP, name, lambda n=name, s=side, w=shared: [_backend_row(frames, n, s, w)])
    rows += guarded(GROUP, "default ensemble", lambda: [_ensemble_row(frames)])
    return rows


def _frames(source: Path) -> np.ndarray:
    chunk = next(iter_frame_chunks(source, fps=SAMPLE_HZ, size=(1280, 720), chunk_frames=FRAMES))
    return np.ascontiguousarray(chunk.frames)


def _backend_row(frames: np.ndarray, name: str, side: int, shared: Path | None) -> Row:
    configured = os.environ.get(f"CLIPMILL_{name.upper()}_WEIGHTS")
    weights = shared if shared is not None and shared.is_file() and not configured else None
    try:
        detector = load_detector(DetectorConfig(name, max_side=side, weights=weights))
    except ModelUnavailable as exc:
        return not_available(GROUP, name, str(exc))
    try:
        fps, faces = _timed(detector.detect, frames)
    finally:
        getattr(detector, "close", lambda: None)()
    return Row(GROUP, name, seconds=len(frames) / fps, detail=f"{fps:.1f} frames/s at {side} px long side, "
               f"{faces} faces in {len(frames)} frames of 1280x720", data={"fps": fps, "max_side": side})


def _ensemble_row(frames: np.ndarray) -> Row:
    ensemble = load_ensemble()
    try:
        fps, faces = _timed(ensemble.detect, frames)
    finally:
        ensemble.close()
    return Row(GROUP, "default ensemble", seconds=len(frames) / fps,
               detail=f"{fps:.1f} frames/s, MediaPipe 640 px + YuNet 960 px merged, {faces} faces",
               data={"fps": fps})


def _timed(detect, frames: np.ndarray) -> tuple[float, int]:
    """Frames per second of ``detect`` one frame at a time (as the face stage calls it), after a warm-up."""
    detect(frames[:1])
    found = 0
    with stopwatch() as elapsed:
        for frame in frames:
            found += len(detect(frame[None])[0])
    return len(frames) / elapsed(), found
