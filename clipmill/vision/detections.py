"""Face detections of one frame as parallel numpy arrays.

`Detections` is the value every detector returns and every merge, tracker and writer takes: boxes in
source pixels, one confidence per box, optional five-point landmarks and the name of the detector that
produced each box. roboflow supervision's ``Detections`` is the model: filter with boolean masks,
merge with :meth:`Detections.concat` and :meth:`Detections.nms` or :func:`weighted_box_fusion`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from clipmill.errors import InputError, InternalError

__all__ = ["Detections", "box_containment", "box_iou", "nms_groups", "nms_indices", "weighted_box_fusion"]


@dataclass(frozen=True, eq=False)
class Detections:
    """Faces found in one frame.

    Attributes
    ----------
    xyxy : ndarray, shape (N, 4), float32
        Boxes ``x1, y1, x2, y2`` in source pixels.
    confidence : ndarray, shape (N,), float32
        Detector score in [0, 1].
    landmarks : ndarray, shape (N, 5, 2), float32, or None
        Right eye, left eye, nose tip, right and left mouth corner (source pixels); NaN rows where a
        merged detector gave none.
    source : ndarray, shape (N,), str
        Name of the detector behind each box.
    support : ndarray, shape (N,), int
        How many detectors of an ensemble found this face (1 for a single detector): agreement is
        evidence a lone detector's low-confidence box lacks (a seal on a flag fools one, not two).
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    landmarks: np.ndarray | None = None
    source: np.ndarray | None = None
    support: np.ndarray | None = None

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(xyxy)
        confidence = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        if len(confidence) != n:
            raise InternalError(f"confidence has {len(confidence)} values for {n} boxes")
        landmarks = self.landmarks
        if landmarks is not None:
            landmarks = np.asarray(landmarks, dtype=np.float32)
            if landmarks.shape != (n, 5, 2):
                raise InternalError(f"landmarks must have shape ({n}, 5, 2), got {landmarks.shape}")
        source = np.asarray([""] * n if self.source is None else self.source, dtype=str).reshape(-1)
        if len(source) != n:
            raise InternalError(f"source has {len(source)} names for {n} boxes")
        support = np.ones(n, np.int64) if self.support is None else np.asarray(self.support, np.int64).reshape(-1)
        if len(support) != n:
            raise InternalError(f"support has {len(support)} counts for {n} boxes")
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "confidence", confidence)
        object.__setattr__(self, "landmarks", landmarks)
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "support", support)

    @classmethod
    def empty(cls) -> Detections:
        """No faces."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: np.ndarray | Sequence[int] | slice | int) -> Detections:
        """Select boxes by boolean mask, integer indices or slice; an int keeps a length-1 result."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        index = index if isinstance(index, slice) else np.asarray(index)
        if isinstance(index, np.ndarray) and index.dtype == bool and index.shape != (len(self),):
            raise InternalError(f"mask has shape {index.shape}, expected ({len(self)},)")
        return Detections(
            self.xyxy[index],
            self.confidence[index],
            None if self.landmarks is None else self.landmarks[index],
            self.source[index],
            self.support[index],
        )

    @property
    def area(self) -> np.ndarray:
        """Box areas in square pixels, shape (N,)."""
        wh = np.clip(self.xyxy[:, 2:] - self.xyxy[:, :2], 0, None)
        return wh[:, 0] * wh[:, 1]

    @staticmethod
    def concat(items: Sequence[Detections]) -> Detections:
        """Stack detections of the same frame; landmarks missing in some parts become NaN."""
        items = [d for d in items if len(d)]
        if not items:
            return Detections.empty()
        landmarks = None
        if any(d.landmarks is not None for d in items):
            landmarks = np.concatenate(
                [
                    d.landmarks if d.landmarks is not None else np.full((len(d), 5, 2), np.nan, np.float32)
                    for d in items
                ]
            )
        return Detections(
            np.concatenate([d.xyxy for d in items]),
            np.concatenate([d.confidence for d in items]),
            landmarks,
            np.concatenate([d.source for d in items]),
            np.concatenate([d.support for d in items]),
        )

    def nms(self, iou_threshold: float = 0.5, *, containment_threshold: float | None = None) -> Detections:
        """Greedy non-maximum suppression: keep the most confident of boxes overlapping above the threshold.

        With ``containment_threshold``, a box is also suppressed when that fraction of it (or of the
        kept box) lies inside a kept box: faces do not nest, so a loose box around a tight one is the
        same face. The result is sorted by decreasing confidence; each kept box's ``support`` counts
        the distinct detectors among it and the boxes it suppressed.
        """
        groups = nms_groups(
            self.xyxy, self.confidence, iou_threshold=iou_threshold, containment_threshold=containment_threshold
        )
        kept = self[np.asarray([group[0] for group in groups], np.int64)]
        support = [
            max(len({name for m in group for name in str(self.source[m]).split("+")}), int(self.support[group].max()))
            for group in groups
        ]
        return Detections(kept.xyxy, kept.confidence, kept.landmarks, kept.source, support)

    def fuse(self, iou_threshold: float = 0.5, *, weights: Mapping[str, float] | None = None) -> Detections:
        """Weighted box fusion of overlapping boxes; see :func:`weighted_box_fusion`."""
        return weighted_box_fusion(self, iou_threshold=iou_threshold, weights=weights)

    def scale(self, sx: float, sy: float) -> Detections:
        """Multiply x coordinates by ``sx`` and y by ``sy`` (to map analysis pixels to source pixels)."""
        factor = np.asarray([sx, sy], np.float32)
        return Detections(
            (self.xyxy.reshape(-1, 2, 2) * factor).reshape(-1, 4),
            self.confidence,
            None if self.landmarks is None else self.landmarks * factor,
            self.source,
            self.support,
        )

    def shift(self, dx: float, dy: float) -> Detections:
        """Translate boxes and landmarks by ``(dx, dy)`` pixels (to map tile pixels to frame pixels)."""
        offset = np.asarray([dx, dy], np.float32)
        return Detections(
            (self.xyxy.reshape(-1, 2, 2) + offset).reshape(-1, 4),
            self.confidence,
            None if self.landmarks is None else self.landmarks + offset,
            self.source,
            self.support,
        )

    def clip(self, width: int, height: int) -> Detections:
        """Clip boxes to the frame ``[0, width] x [0, height]`` and drop those left empty."""
        xyxy = self.xyxy.copy()
        xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, width)
        xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, height)
        clipped = Detections(xyxy, self.confidence, self.landmarks, self.source, self.support)
        return clipped[clipped.area > 0]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection over union of two box sets, shape (len(a), len(b)).

    Parameters
    ----------
    a, b : ndarray, shape (N, 4) and (M, 4)
        Boxes ``x1, y1, x2, y2``.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def box_containment(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection over the smaller of the two areas, shape (len(a), len(b))."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=-1)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    smaller = np.minimum(area_a[:, None], area_b[None, :])
    return np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0)


