"""Detections container, IoU, NMS and weighted box fusion: exact expectations on small arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clipmill.errors import InputError, InternalError
from clipmill.vision.detections import Detections, box_iou, nms_indices, weighted_box_fusion


def dets(boxes, conf, source=None, landmarks=None) -> Detections:
    return Detections(np.asarray(boxes, np.float32), np.asarray(conf), landmarks, source)


def test_construction_coerces_dtypes_and_fills_source() -> None:
    d = dets([[0, 0, 10, 10], [5, 5, 15, 25]], [0.9, 0.5])
    assert d.xyxy.dtype == np.float32 and d.confidence.dtype == np.float32
    assert len(d) == 2
    assert d.source.tolist() == ["", ""]
    assert d.landmarks is None
    assert d.area.tolist() == [100.0, 200.0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"confidence": [0.5]}, "confidence has 1 values for 2 boxes"),
        ({"source": ["a"]}, "source has 1 names for 2 boxes"),
        ({"landmarks": np.zeros((2, 4, 2))}, "landmarks must have shape (2, 5, 2)"),
    ],
)
def test_construction_rejects_mismatched_lengths(kwargs, message) -> None:
    args = {"xyxy": np.zeros((2, 4)), "confidence": [0.5, 0.6]} | kwargs
    with pytest.raises(InternalError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Detections(**args)


def test_empty_and_indexing() -> None:
    assert len(Detections.empty()) == 0
    marks = np.arange(30, dtype=np.float32).reshape(3, 5, 2)
    d = dets([[0, 0, 1, 1], [0, 0, 2, 2], [0, 0, 3, 3]], [0.1, 0.2, 0.3], ["a", "b", "c"], marks)
    masked = d[d.confidence > 0.15]
    assert masked.source.tolist() == ["b", "c"]
    assert np.array_equal(masked.landmarks, marks[1:])
    assert d[2].xyxy.tolist() == [[0, 0, 3, 3]]
    assert d[[2, 0]].source.tolist() == ["c", "a"]
    assert d[1:].confidence.tolist() == pytest.approx([0.2, 0.3])
    with pytest.raises(InternalError, match="mask has shape"):
        d[np.array([True, False])]


def test_concat_fills_missing_landmarks_with_nan() -> None:
    a = dets([[0, 0, 1, 1]], [0.5], ["a"], np.ones((1, 5, 2)))
    b = dets([[1, 1, 2, 2]], [0.6], ["b"])
    c = Detections.concat([a, Detections.empty(), b])
    assert c.source.tolist() == ["a", "b"]
    assert np.all(c.landmarks[0] == 1) and np.all(np.isnan(c.landmarks[1]))
    assert Detections.concat([dets([[0, 0, 1, 1]], [0.5]), b]).landmarks is None
    assert len(Detections.concat([])) == 0


def test_scale_shift_clip() -> None:
    marks = np.full((1, 5, 2), 2.0, np.float32)
    d = dets([[1, 2, 3, 4]], [0.5], None, marks)
    s = d.scale(2.0, 10.0).shift(1, -5)
    assert s.xyxy.tolist() == [[3, 15, 7, 35]]
    assert s.landmarks[0, 0].tolist() == [5.0, 15.0]
    clipped = dets([[-5, -5, 5, 5], [20, 20, 30, 30]], [0.5, 0.6]).clip(10, 10)
    assert clipped.xyxy.tolist() == [[0, 0, 5, 5]]


def test_box_iou_exact() -> None:
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]])
    assert box_iou(a, b)[0].tolist() == pytest.approx([1.0, 50 / 150, 0.0, 0.0])
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 4)


def test_nms_keeps_best_of_overlapping_and_sorts() -> None:
    d = dets([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], [0.6, 0.9, 0.7], ["a", "b", "c"])
    kept = d.nms(0.5)
    assert kept.source.tolist() == ["b", "c"]
    assert len(d.nms(0.95)) == 3
    assert nms_indices(np.zeros((0, 4)), np.zeros(0), iou_threshold=0.5).tolist() == []
    with pytest.raises(InputError, match="iou_threshold"):
        d.nms(1.5)


def test_weighted_box_fusion_averages_by_score_and_weight() -> None:
    d = dets([[0, 0, 10, 10], [2, 0, 12, 10], [100, 100, 110, 110]], [0.8, 0.4, 0.9], ["a", "b", "a"])
    fused = weighted_box_fusion(d, iou_threshold=0.5)
    assert len(fused) == 2
    first = fused[fused.source == "a+b"]
    # boxes weighted 0.8 and 0.4: x1 = (0*0.8 + 2*0.4) / 1.2
    assert first.xyxy[0].tolist() == pytest.approx([0.8 / 1.2 * 0 + 2 * 0.4 / 1.2, 0, 10 + 2 * 0.4 / 1.2, 10])
    assert first.confidence[0] == pytest.approx(0.6)  # mean confidence, both of 2 sources agree
    alone = fused[fused.source == "a"]
    assert alone.confidence[0] == pytest.approx(0.45)  # seen by 1 of 2 sources
    # a zero weight for b removes its influence
    only_a = weighted_box_fusion(d, iou_threshold=0.5, weights={"b": 0.0})
    assert only_a.xyxy.tolist() == [[100, 100, 110, 110], [0, 0, 10, 10]]
    assert only_a.source.tolist() == ["a", "a"]
    assert len(weighted_box_fusion(Detections.empty())) == 0
    with pytest.raises(InputError, match="non-negative"):
        weighted_box_fusion(d, weights={"a": -1})


boxes = st.lists(
    st.tuples(
        st.floats(0, 100), st.floats(0, 100), st.floats(1, 50), st.floats(1, 50), st.floats(0.01, 1)
    ),
    min_size=0,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(boxes, st.floats(0.1, 0.9))
def test_nms_output_has_no_pair_above_threshold(rows, thr) -> None:
    xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h, _ in rows]).reshape(-1, 4)
    d = Detections(xyxy, [r[4] for r in rows])
    kept = d.nms(thr)
    iou = box_iou(kept.xyxy, kept.xyxy)
    np.fill_diagonal(iou, 0)
    assert np.all(iou <= thr + 1e-6)
    assert np.all(np.diff(kept.confidence) <= 0)
    # every dropped box overlaps a kept box above the threshold
    if len(d):
        assert np.all(box_iou(d.xyxy, kept.xyxy).max(axis=1) >= min(thr, 1.0) - 1e-6)


def test_nms_counts_the_detectors_that_found_each_kept_face() -> None:
    d = Detections(
        [[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60], [51, 50, 61, 60]], [0.9, 0.8, 0.7, 0.6],
        source=["a", "b", "a", "a"],
    )
    kept = d.nms(0.4)
    assert kept.support.tolist() == [2, 1]
    assert kept[np.array([False, True])].support.tolist() == [1]
    assert Detections.concat([kept, kept]).support.tolist() == [2, 1, 2, 1]
