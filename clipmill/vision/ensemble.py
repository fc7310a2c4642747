"""Several face detectors as one: cascade, parallel (NMS) or weighted box fusion.

The default ensemble runs MediaPipe BlazeFace (fast, good on talking heads) and YuNet at 960 px (finds
the 60-90 px faces of a wide 1080p shot that BlazeFace's 128x128 input cannot) in parallel and keeps the
best box of each face by NMS.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from clipmill.errors import InputError
from clipmill.vision.detections import Detections, weighted_box_fusion
from clipmill.vision.detectors import Detector, DetectorConfig, check_frames, load_detector

__all__ = ["DEFAULT_DETECTORS", "MODES", "Ensemble", "EnsembleConfig", "load_ensemble", "merge"]

log = logging.getLogger(__name__)

MODES = ("cascade", "parallel", "weighted")

DEFAULT_DETECTORS = (
    DetectorConfig("mediapipe", max_side=640),
    DetectorConfig("yunet", max_side=960),
)


@dataclass(frozen=True)
class EnsembleConfig:
    """Which detectors to run and how to combine them.

    Attributes
    ----------
    mode : str
        ``cascade``: run in order, stop at the first detector that finds a face in the frame;
        ``parallel``: run all, merge by NMS; ``weighted``: run all, weighted box fusion.
    detectors : tuple of DetectorConfig
        In cascade order.
    weights : mapping of detector name to weight
        ``weighted`` mode: trust per detector (missing names weigh 1).
    iou_threshold : float
        Boxes of different detectors overlapping above this IoU are the same face.
    containment_threshold : float
        ``parallel``: a box with this fraction inside a more confident box is the same face (BlazeFace
        sometimes returns a loose box around a face YuNet boxes tightly).
    """

    mode: str = "parallel"
    detectors: tuple[DetectorConfig, ...] = DEFAULT_DETECTORS
    weights: Mapping[str, float] = field(default_factory=dict)
    iou_threshold: float = 0.4
    containment_threshold: float = 0.8

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"unknown ensemble mode {self.mode!r}; valid modes: {', '.join(MODES)}")
        if not self.detectors:
            raise InputError("an ensemble needs at least one detector")
        object.__setattr__(self, "detectors", tuple(self.detectors))


def merge(
    results: Sequence[Detections],
    *,
    mode: str,
    iou_threshold: float = 0.4,
    containment_threshold: float | None = 0.8,
    weights: Mapping[str, float] | None = None,
) -> Detections:
    """Combine one frame's detections from several detectors (given in cascade order)."""
    if mode == "cascade":
        return next((r for r in results if len(r)), Detections.empty())
    if mode == "parallel":
        return Detections.concat(results).nms(iou_threshold, containment_threshold=containment_threshold)
    if mode == "weighted":
        return weighted_box_fusion(
            Detections.concat(results), iou_threshold=iou_threshold, weights=weights, n_sources=len(results)
        )
    raise InputError(f"unknown ensemble mode {mode!r}; valid modes: {', '.join(MODES)}")


class Ensemble:
    """Loaded detectors combined per frame; itself a `Detector`."""

    name = "ensemble"

    def __init__(
        self,
        detectors: Sequence[Detector],
        *,
        mode: str = "parallel",
        iou_threshold: float = 0.4,
        containment_threshold: float | None = 0.8,
        weights: Mapping[str, float] | None = None,
    ) -> None:
        if mode not in MODES:
            raise InputError(f"unknown ensemble mode {mode!r}; valid modes: {', '.join(MODES)}")
        if not detectors:
            raise InputError("an ensemble needs at least one detector")
        self.detectors = list(detectors)
        self.mode = mode
        self.iou_threshold = iou_threshold
        self.containment_threshold = containment_threshold
        self.weights = dict(weights or {})

    def detect(self, frames: np.ndarray) -> list[Detections]:
        """Detect faces in a uint8 (B, H, W, 3) RGB batch with every member, then merge per frame."""
        frames = check_frames(frames)
        if self.mode == "cascade":
            return self._cascade(frames)
        per_detector = [d.detect(frames) for d in self.detectors]
        return [
            merge(
                [found[i] for found in per_detector],
                mode=self.mode,
                iou_threshold=self.iou_threshold,
                containment_threshold=self.containment_threshold,
                weights=self.weights,
            )
            for i in range(len(frames))
        ]

    def _cascade(self, frames: np.ndarray) -> list[Detections]:
        out = [Detections.empty() for _ in range(len(frames))]
        pending = np.arange(len(frames))
        for detector in self.detectors:
            if not len(pending):
                break
            found = detector.detect(frames[pending])
            for i, dets in zip(pending, found):
                out[i] = dets
            pending = np.asarray([i for i, dets in zip(pending, found) if not len(dets)], np.int64)
        return out

    def close(self) -> None:
        """Release members that hold native resources."""
        for detector in self.detectors:
            close = getattr(detector, "close", None)
            if close is not None:
                close()


def load_ensemble(config: EnsembleConfig | None = None) -> Ensemble:
    """Load every detector of ``config`` (default: MediaPipe + YuNet in parallel)."""
    config = config or EnsembleConfig()
    detectors = [load_detector(c) for c in config.detectors]
    log.info("face ensemble %s: %s", config.mode, ", ".join(d.name for d in detectors))
    return Ensemble(
        detectors,
        mode=config.mode,
        iou_threshold=config.iou_threshold,
        containment_threshold=config.containment_threshold,
        weights=config.weights,
    )
