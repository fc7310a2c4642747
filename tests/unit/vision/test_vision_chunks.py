"""Chunk planning, sampling decisions, shot-aware tracking, stitching and track tables: exact values."""

from __future__ import annotations

import numpy as np
import pytest

from clipmill.errors import InputError, InternalError
from clipmill.vision.chunks import (
    ChunkSpec,
    SamplingConfig,
    choose_samples,
    count_frames,
    find_cuts,
    find_dissolves,
    fps_value,
    merge_cut_times,
    ChunkFaces,
    plan_chunks,
    shift_faces,
    stitch_chunks,
    summarize_tracks,
    table_to_tracks,
    track_shots,
    tracks_to_table,
)
from clipmill.vision.detections import Detections
from clipmill.vision.tracking import Track

FPS = 25.0


def face(box) -> Detections:
    return Detections(np.asarray([box], np.float32), [0.9])


def test_plan_chunks_strides_on_the_frame_grid_and_overlaps() -> None:
    specs = plan_chunks(33.0, fps=FPS, chunk_s=10.0, overlap_frames=4)
    assert specs == [
        ChunkSpec(0, 0.0, 254 / FPS, 33.0),
        ChunkSpec(1, 10.0, 254 / FPS, 33.0),
        ChunkSpec(2, 20.0, 254 / FPS, 33.0),
        ChunkSpec(3, 30.0, 3.0, 33.0),
    ]
    assert [s.n_frames(FPS) for s in specs] == [254, 254, 254, 75]


def test_plan_chunks_merges_a_short_tail_and_shifts_by_start() -> None:
    specs = plan_chunks(20.48, fps=FPS, chunk_s=10.0, overlap_frames=2, start_s=4.0)
    assert specs == [ChunkSpec(0, 4.0, 252 / FPS, 24.48), ChunkSpec(1, 14.0, 262 / FPS, 24.48)]
    assert specs[-1].end_s == pytest.approx(24.48)


def test_plan_chunks_short_segment_is_one_chunk() -> None:
    assert plan_chunks(2.0, fps=FPS, chunk_s=10.0) == [ChunkSpec(0, 0.0, 2.0, 2.0)]
    assert count_frames(2.0, FPS) == 50


@pytest.mark.parametrize("kwargs", [{"chunk_s": 0}, {"overlap_frames": -1}])
def test_plan_chunks_rejects_bad_parameters(kwargs) -> None:
    with pytest.raises(InputError):
        plan_chunks(10.0, fps=FPS, **kwargs)


def test_fps_value_reads_rationals() -> None:
    assert fps_value("30000/1001") == pytest.approx(29.97002997)
    assert fps_value(25) == 25.0
    with pytest.raises(InputError, match="frame rate"):
        fps_value("0/0")


def test_find_cuts_and_samples_around_them() -> None:
    energy = np.zeros(30)
    energy[17] = 0.1
    assert find_cuts(energy, threshold=0.03).tolist() == [17]
    assert find_cuts(energy, threshold=None).tolist() == []
    chosen = choose_samples(energy, fps=FPS, config=SamplingConfig(rate_hz=5.0))
    assert chosen.tolist() == [0, 5, 10, 15, 16, 17, 20, 25, 29]


def test_choose_samples_is_prefix_stable_except_the_last_frame() -> None:
    rng = np.random.default_rng(0)
    energy = rng.uniform(0, 0.01, 60)
    energy[[20, 41]] = 0.2
    keyframes = np.asarray([0, 13, 50])
    configs = (
        SamplingConfig(rate_hz=5.0),
        SamplingConfig(method="motion", rate_hz=12.5),
        SamplingConfig(method="keyframe", min_rate_hz=1.0),
        SamplingConfig(method="adaptive"),
    )
    for config in configs:
        full = set(choose_samples(energy, fps=FPS, config=config, keyframes=keyframes).tolist())
        for n in range(2, 60):
            chosen = choose_samples(energy[:n], fps=FPS, config=config, keyframes=keyframes)
            prefix = set(chosen.tolist()) - {n - 1}
            assert prefix == {i for i in full if i < n - 1}


def test_sampling_config_rejects_unknown_method() -> None:
    with pytest.raises(InputError, match="keyframe"):
        SamplingConfig(method="scene")