def nms_indices(
    xyxy: np.ndarray,
    scores: np.ndarray,
    *,
    iou_threshold: float,
    containment_threshold: float | None = None,
) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, in decreasing score order.

    A box is suppressed by a more confident kept box when their IoU exceeds ``iou_threshold`` or,
    if given, their intersection over the smaller area exceeds ``containment_threshold``.
    """
    groups = nms_groups(xyxy, scores, iou_threshold=iou_threshold, containment_threshold=containment_threshold)
    return np.asarray([group[0] for group in groups], dtype=np.int64)


def nms_groups(
    xyxy: np.ndarray,
    scores: np.ndarray,
    *,
    iou_threshold: float,
    containment_threshold: float | None = None,
) -> list[np.ndarray]:
    """Greedy NMS as groups: each kept box's index first, then the boxes it suppressed (see `nms_indices`)."""
    for name, value in (("iou_threshold", iou_threshold), ("containment_threshold", containment_threshold)):
        if value is not None and not 0.0 <= value <= 1.0:
            raise InputError(f"{name} must lie in [0, 1], got {value}")
    order = np.argsort(-np.asarray(scores), kind="stable")
    overlap = box_iou(xyxy, xyxy) > iou_threshold
    if containment_threshold is not None:
        overlap |= box_containment(xyxy, xyxy) > containment_threshold
    groups: list[np.ndarray] = []
    suppressed = np.zeros(len(order), bool)
    for i in order:
        if suppressed[i]:
            continue
        taken = overlap[i] & ~suppressed
        taken[i] = False
        groups.append(np.concatenate([[i], np.flatnonzero(taken)]).astype(np.int64))
        suppressed |= overlap[i]
        suppressed[i] = True
    return groups


