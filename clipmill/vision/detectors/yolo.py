"""Ultralytics YOLO face detector from local weights (``.pt`` or exported ``.onnx``).

Optional: ultralytics needs torchvision, which only installs beside a matching torch, so it lives in
the ``[yolo]`` extra. No weights ship with clipmill and none are downloaded: the path comes from
``detectors.yolo.weights`` or ``CLIPMILL_YOLO_WEIGHTS``. The model is expected to have a single face
class (yolov8-face style); with five keypoints (a pose model, ``kpt_shape`` 5x2 or 5x3) they become
the landmarks. An exported ONNX file carries its task and input size in its metadata: ultralytics
reads both, so a fixed-size export runs at its export size whatever ``max_side`` says.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

from clipmill.errors import ModelUnavailable
from clipmill.local_models import missing_package
from clipmill.vision.detections import Detections
from clipmill.vision.detectors import DetectorConfig, check_frames, resolve_weights

__all__ = ["STRIDE", "WEIGHTS_ENV", "YoloDetector", "input_size", "load"]

log = logging.getLogger(__name__)

WEIGHTS_ENV = "CLIPMILL_YOLO_WEIGHTS"

STRIDE = 32
"""Largest stride of P5 YOLO models: ultralytics rounds other input sizes up, warning on every batch."""


def input_size(long_side: int, max_side: int | None) -> int:
    """The model's input size for frames of ``long_side``: at most ``max_side``, a multiple of `STRIDE`.

    Rounded down so frames are never upscaled (as every backend treats ``max_side``).
    """
    side = long_side if max_side is None else min(long_side, max_side)
    return max(STRIDE, side // STRIDE * STRIDE)


class YoloDetector:
    """A loaded ultralytics model run on batches; ultralytics letterboxes to the input size itself."""

    name = "yolo"

    def __init__(self, model: Any, device: str, config: DetectorConfig) -> None:
        self.model = model
        self.device = device
        self.config = config

    def detect(self, frames: np.ndarray) -> list[Detections]:
        """Detect faces in a uint8 (B, H, W, 3) RGB batch; boxes in source pixels."""
        frames = check_frames(frames)
        if not len(frames):
            return []
        results = self.model.predict(
            [np.ascontiguousarray(f[..., ::-1]) for f in frames],  # ultralytics takes BGR arrays
            imgsz=input_size(max(frames.shape[1:3]), self.config.max_side),
            conf=self.config.score_threshold,
            iou=self.config.nms_iou,
            device=self.device,
            verbose=False,
        )
        out = []
        for r in results:
            boxes = r.boxes
            xyxy = boxes.xyxy.cpu().numpy() if len(boxes) else np.zeros((0, 4))
            conf = boxes.conf.cpu().numpy() if len(boxes) else np.zeros(0)
            marks = None
            keypoints = getattr(r, "keypoints", None)
            if keypoints is not None and len(boxes) and tuple(keypoints.xy.shape[1:]) == (5, 2):
                marks = keypoints.xy.cpu().numpy()
            out.append(Detections(xyxy, conf, marks, [self.name] * len(conf)))
        return out


def default_device(weights: Path) -> str:
    """``cuda:0`` when the weights' runtime can use it, else ``cpu``.

    ONNX files run on onnxruntime: CUDA only with its CUDA provider (onnxruntime-gpu), which
    ultralytics would otherwise try to pip-install at load time.
    """
    if weights.suffix == ".onnx":
        import onnxruntime

        cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    else:
        import torch

        cuda = torch.cuda.is_available()
    return "cuda:0" if cuda else "cpu"


def load(config: DetectorConfig) -> YoloDetector:
    """Load YOLO face weights from the configured path with ultralytics (the ``[yolo]`` extra)."""
    weights: Path = resolve_weights(config, default=None, env=WEIGHTS_ENV)
    try:
        ultralytics = importlib.import_module("ultralytics")
    except ImportError as exc:
        raise missing_package(
            "the yolo face detector", "ultralytics", error=exc,
            install="install clipmill with the [yolo] extra (pip install 'clipmill[yolo]', which pins torch and torchvision together)",
        ) from exc
    try:
        model = ultralytics.YOLO(str(weights))  # the task comes from the checkpoint or the ONNX metadata
    except Exception as exc:  # ultralytics raises many types for unreadable weights
        raise ModelUnavailable(f"cannot load YOLO weights {weights}: {exc}") from exc
    device = config.device or default_device(weights)
    log.info("loaded yolo face detector (%s) from %s on %s", model.task, weights, device)
    return YoloDetector(model, device, config)
