"""MediaPipe BlazeFace short-range detector through the MediaPipe Tasks `FaceDetector` API.

mediapipe 1.2.x ships no models and no ``mediapipe.solutions``: the ``.tflite`` (with the metadata the
Tasks API needs) is committed in ``clipmill/models/mediapipe``. The model sees a 128x128 image, so it
finds faces that fill a good part of the frame (talking heads) and misses small faces in wide shots.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from clipmill.errors import ModelUnavailable
from clipmill.local_models import missing_package
from clipmill.vision.detections import Detections
from clipmill.vision.detectors import (
    MODELS_DIR,
    DetectorConfig,
    check_frames,
    detect_at_analysis_size,
    resolve_weights,
)

__all__ = ["DEFAULT_WEIGHTS", "WEIGHTS_ENV", "MediaPipeDetector", "load"]

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = MODELS_DIR / "mediapipe" / "face_detection_short_range.tflite"
WEIGHTS_ENV = "CLIPMILL_MEDIAPIPE_WEIGHTS"
#: Debian/Ubuntu packages with the libEGL.so.1 and libGLESv2.so.2 that mediapipe's Tasks library links
SYSTEM_PACKAGES = "apt-get install libegl1 libgles2"


class MediaPipeDetector:
    """BlazeFace on each frame of a batch.

    MediaPipe gives six keypoints (eyes, nose tip, mouth centre, ear tragions); the five-point landmarks
    here are the eyes, the nose tip and the mouth centre in both mouth-corner slots.
    """

    name = "mediapipe"

    def __init__(self, weights: Path, config: DetectorConfig) -> None:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self.config = config
        self.weights = weights
        self._mp = mp
        options = vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_path=str(weights)),
            running_mode=vision.RunningMode.IMAGE,
            min_detection_confidence=config.score_threshold,
            min_suppression_threshold=config.nms_iou,
        )
        self._task = vision.FaceDetector.create_from_options(options)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Release the native task; call it before the interpreter exits (mediapipe's own ``__del__``
        fails during interpreter teardown)."""
        with self._lock:
            self._task.close()

    def __enter__(self) -> MediaPipeDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _detect_image(self, image: np.ndarray) -> Detections:
        height, width = image.shape[:2]
        with self._lock:
            result = self._task.detect(self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=image))
        if not result.detections:
            return Detections.empty()
        xyxy, score, marks = [], [], []
        for det in result.detections:
            box = det.bounding_box
            xyxy.append([box.origin_x, box.origin_y, box.origin_x + box.width, box.origin_y + box.height])
            score.append(det.categories[0].score if det.categories else 0.0)
            points = [(k.x * width, k.y * height) for k in det.keypoints]
            if len(points) >= 4:
                marks.append([points[0], points[1], points[2], points[3], points[3]])
            else:
                marks.append([(np.nan, np.nan)] * 5)
        return Detections(np.asarray(xyxy), np.asarray(score), np.asarray(marks), [self.name] * len(xyxy))

    def detect(self, frames: np.ndarray) -> list[Detections]:
        """Detect faces in a uint8 (B, H, W, 3) RGB batch."""
        frames = check_frames(frames)
        return [detect_at_analysis_size(f, self._detect_image, self.config) for f in frames]


def load(config: DetectorConfig) -> MediaPipeDetector:
    """Load BlazeFace from ``config.weights``, ``$CLIPMILL_MEDIAPIPE_WEIGHTS`` or the committed file."""
    weights = resolve_weights(config, default=DEFAULT_WEIGHTS, env=WEIGHTS_ENV)
    try:
        import mediapipe  # noqa: F401
        from mediapipe.tasks.python import vision  # noqa: F401
    except ImportError as exc:
        raise missing_package(
            "the mediapipe face detector", "mediapipe (1.2.x, Tasks API)", error=exc,
            install="install clipmill's dependencies (pip install mediapipe)",
        ) from exc
    try:
        detector = MediaPipeDetector(weights, config)
    except OSError as exc:
        # the Tasks C library is loaded on first use and links the system's EGL and GLES even on CPU
        raise ModelUnavailable(
            f"the mediapipe face detector cannot load its native library: {exc}; install the system's "
            f"EGL and GLES libraries ({SYSTEM_PACKAGES}; scripts/setup.sh does it), or run without mediapipe "
            "(clipmill faces --detector yunet)"
        ) from exc
    except (RuntimeError, ValueError) as exc:
        raise ModelUnavailable(f"cannot load MediaPipe face model {weights}: {exc}") from exc
    log.info("loaded mediapipe face detector from %s (max_side=%s)", weights, config.max_side)
    return detector