def test_keyframe_and_adaptive_choices_include_key_frames_and_cuts() -> None:
    energy = np.zeros(60)
    energy[40] = 0.1
    keyed = choose_samples(energy, fps=FPS, config=SamplingConfig(method="keyframe", min_rate_hz=1.0),
                           keyframes=np.asarray([0, 13]))
    # key frames 0 and 13 and the cut at 40, each followed by two samples at 5 Hz; 39 ends the shot
    assert keyed.tolist() == [0, 5, 10, 13, 18, 23, 39, 40, 45, 50, 59]
    # adaptive: only the frames that must be seen; the sampler adds the rest as detections arrive
    forced = choose_samples(energy, fps=FPS, config=SamplingConfig(method="adaptive"))
    assert forced.tolist() == [0, 39, 40, 59]


def test_track_shots_does_not_carry_an_id_across_a_cut() -> None:
    times = np.arange(40) / FPS
    sampled = {i: face([100, 100, 180, 180]) for i in range(0, 40, 2)}
    sampled.update({19: face([100, 100, 180, 180]), 20: face([102, 100, 182, 180])})
    one_shot = track_shots(times, sampled).tracks
    two_shots = track_shots(times, sampled, cuts=[20]).tracks
    assert [(t.id, len(t)) for t in one_shot] == [(1, 40)]
    assert [(t.id, t.start, t.end) for t in two_shots] == [(1, 0.0, 19 / FPS), (2, 20 / FPS, 39 / FPS)]


def test_track_shots_reports_its_cuts_and_the_rejected_candidates() -> None:
    times = np.arange(40) / FPS
    seal = Detections([[300, 300, 360, 370]], [0.6])
    sampled = {i: Detections.concat([face([100, 100, 180, 180]), seal]) for i in range(0, 40, 2)}
    found = track_shots(times, sampled, cuts=[20])
    assert found.cut_times_s.tolist() == [20 / FPS]
    assert [t.id for t in found.tracks] == [1, 2]
    assert [(t.id, t.start, t.end) for t in found.rejected] == [(1, 0.0, 18 / FPS), (2, 20 / FPS, 38 / FPS)]


def _blend(a: np.ndarray, b: np.ndarray, n: int, start: int, length: int) -> np.ndarray:
    """``n`` frames going from ``a`` to ``b`` linearly over ``length`` frames from ``start``."""
    w = np.clip((np.arange(n) - start + 1) / (length + 1), 0, 1)[:, None, None]
    return ((1 - w) * a + w * b).astype(np.float32)


def test_a_dissolve_is_one_shot_change_at_its_middle() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random((36, 64)), rng.random((36, 64))
    grey = _blend(a, b, 90, 30, 30)  # frames 30..59 blend, frame 60 on is the new shot
    energy = np.concatenate([[0.0], np.abs(np.diff(grey, axis=0)).mean(axis=(1, 2))])
    assert energy.max() < 0.03  # no single step looks like a hard cut
    found = find_dissolves(grey, energy)
    assert len(found) == 1 and abs(int(found[0]) - 44.5) <= 1


def test_a_hard_cut_or_a_moving_picture_is_no_dissolve() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.random((36, 64)), rng.random((36, 64))
    cut = np.concatenate([np.repeat(a[None], 40, 0), np.repeat(b[None], 40, 0)]).astype(np.float32)
    energy = np.concatenate([[0.0], np.abs(np.diff(cut, axis=0)).mean(axis=(1, 2))])
    assert find_cuts(energy, threshold=0.03).tolist() == [40] and find_dissolves(cut, energy).tolist() == []
    # a picture swinging back and forth by a few pixels changes a lot per step but gets nowhere
    swing = np.stack([np.roll(a, int(3 * np.sin(i / 2)), axis=1) for i in range(80)]).astype(np.float32)
    energy = np.concatenate([[0.0], np.abs(np.diff(swing, axis=0)).mean(axis=(1, 2))])
    assert find_dissolves(swing, energy, hard_threshold=None).tolist() == []


def test_cuts_found_twice_in_overlapping_chunks_are_merged() -> None:
    merged = merge_cut_times([np.array([1.0, 9.96]), np.array([9.96 + 1e-4, 12.0]), np.zeros(0)], fps=FPS)
    assert merged.tolist() == [1.0, 9.96, 12.0]
    assert merge_cut_times([], fps=FPS).tolist() == []


