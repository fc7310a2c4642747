"""Kalman tracker and chunk stitching on synthetic detections with known paths."""

from __future__ import annotations

import numpy as np
import pytest

from clipmill.errors import InternalError
from clipmill.vision.detections import Detections, box_iou
from clipmill.vision.tracking import (
    FaceTracker,
    KalmanBoxFilter,
    Track,
    TrackerConfig,
    stitch_tracks,
    track_faces,
)

FPS = 25.0


def box_at(t: float, *, x0: float = 100.0, y0: float = 100.0, vx: float = 0.0, size: float = 80.0) -> list[float]:
    x = x0 + vx * t
    return [x, y0, x + size, y0 + size]


def frames(n: int, paths, *, visible=None, conf: float = 0.9):
    """Sampled times and detections of faces following ``paths`` (functions of t)."""
    times = np.arange(n) / FPS
    out = []
    for t in times:
        boxes = [p(t) for k, p in enumerate(paths) if visible is None or visible(k, t)]
        out.append(Detections(np.asarray(boxes, np.float32).reshape(-1, 4), [conf] * len(boxes)))
    return times, out


def test_static_face_gives_one_track_with_exact_boxes() -> None:
    times, dets = frames(20, [lambda t: box_at(t)])
    tracks = track_faces(times, dets)
    assert [t.id for t in tracks] == [1]
    assert np.allclose(tracks[0].xyxy, [box_at(0)], atol=1e-3)
    assert tracks[0].times.tolist() == times.tolist()
    assert tracks[0].observed.all()


def test_single_spurious_detection_is_not_born() -> None:
    times, dets = frames(10, [lambda t: box_at(t)])
    dets[4] = Detections.concat([dets[4], Detections([[500, 500, 560, 560]], [0.9])])
    tracks = track_faces(times, dets, config=TrackerConfig(min_hits=3))
    assert len(tracks) == 1
    assert len(track_faces(times, dets, config=TrackerConfig(min_hits=1))) == 2


def test_moving_face_boxes_follow_the_path_between_samples() -> None:
    path = lambda t: box_at(t, vx=200.0)  # noqa: E731
    all_times = np.arange(50) / FPS
    idx = np.arange(0, 50, 5)
    times, dets = frames(50, [path])
    tracks = track_faces(times[idx], [dets[i] for i in idx], frame_times=all_times)
    assert len(tracks) == 1
    tr = tracks[0]
    # frames between samples are interpolated, frames after the last sample (45) predicted
    assert tr.times.tolist() == all_times.tolist()
    assert tr.observed.sum() == len(idx)
    truth = np.array([path(t) for t in all_times])
    iou = np.diag(box_iou(tr.xyxy, truth))
    assert iou.min() > 0.9, iou.min()


def test_two_faces_keep_their_ids() -> None:
    left = lambda t: box_at(t, x0=50, vx=30)  # noqa: E731
    right = lambda t: box_at(t, x0=600, vx=-30)  # noqa: E731
    times, dets = frames(40, [left, right])
    tracks = track_faces(times, dets)
    assert [t.id for t in tracks] == [1, 2]
    for tr, path in zip(tracks, [left, right]):
        truth = np.array([path(t) for t in tr.times])
        assert np.diag(box_iou(tr.xyxy, truth)).min() > 0.95


def test_occlusion_is_bridged_within_max_age_and_not_beyond() -> None:
    path = lambda t: box_at(t, vx=120.0)  # noqa: E731
    hidden = lambda k, t: not 1.0 <= t < 2.5  # noqa: E731  1.5 s occlusion of a moving face
    times, dets = frames(100, [path], visible=hidden)
    tracks = track_faces(times, dets, config=TrackerConfig(max_age_s=2.0))
    assert len(tracks) == 1
    tr = tracks[0]
    assert not tr.observed[(tr.times >= 1.0) & (tr.times < 2.5)].any()
    truth = np.array([path(t) for t in tr.times])
    assert np.diag(box_iou(tr.xyxy, truth)).min() > 0.9
    assert len(track_faces(times, dets, config=TrackerConfig(max_age_s=1.0))) == 2


