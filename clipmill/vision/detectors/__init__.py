"""Face detector backends behind one protocol, chosen by name.

Every backend module has ``load(config: DetectorConfig) -> Detector``; the returned object takes a
batch of RGB frames and returns one :class:`~clipmill.vision.detections.Detections` per frame, boxes in
source pixels whatever resolution the model ran at. The analysis size (``max_side``) and the optional
tiling (``tiles``) are shared here so every backend treats them the same way: small faces in wide
shots need either a larger analysis size or tiles, at a cost in speed.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from clipmill.errors import InputError, InternalError
from clipmill.local_models import local_model, missing_package
from clipmill.vision.detections import Detections

__all__ = [
    "BACKENDS",
    "MODELS_DIR",
    "Detector",
    "DetectorConfig",
    "check_frames",
    "detect_at_analysis_size",
    "load_detector",
    "resolve_weights",
]

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
"""Weights committed with clipmill (see ``clipmill/models/SOURCES.md``)."""

BACKENDS: dict[str, str] = {
    "mediapipe": "clipmill.vision.detectors.mediapipe_face",
    "yunet": "clipmill.vision.detectors.yunet",
    "retinaface": "clipmill.vision.detectors.retinaface",
    "yolo": "clipmill.vision.detectors.yolo",
}


@dataclass(frozen=True)
class DetectorConfig:
    """How to load and run one face detector.

    Attributes
    ----------
    name : str
        Backend: one of ``BACKENDS``.
    weights : Path, optional
        Model file; ``None`` uses the backend's default (committed file or its environment variable).
    max_side : int, optional
        Long side in pixels of the image the model sees; frames are downscaled to it (never
        upscaled). ``None`` runs at the source resolution.
    tiles : tuple of int, optional
        ``(rows, cols)``: also run the model on that grid of overlapping tiles of the source frame,
        each downscaled to ``max_side``, so small faces keep enough pixels.
    tile_overlap : float
        Fraction of a tile's size shared with its neighbour, so a face on a seam is whole in one tile.
    score_threshold : float
        Minimum confidence kept.
    nms_iou : float
        IoU above which overlapping boxes of this detector are suppressed.
    device : str, optional
        Torch backends: ``"cpu"`` or ``"cuda"``; ``None`` picks CUDA when available.
    """

    name: str
    weights: Path | None = None
    max_side: int | None = 960
    tiles: tuple[int, int] | None = None
    tile_overlap: float = 0.2
    score_threshold: float = 0.5
    nms_iou: float = 0.3
    device: str | None = None

    def __post_init__(self) -> None:
        if self.name not in BACKENDS:
            raise InputError(f"unknown detector {self.name!r}; valid names: {', '.join(sorted(BACKENDS))}")
        if self.max_side is not None and self.max_side < 32:
            raise InputError(f"max_side must be at least 32 pixels or None, got {self.max_side}")
        if self.tiles is not None and (len(self.tiles) != 2 or min(self.tiles) < 1):
            raise InputError(f"tiles must be (rows, cols) with both >= 1, got {self.tiles}")
        if not 0.0 <= self.tile_overlap < 0.5:
            raise InputError(f"tile_overlap must lie in [0, 0.5), got {self.tile_overlap}")
        if not 0.0 <= self.score_threshold <= 1.0:
            raise InputError(f"score_threshold must lie in [0, 1], got {self.score_threshold}")
        if self.weights is not None:
            object.__setattr__(self, "weights", Path(self.weights))


@runtime_checkable
class Detector(Protocol):
    """A loaded face detector: batched RGB frames in, one `Detections` per frame out."""

    name: str

    def detect(self, frames: np.ndarray) -> list[Detections]:
        """Detect faces in ``frames``, uint8 array (B, H, W, 3) RGB; boxes in source pixels."""
        ...


def load_detector(config: DetectorConfig) -> Detector:
    """Load the backend named by ``config.name``; raises `ModelUnavailable` when it cannot run."""
    try:
        module = importlib.import_module(BACKENDS[config.name])
    except ImportError as exc:
        raise missing_package(
            f"the {config.name} face detector", repr(exc.name),
            install=f"install clipmill with the [{config.name}] extra (pip install 'clipmill[{config.name}]')",
        ) from exc
    return module.load(config)


def resolve_weights(config: DetectorConfig, *, default: Path | None, env: str) -> Path:
    """The weights file to load: the config's, else ``$env``, else ``default``; it must exist.

    Raises
    ------
    ModelUnavailable
        Naming the missing path, the config setting and the environment variable that supply it.
    """
    value = config.weights or (Path(os.environ[env]) if os.environ.get(env) else None) or default
    return local_model(
        f"the {config.name} face detector", value, model="weights file", file_only=True,
        setting=f"detectors.{config.name}.weights in the config or the {env} environment variable",
    )


def check_frames(frames: np.ndarray) -> np.ndarray:
    """Validate a batch of frames: uint8, shape (B, H, W, 3)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise InternalError(
            f"frames must be a uint8 array (B, H, W, 3) RGB, got {frames.dtype} {frames.shape}"
        )
    return frames


def _windows(height: int, width: int, config: DetectorConfig) -> list[tuple[int, int, int, int]]:
    """The whole frame, then the tiles, as ``(x0, y0, x1, y1)`` source-pixel windows."""
    windows = [(0, 0, width, height)]
    if config.tiles is None or config.tiles == (1, 1):
        return windows
    rows, cols = config.tiles
    for y0, y1 in _tile_edges(rows, height, config.tile_overlap):
        for x0, x1 in _tile_edges(cols, width, config.tile_overlap):
            windows.append((x0, y0, x1, y1))
    return windows


def _tile_edges(n: int, size: int, overlap: float) -> list[tuple[int, int]]:
    """Start and end of ``n`` tiles covering ``size`` pixels, neighbours sharing ``overlap`` of a tile."""
    tile = size / (n - (n - 1) * overlap)
    starts = [i * tile * (1 - overlap) for i in range(n)]
    return [(int(round(s)), int(round(min(size, s + tile)))) for s in starts]


def detect_at_analysis_size(
    frame: np.ndarray,
    detect_image: Callable[[np.ndarray], Detections],
    config: DetectorConfig,
) -> Detections:
    """Run ``detect_image`` on the frame (and tiles) at the analysis size; boxes in source pixels.

    ``detect_image`` takes a contiguous uint8 RGB image and returns boxes in that image's pixels.
    Results of the whole frame and of the tiles are merged by NMS at ``config.nms_iou``.
    """
    height, width = frame.shape[:2]
    parts = []
    for x0, y0, x1, y1 in _windows(height, width, config):
        window = frame[y0:y1, x0:x1]
        h, w = window.shape[:2]
        factor = 1.0 if config.max_side is None else min(1.0, config.max_side / max(h, w))
        if factor < 1.0:
            import cv2  # with the detectors, not with every module that names their types (seconds to load)

            size = (max(1, round(w * factor)), max(1, round(h * factor)))
            image = cv2.resize(window, size, interpolation=cv2.INTER_AREA)
        else:
            image = np.ascontiguousarray(window)
        found = detect_image(image)
        found = found[found.confidence >= config.score_threshold]
        sx, sy = w / image.shape[1], h / image.shape[0]
        parts.append(found.scale(sx, sy).shift(x0, y0))
    merged = Detections.concat(parts).clip(width, height)
    if len(parts) > 1:
        merged = merged.nms(config.nms_iou)
    return Detections(merged.xyxy, merged.confidence, merged.landmarks, [config.name] * len(merged))