def test_track_shots_rejects_samples_outside_the_chunk() -> None:
    with pytest.raises(InternalError, match="outside"):
        track_shots(np.arange(5) / FPS, {7: face([0, 0, 10, 10])})


def make_track(track_id: int, first: int, last: int, box, *, conf: float = 0.9) -> Track:
    times = np.arange(first, last + 1) / FPS
    return Track(track_id, times, np.tile(np.asarray(box, np.float32), (len(times), 1)), np.full(len(times), conf))


def test_stitch_chunks_keeps_one_id_over_the_overlap_and_splits_a_cut_at_the_boundary() -> None:
    chunk0 = [make_track(1, 0, 253, [100, 100, 180, 180]), make_track(2, 0, 99, [10, 10, 50, 50])]
    chunk1 = [make_track(1, 250, 400, [101, 100, 181, 180]), make_track(2, 100, 180, [10, 10, 50, 50])]
    stitched = stitch_chunks([chunk0, chunk1])
    assert [(t.id, len(t), t.start, t.end) for t in stitched] == [
        (1, 401, 0.0, 400 / FPS),
        (2, 100, 0.0, 99 / FPS),
        (3, 81, 100 / FPS, 180 / FPS),
    ]
    assert stitched[0].xyxy[0].tolist() == [100, 100, 180, 180]
    assert stitched[0].xyxy[-1].tolist() == [101, 100, 181, 180]


def test_track_table_round_trip_is_exact() -> None:
    tracks = [make_track(3, 0, 4, [1.5, 2.5, 3.5, 4.5], conf=0.75), make_track(7, 2, 3, [10, 20, 30, 40])]
    tracks[0].observed[1] = False
    table = tracks_to_table(tracks)
    assert table["track_id"].tolist() == [3, 3, 3, 3, 3, 7, 7]
    assert table["observed"].tolist() == [True, False, True, True, True, True, True]
    assert table["x1"].dtype == np.float32 and table["t"].dtype == np.float64
    back = table_to_tracks({k: v[::-1] for k, v in table.items()})
    assert [t.id for t in back] == [3, 7]
    for a, b in zip(tracks, back):
        assert np.array_equal(a.times, b.times) and np.array_equal(a.xyxy, b.xyxy)
        assert np.array_equal(a.confidence, b.confidence) and np.array_equal(a.observed, b.observed)
    assert table_to_tracks(tracks_to_table([])) == []


def test_table_without_a_column_is_rejected() -> None:
    table = tracks_to_table([make_track(1, 0, 1, [0, 0, 1, 1])])
    del table["observed"]
    with pytest.raises(InternalError, match="observed"):
        table_to_tracks(table)


def test_summary_counts_coverage_and_picks_the_largest_persistent_face() -> None:
    small_long = make_track(1, 0, 99, [0, 0, 10, 10])  # 100 frames x 100 px^2
    large_short = make_track(2, 0, 19, [0, 0, 40, 40])  # 20 frames x 1600 px^2
    summary = summarize_tracks([small_long, large_short], n_frames=200)
    assert summary["n_tracks"] == 2 and summary["dominant_track_id"] == 2
    assert [t["coverage"] for t in summary["tracks"]] == [0.5, 0.1]
    assert summary["tracks"][0] == {
        "id": 1, "start_s": 0.0, "end_s": 99 / FPS, "n_frames": 100, "n_observed": 100, "coverage": 0.5,
        "mean_area_px": 100.0, "mean_confidence": pytest.approx(0.9),
    }
    assert summarize_tracks([], n_frames=10) == {"n_tracks": 0, "n_frames": 10, "dominant_track_id": None, "tracks": []}


def test_shift_faces_moves_tracks_candidates_and_cuts_onto_the_jobs_timeline() -> None:
    # a chunk decoded from the source at 12.5 s: its times come back from 0 at the job's start
    track = Track(1, [12.5, 12.54], [[0, 0, 10, 10]] * 2, [0.9, 0.9])
    seal = Track(1, [13.0], [[50, 50, 60, 60]], [0.6])
    moved = shift_faces(ChunkFaces([track], [seal], np.asarray([12.9])), -12.5)
    assert moved.tracks[0].times.tolist() == pytest.approx([0.0, 0.04])
    assert moved.rejected[0].times.tolist() == pytest.approx([0.5])
    assert moved.cut_times_s.tolist() == pytest.approx([0.4])
    assert moved.tracks[0].xyxy.tolist() == track.xyxy.tolist()