def test_bridging_rejoins_a_face_that_reappears_off_its_predicted_path() -> None:
    # while hidden the face slowed down: it reappears 80 px (one face height) behind the prediction,
    # where IoU with the predicted box is 0 and only the centre-distance bridge can rejoin it
    path = lambda t: box_at(t, vx=200.0) if t < 2.5 else box_at(t, x0=20.0, vx=200.0)  # noqa: E731
    hidden = lambda k, t: not 1.0 <= t < 2.5  # noqa: E731
    times, dets = frames(100, [path], visible=hidden)
    assert len(track_faces(times, dets, config=TrackerConfig(bridge_distance=1.5))) == 1
    assert len(track_faces(times, dets, config=TrackerConfig(bridge_distance=0.5))) == 2


def test_low_confidence_measurement_moves_the_state_less() -> None:
    config = TrackerConfig()
    moves = []
    for conf in (1.0, 0.2):
        kf = KalmanBoxFilter(np.array([0, 0, 100, 100]), 0.0, config)
        kf.predict(0.04)
        kf.update(np.array([20, 0, 120, 100]), conf)
        moves.append(kf.x[0] - 50)
    assert 0 < moves[1] < moves[0] < 20


def test_tracker_rejects_time_going_back() -> None:
    tracker = FaceTracker()
    tracker.update(1.0, Detections.empty())
    with pytest.raises(InternalError, match="times must increase"):
        tracker.update(1.0, Detections.empty())
    with pytest.raises(InternalError, match="2 times for 1 frames"):
        track_faces(np.array([0.0, 1.0]), [Detections.empty()])


def chunked(times, dets, starts, length):
    """Track each chunk separately (chunks overlap), as Dask workers would."""
    return [
        track_faces(times[s : s + length], dets[s : s + length], first_id=1) for s in starts
    ]


def test_stitching_keeps_one_id_across_overlapping_chunks() -> None:
    left = lambda t: box_at(t, x0=50, vx=40)  # noqa: E731
    right = lambda t: box_at(t, x0=600)  # noqa: E731
    times, dets = frames(100, [left, right])
    chunks = chunked(times, dets, [0, 45, 90], 50)  # 5-frame overlaps; last chunk of 10 frames
    assert [len(c) for c in chunks] == [2, 2, 2]
    stitched = stitch_tracks(chunks)
    assert [t.id for t in stitched] == [1, 2]
    for tr, path in zip(stitched, [left, right]):
        assert tr.times.tolist() == times.tolist()
        truth = np.array([path(t) for t in tr.times])
        assert np.diag(box_iou(tr.xyxy, truth)).min() > 0.95


def test_stitching_keeps_different_faces_apart() -> None:
    a = Track(1, [0.0, 0.04, 0.08], [[0, 0, 10, 10]] * 3, [0.9] * 3)
    b = Track(1, [0.08, 0.12], [[100, 100, 110, 110]] * 2, [0.9] * 2)
    c = Track(2, [0.12, 0.16], [[0, 0, 10, 10]] * 2, [0.9] * 2)  # across a 0.04 s gap
    stitched = stitch_tracks([[a], [b, c]])
    assert [(t.id, t.times.tolist()) for t in stitched] == [
        (1, [0.0, 0.04, 0.08, 0.12, 0.16]),
        (2, [0.08, 0.12]),
    ]
    assert stitch_tracks([[a], [c]], max_gap_s=0.01)[1].id == 2


def test_track_validates_lengths_and_order() -> None:
    with pytest.raises(InternalError, match="lengths differ"):
        Track(1, [0.0, 1.0], [[0, 0, 1, 1]], [0.5, 0.5])
    with pytest.raises(InternalError, match="strictly increasing"):
        Track(1, [1.0, 0.0], [[0, 0, 1, 1]] * 2, [0.5, 0.5])
    tr = Track(3, [0.0, 0.04], [[0, 0, 1, 1], [1, 1, 2, 2]], [0.5, 0.5])
    assert tr.at(0.04).tolist() == [1, 1, 2, 2] and tr.at(0.02) is None


