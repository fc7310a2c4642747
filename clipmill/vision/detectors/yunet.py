"""YuNet face detector through OpenCV's `cv2.FaceDetectorYN` (Apache-2.0 weights, committed).

Fast on CPU and good on small faces: the usual choice for wide shots, run at a large analysis size or
on tiles.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import cv2
import numpy as np

from clipmill.errors import ModelUnavailable
from clipmill.vision.detections import Detections
from clipmill.vision.detectors import (
    MODELS_DIR,
    DetectorConfig,
    check_frames,
    detect_at_analysis_size,
    resolve_weights,
)

__all__ = ["DEFAULT_WEIGHTS", "WEIGHTS_ENV", "YuNetDetector", "load"]

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = MODELS_DIR / "yunet" / "yunet_n_640_640.onnx"
WEIGHTS_ENV = "CLIPMILL_YUNET_WEIGHTS"


class YuNetDetector:
    """YuNet on each frame of a batch; boxes and five landmarks in source pixels."""

    name = "yunet"

    def __init__(self, weights: Path, config: DetectorConfig) -> None:
        self.config = config
        self.weights = weights
        # Candidates are thresholded here; the shared helper applies the same floor again after tiling.
        self._model = cv2.FaceDetectorYN.create(
            str(weights), "", (320, 320), config.score_threshold, config.nms_iou, 5000
        )
        self._lock = threading.Lock()

    def _detect_image(self, image: np.ndarray) -> Detections:
        height, width = image.shape[:2]
        with self._lock:
            self._model.setInputSize((width, height))
            _, rows = self._model.detect(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if rows is None or not len(rows):
            return Detections.empty()
        xywh = rows[:, :4]
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        return Detections(xyxy, rows[:, 14], rows[:, 4:14].reshape(-1, 5, 2), [self.name] * len(rows))

    def detect(self, frames: np.ndarray) -> list[Detections]:
        """Detect faces in a uint8 (B, H, W, 3) RGB batch."""
        frames = check_frames(frames)
        return [detect_at_analysis_size(f, self._detect_image, self.config) for f in frames]


def load(config: DetectorConfig) -> YuNetDetector:
    """Load YuNet from ``config.weights``, ``$CLIPMILL_YUNET_WEIGHTS`` or the committed ONNX file."""
    weights = resolve_weights(config, default=DEFAULT_WEIGHTS, env=WEIGHTS_ENV)
    try:
        detector = YuNetDetector(weights, config)
    except cv2.error as exc:
        raise ModelUnavailable(f"cannot load YuNet weights {weights}: {exc}") from exc
    log.info("loaded yunet from %s (max_side=%s, tiles=%s)", weights, config.max_side, config.tiles)
    return detector
