"""Several face detectors as one: cascade, parallel (NMS) or weighted box fusion.

The default ensemble is a cascade of MediaPipe BlazeFace (fast, good on talking heads) and YuNet at 960 px
(finds the 60-90 px faces of a wide 1080p shot that BlazeFace's 128x128 input cannot, ten times slower):
BlazeFace sees every sample; YuNet joins it, merged as in ``parallel``, where BlazeFace is unsure (no face,
fewer faces than the sample before, one below ``unsure_below``, or one where it saw none a sample before: a
cut, or someone coming in), while YuNet keeps finding faces BlazeFace misses (small and far faces), and on
every ``slow_every``-th sample otherwise (once every 2 s at 5 Hz: what a face that appears beside one
BlazeFace already sees may wait). A confident BlazeFace face is evidence of a face on its
own, so the tracker's evidence (two members agree, or a strong score) means what it means in ``parallel``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from clipmill.errors import InputError
from clipmill.vision.detections import Detections, box_iou, weighted_box_fusion
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
        ``cascade``: the first detector on every frame, the others beside it (merged as in ``parallel``)
        where it is unsure or sees a face where it saw none the frame before, while they see faces it does
        not, and every ``slow_every``-th frame;
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
    unsure_below : float
        ``cascade``: a first-detector face below this confidence calls the others (the tracker's
        ``strong_confidence``: below it a box is no evidence of a face on its own).
    slow_every : int
        ``cascade``: the others also run on every ``slow_every``-th frame (10: once every 2 s at 5 Hz
        sampling; a cut or a face coming into view calls them at once).
    """

    mode: str = "cascade"
    detectors: tuple[DetectorConfig, ...] = DEFAULT_DETECTORS
    weights: Mapping[str, float] = field(default_factory=dict)
    iou_threshold: float = 0.4
    containment_threshold: float = 0.8
    unsure_below: float = 0.8
    slow_every: int = 10

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"unknown ensemble mode {self.mode!r}; valid modes: {', '.join(MODES)}")
        if not self.detectors:
            raise InputError("an ensemble needs at least one detector")
        if self.slow_every < 1:
            raise InputError(f"slow_every must be a positive number of frames, got {self.slow_every}")
        object.__setattr__(self, "detectors", tuple(self.detectors))


def merge(
    results: Sequence[Detections],
    *,
    mode: str,
    iou_threshold: float = 0.4,
    containment_threshold: float | None = 0.8,
    weights: Mapping[str, float] | None = None,
) -> Detections:
    """Combine one frame's detections from several detectors (given in cascade order); ``cascade``
    merges the detectors that ran on the frame as ``parallel`` does."""
    if mode in ("cascade", "parallel"):
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
        unsure_below: float = 0.8,
        slow_every: int = 10,
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
        self.unsure_below = unsure_below
        self.slow_every = slow_every
        self.second_opinions = 0  # cascade: frames the later members ran on
        self.reset()

    def reset(self) -> None:
        """Forget what the cascade saw: the next frame starts another video, and gets every member."""
        self._since_slow = 0
        self._slow_sees_more = True
        self._faces_before = 0
        self._fast_boxes_before = np.zeros((0, 4))

    def detect(self, frames: np.ndarray) -> list[Detections]:
        """Detect faces in a uint8 (B, H, W, 3) RGB batch with the members the mode runs, merged per frame.

        A cascade remembers what it saw: give it the frames of one video in time order.
        """
        frames = check_frames(frames)
        if self.mode == "cascade":
            return self._cascade(frames)
        per_detector = [d.detect(frames) for d in self.detectors]
        return [self._merge([found[i] for found in per_detector]) for i in range(len(frames))]

    def _cascade(self, frames: np.ndarray) -> list[Detections]:
        """The first member on the whole batch at once, the others frame by frame where
        `_wants_second_opinion` says so."""
        fast, slow = self.detectors[0], self.detectors[1:]
        out = []
        for frame, found in zip(frames, fast.detect(frames)):
            self._since_slow += 1
            asked = bool(slow) and self._wants_second_opinion(found)
            self._fast_boxes_before = found.xyxy
            if asked:
                found = self._merge([found, *(d.detect(frame[None])[0] for d in slow)])
                self._since_slow = 0
                self.second_opinions += 1
            strong = (found.support >= 2) | (found.confidence >= self.unsure_below)
            if asked:
                self._slow_sees_more = bool(np.any((found.source != fast.name) & (found.support < 2) & strong))
            self._faces_before = int(strong.sum())
            out.append(found)
        return out

    def _wants_second_opinion(self, found: Detections) -> bool:
        """The others run where the first member found nothing, fewer faces than the frame before, a
        face where it saw none the frame before (a cut, someone coming in), or is unsure, while they
        keep seeing faces it misses, and at least every ``slow_every``-th frame.

        Only faces that are evidence on their own (both members, or a score of at least ``unsure_below``)
        count as seen: a weak face only the others find (the seal behind a speaker, 0.5-0.73 to YuNet,
        frame after frame) can never become a track by itself, so it does not keep them running.
        """
        return (
            self._slow_sees_more or self._since_slow >= self.slow_every or len(found) < max(1, self._faces_before)
            or bool(np.any(found.confidence < self.unsure_below)) or self._in_a_new_place(found)
        )

    def _in_a_new_place(self, found: Detections) -> bool:
        """Whether the first member sees a face overlapping none of those it saw the frame before."""
        if not len(found):
            return False
        if not len(self._fast_boxes_before):
            return True
        return bool(np.any(box_iou(found.xyxy, self._fast_boxes_before).max(axis=1) < self.iou_threshold))

    def _merge(self, results: list[Detections]) -> Detections:
        return merge(
            results, mode=self.mode, iou_threshold=self.iou_threshold,
            containment_threshold=self.containment_threshold, weights=self.weights,
        )

    def close(self) -> None:
        """Release members that hold native resources."""
        for detector in self.detectors:
            close = getattr(detector, "close", None)
            if close is not None:
                close()


def load_ensemble(config: EnsembleConfig | None = None) -> Ensemble:
    """Load every detector of ``config`` (default: the MediaPipe → YuNet cascade)."""
    config = config or EnsembleConfig()
    detectors = [load_detector(c) for c in config.detectors]
    log.info("face ensemble %s: %s", config.mode, ", ".join(d.name for d in detectors))
    return Ensemble(
        detectors,
        mode=config.mode,
        iou_threshold=config.iou_threshold,
        containment_threshold=config.containment_threshold,
        weights=config.weights,
        unsure_below=config.unsure_below,
        slow_every=config.slow_every,
    )