def test_embeddings_keep_a_different_person_in_the_same_place_off_a_track() -> None:
    # person A sits at the box for 10 samples, then person B takes the same place for 10 more
    times, dets = frames(20, [lambda t: box_at(t)])
    a, b = np.eye(4, dtype=np.float32)[:2]
    faces = [(a if k < 10 else b)[None] for k in range(20)]
    by_box = track_faces(times, dets, embeddings=faces)
    assert [(t.id, len(t)) for t in by_box] == [(1, 20)]  # no limit configured: boxes alone decide
    config = TrackerConfig(max_embedding_distance=0.5)
    by_face = track_faces(times, dets, embeddings=faces, config=config)
    assert [(t.id, len(t), t.start) for t in by_face] == [(1, 10, 0.0), (2, 10, 10 / FPS)]
    assert np.allclose(by_face[0].embedding, a) and np.allclose(by_face[1].embedding, b)


def test_embeddings_break_an_iou_tie_between_two_overlapping_faces() -> None:
    # two faces overlap heavily; at each sample their detections arrive in swapped order
    times = np.arange(12) / FPS
    left, right = [100, 100, 180, 180], [130, 100, 210, 180]
    a, b = np.eye(4, dtype=np.float32)[:2]
    dets, faces = [], []
    for k in range(12):
        order = [left, right] if k % 2 == 0 else [right, left]
        dets.append(Detections(np.asarray(order, np.float32), [0.9, 0.9]))
        faces.append(np.stack([a, b]))  # the embeddings follow the order, not the box
    config = TrackerConfig(max_embedding_distance=0.5, embedding_weight=2.0)
    tracks = track_faces(times, dets, embeddings=faces, config=config)
    assert len(tracks) == 2
    for tr in tracks:  # each track holds one person: its embedding is pure, its boxes alternate
        assert np.isclose(np.abs(tr.embedding).max(), 1.0)


def test_embeddings_must_match_the_frames() -> None:
    times, dets = frames(3, [lambda t: box_at(t)])
    with pytest.raises(InternalError, match="embeddings"):
        track_faces(times, dets, embeddings=[None])


def test_a_persistent_weak_lone_candidate_is_rejected_not_tracked() -> None:
    # a face both members see, and a seal one member sees at 0.6 on every frame
    times = np.arange(15) / FPS
    face, seal = box_at(0), [400.0, 300.0, 480.0, 400.0]
    dets = [Detections([face, seal], [0.95, 0.6], support=[2, 1]) for _ in times]
    tracker = FaceTracker()
    for t, d in zip(times, dets):
        tracker.update(float(t), d)
    tracks, rejected = tracker.tracks(times), tracker.rejected()
    assert len(tracks) == 1 and np.allclose(tracks[0].xyxy[0], face, atol=1e-3)
    assert len(rejected) == 1 and np.allclose(rejected[0].xyxy, [seal], atol=1e-3)
    assert rejected[0].times.tolist() == times.tolist()


@pytest.mark.parametrize("support, confidence", [(2, 0.6), (1, 0.85)])
def test_agreement_or_a_strong_score_is_evidence_of_a_face(support, confidence) -> None:
    times = np.arange(10) / FPS
    dets = [Detections([box_at(0)], [confidence], support=[support]) for _ in times]
    assert len(track_faces(times, dets)) == 1
    weak = [Detections([box_at(0)], [0.6], support=[1]) for _ in times]
    assert track_faces(times, weak) == []


def test_weak_detections_extend_a_confirmed_track() -> None:
    times = np.arange(12) / FPS
    dets = [Detections([box_at(0)], [0.95 if i < 3 else 0.6], support=[1]) for i in range(12)]
    tracks = track_faces(times, dets)
    assert len(tracks) == 1 and len(tracks[0]) == 12