def weighted_box_fusion(
    detections: Detections,
    *,
    iou_threshold: float = 0.5,
    weights: Mapping[str, float] | None = None,
    n_sources: int | None = None,
) -> Detections:
    """Fuse overlapping boxes into confidence-and-weight averaged boxes (Solovyev et al., WBF).

    Boxes are visited by decreasing ``confidence * weight``; each joins the first cluster whose fused
    box overlaps it above ``iou_threshold``. A cluster's box and landmarks are the average of its
    members weighted by ``confidence * weight``; its confidence is the weighted mean confidence times
    ``min(distinct sources, n_sources) / n_sources``, so a face seen by one of two detectors scores
    lower than one seen by both.

    Parameters
    ----------
    weights : mapping of detector name to weight, optional
        Missing names weigh 1.
    n_sources : int, optional
        Number of detectors that contributed; defaults to the distinct names in ``detections.source``.
    """
    if not len(detections):
        return Detections.empty()
    weights = dict(weights or {})
    w = np.asarray([weights.get(str(s), 1.0) for s in detections.source], np.float64)
    if np.any(w < 0):
        raise InputError(f"detector weights must be non-negative, got {weights}")
    n_sources = n_sources or len(set(detections.source.tolist()))
    score = detections.confidence.astype(np.float64) * w
    order = np.argsort(-score, kind="stable")
    clusters: list[list[int]] = []
    fused_boxes: list[np.ndarray] = []
    for i in order:
        if score[i] <= 0:
            continue
        if fused_boxes:
            iou = box_iou(detections.xyxy[i : i + 1], np.asarray(fused_boxes))[0]
            best = int(np.argmax(iou))
            if iou[best] > iou_threshold:
                clusters[best].append(int(i))
                members = clusters[best]
                fused_boxes[best] = np.average(detections.xyxy[members], axis=0, weights=score[members])
                continue
        clusters.append([int(i)])
        fused_boxes.append(detections.xyxy[i].astype(np.float64))
    if not clusters:
        return Detections.empty()
    confidence = []
    landmarks = []
    sources = []
    support = []
    for members in clusters:
        sw = score[members]
        mean_conf = float(np.average(detections.confidence[members], weights=w[members]))
        distinct = sorted(set(detections.source[members].tolist()))
        confidence.append(mean_conf * min(len(distinct), n_sources) / n_sources)
        sources.append("+".join(distinct))
        support.append(len(distinct))
        if detections.landmarks is not None:
            marks = detections.landmarks[members]
            valid = ~np.isnan(marks[:, 0, 0])
            landmarks.append(
                np.average(marks[valid], axis=0, weights=sw[valid])
                if valid.any()
                else np.full((5, 2), np.nan)
            )
    fused = Detections(
        np.asarray(fused_boxes),
        np.asarray(confidence),
        None if detections.landmarks is None else np.asarray(landmarks),
        np.asarray(sources),
        np.asarray(support),
    )
    return fused[np.argsort(-fused.confidence, kind="stable")]
