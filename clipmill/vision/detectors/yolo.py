"""Ultralytics YOLO face detector from local weights (``.pt`` or exported ``.onnx``).

Optional: ultralytics needs torchvision, which only installs beside a matching torch, so it lives in
the ``[yolo]`` extra. No weights ship with clipmill and none are downloaded: the path comes from
``detectors.yolo.weights`` or ``CLIPMILL_YOLO_WEIGHTS``. The model is expected to have a single face
class (yolov8-face style); with ``kpt_shape`` 5x2 its keypoints become the landmarks.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

from clipmill.errors import ModelUnavailable
from clipmill.vision.detections import Detections
from clipmill.vision.detectors import DetectorConfig, check_frames, resolve_weights

__all__ = ["WEIGHTS_ENV", "YoloDetector", "load"]

log = logging.getLogger(__name__)

WEIGHTS_ENV = "CLIPMILL_YOLO_WEIGHTS"


class YoloDetector:
    """A loaded ultralytics model run on batches; ultralytics letterboxes to ``max_side`` itself."""

    name = "yolo"

    def __init__(self, model: Any, device: str | None, config: DetectorConfig) -> None:
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
            imgsz=self.config.max_side or max(frames.shape[1:3]),
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


def load(config: DetectorConfig) -> YoloDetector:
    """Load YOLO face weights from the configured path with ultralytics (the ``[yolo]`` extra)."""
    weights: Path = resolve_weights(config, default=None, env=WEIGHTS_ENV)
    try:
        ultralytics = importlib.import_module("ultralytics")
    except ImportError as exc:
        raise ModelUnavailable(
            f"the yolo face detector needs the ultralytics package ({exc}): install clipmill with the "
            "[yolo] extra (pip install 'clipmill[yolo]', which pins torch and torchvision together)"
        ) from exc
    try:
        model = ultralytics.YOLO(str(weights), task="detect" if weights.suffix == ".onnx" else None)
    except Exception as exc:  # ultralytics raises many types for unreadable weights
        raise ModelUnavailable(f"cannot load YOLO weights {weights}: {exc}") from exc
    device = config.device
    if device is None:
        try:
            import torch

            device = "cuda:0" if torch.cuda.is_available() else "cpu"
        except ImportError:
            device = "cpu"
    log.info("loaded yolo face detector from %s on %s", weights, device)
    return YoloDetector(model, device, config)
