"""Ensemble modes on fake detectors with known outputs."""

from __future__ import annotations

import numpy as np
import pytest

from clipmill.errors import InputError
from clipmill.vision.detections import Detections
from clipmill.vision.ensemble import Ensemble, EnsembleConfig, merge


class Fake:
    """Returns fixed detections for frames whose first pixel equals a key."""

    def __init__(self, name: str, answers: dict[int, list[tuple[list[float], float]]]) -> None:
        self.name = name
        self.answers = answers
        self.calls: list[int] = []

    def detect(self, frames: np.ndarray) -> list[Detections]:
        self.calls.append(len(frames))
        out = []
        for f in frames:
            rows = self.answers.get(int(f[0, 0, 0]), [])
            out.append(Detections([r[0] for r in rows], [r[1] for r in rows], None, [self.name] * len(rows)))
        return out


def batch(*keys: int) -> np.ndarray:
    frames = np.zeros((len(keys), 8, 8, 3), np.uint8)
    for i, k in enumerate(keys):
        frames[i, 0, 0, 0] = k
    return frames


A = Fake("a", {1: [([0, 0, 10, 10], 0.6)]})
B = Fake("b", {1: [([1, 0, 11, 10], 0.9)], 2: [([50, 50, 60, 60], 0.8)]})


def test_cascade_runs_later_detectors_only_where_earlier_found_nothing() -> None:
    a, b = Fake("a", A.answers), Fake("b", B.answers)
    out = Ensemble([a, b], mode="cascade").detect(batch(1, 2, 3))
    assert [d.source.tolist() for d in out] == [["a"], ["b"], []]
    assert a.calls == [3] and b.calls == [2]


def test_parallel_merges_by_nms_across_detectors() -> None:
    out = Ensemble([A, B], mode="parallel").detect(batch(1, 2))
    assert out[0].source.tolist() == ["b"] and out[0].xyxy.tolist() == [[1, 0, 11, 10]]
    assert out[1].source.tolist() == ["b"]


def test_parallel_drops_a_loose_box_around_a_tight_one() -> None:
    tight = Detections([[40, 40, 60, 64]], [0.9], None, ["yunet"])
    loose = Detections([[30, 30, 72, 72]], [0.6], None, ["mediapipe"])
    assert merge([loose, tight], mode="parallel").source.tolist() == ["yunet"]
    assert len(merge([loose, tight], mode="parallel", containment_threshold=None)) == 2


def test_weighted_fuses_boxes_with_detector_weights() -> None:
    out = Ensemble([A, B], mode="weighted", weights={"a": 3.0, "b": 1.0}).detect(batch(1))[0]
    assert out.source.tolist() == ["a+b"]
    # scores 0.6*3 = 1.8 and 0.9*1 = 0.9: x1 = (0*1.8 + 1*0.9) / 2.7
    assert out.xyxy[0].tolist() == pytest.approx([1 / 3, 0, 10 + 1 / 3, 10], abs=1e-5)
    assert out.confidence[0] == pytest.approx((0.6 * 3 + 0.9) / 4)


def test_bad_modes_are_rejected() -> None:
    with pytest.raises(InputError, match="unknown ensemble mode 'vote'; valid modes: cascade, parallel, weighted"):
        EnsembleConfig(mode="vote")
    with pytest.raises(InputError):
        Ensemble([], mode="parallel")
