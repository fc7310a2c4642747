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


def test_cascade_asks_the_slow_detector_first_then_where_the_fast_one_is_unsure_or_on_its_cadence() -> None:
    # key 1: the fast detector is sure of a face the slow one also finds; 4: unsure of one; 3: finds nothing
    fast = Fake("a", {1: [([0, 0, 10, 10], 0.9)], 4: [([0, 0, 10, 10], 0.5)]})
    slow = Fake("b", {1: [([1, 0, 11, 10], 0.95)], 4: [([1, 0, 11, 10], 0.9)]})
    ensemble = Ensemble([fast, slow], mode="cascade", slow_every=3)
    out = ensemble.detect(batch(1, 1, 1, 1, 4, 3, 1))
    # frame 0: first frame; 3: third frame since; 4: unsure; 5: nothing found; 6: a face where frame 5
    # had none; frames 1, 2 fast only
    assert slow.calls == [1] * 5
    assert [d.source.tolist() for d in out] == [["b"], ["a"], ["a"], ["b"], ["b"], [], ["b"]]
    assert [d.support.tolist() for d in out] == [[2], [1], [1], [2], [2], [], [2]]
    assert fast.calls == [7]


def test_cascade_keeps_the_slow_detector_on_while_it_sees_faces_the_fast_one_misses() -> None:
    # key 2: a small face only the slow detector finds beside the big one both find; 1: the big one alone
    big, small = ([0, 0, 40, 40], 0.9), ([60, 60, 66, 66], 0.85)
    fast = Fake("a", {1: [big], 2: [big]})
    slow = Fake("b", {1: [big], 2: [big, small]})
    ensemble = Ensemble([fast, slow], mode="cascade", slow_every=100)
    out = ensemble.detect(batch(2, 2, 2, 1, 1, 1))
    assert [len(d) for d in out] == [2, 2, 2, 1, 1, 1]
    assert len(slow.calls) == 4  # on while the small face shows, once more to see it gone, then off


def test_cascade_lets_the_slow_detector_rest_beside_a_weak_box_only_it_finds() -> None:
    # the seal behind a speaker: YuNet scores it 0.5-0.73 frame after frame, never evidence of a face
    big, seal = ([0, 0, 40, 40], 0.9), ([60, 60, 70, 72], 0.6)
    fast = Fake("a", {1: [big]})
    slow = Fake("b", {1: [big, seal]})
    ensemble = Ensemble([fast, slow], mode="cascade", slow_every=3)
    out = ensemble.detect(batch(*[1] * 7))
    assert [len(d) for d in out] == [2, 1, 1, 2, 1, 1, 2]  # the seal where the slow one ran, on its cadence
    assert len(slow.calls) == 3


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


def test_cascade_asks_the_slow_detector_when_the_fast_one_loses_a_face() -> None:
    # key 5: the fast detector is sure of two faces; 6: of one of them only
    left, right = ([0, 0, 40, 40], 0.9), ([60, 0, 100, 40], 0.9)
    fast = Fake("a", {5: [left, right], 6: [left]})
    slow = Fake("b", {5: [left, right], 6: [left, right]})
    out = Ensemble([fast, slow], mode="cascade", slow_every=100).detect(batch(5, 5, 6, 6))
    assert [len(d) for d in out] == [2, 2, 2, 2]
    assert len(slow.calls) == 3  # the first frame, then each frame where the fast detector sees one of two


def test_cascade_asks_the_slow_detector_where_the_fast_one_sees_a_face_in_a_new_place() -> None:
    # key 1: a close-up; 2: a hard cut to another shot, the face elsewhere; 3: it moved a little
    fast = Fake("a", {1: [([0, 0, 40, 40], 0.9)], 2: [([60, 10, 80, 30], 0.9)], 3: [([62, 10, 82, 30], 0.9)]})
    slow = Fake("b", {})
    ensemble = Ensemble([fast, slow], mode="cascade", slow_every=100)
    ensemble.detect(batch(1, 1, 1, 2, 3, 3))
    assert ensemble.second_opinions == 2  # the first frame, and the cut; not the small move after it
