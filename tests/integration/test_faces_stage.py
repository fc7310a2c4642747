"""The face stage for real: Prefect flow, a 2-worker Dask LocalCluster, SeaweedFS, ffmpeg, real faces.

One LocalCluster serves the whole module (its start-up is the slow part); the flow reaches it through
``CLIPMILL_DASK_ADDRESS``, the configuration a deployment with a shared scheduler uses. Its workers
were spawned after the store fixture set ``CLIPMILL_STORAGE__*``, so they find the store the way
production workers do: through their environment.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterName
from prefect.client.schemas.sorting import FlowRunSort

from clipmill.errors import InputError
from clipmill.vision.faces_io import read_cut_times, read_tracks, write_tracks
from clipmill.vision.tracking import Track
from flows.faces import dask_runner_options, face_tracks
from tests.media_factory import ffmpeg

TALKERS = 11
TALKER_S = 3.0


@pytest.fixture(scope="module")
def dask_address(seaweed) -> Iterator[str]:
    """A 2-worker LocalCluster started after the store settings are in the environment."""
    from distributed import LocalCluster

    started = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    print(f"LocalCluster(2 workers) started in {time.perf_counter() - started:.2f} s")
    previous = os.environ.get("CLIPMILL_DASK_ADDRESS")
    os.environ["CLIPMILL_DASK_ADDRESS"] = cluster.scheduler_address
    yield cluster.scheduler_address
    if previous is None:
        os.environ.pop("CLIPMILL_DASK_ADDRESS", None)
    else:
        os.environ["CLIPMILL_DASK_ADDRESS"] = previous
    cluster.close()


def upload_segment(store, path: Path) -> tuple[str, str]:
    job_id = f"faces-{uuid.uuid4().hex[:12]}"
    key = f"jobs/{job_id}/segment.mp4"
    store.put_file(key, path, content_type="video/mp4")
    return job_id, key


def tasks_done_on_cluster(address: str) -> int:
    """Distinct tasks the cluster's workers have finished so far (the scheduler's transition log)."""
    from distributed import Client

    with Client(address, set_as_default=False) as client:
        return client.run_on_scheduler(
            lambda dask_scheduler: len({entry[0] for entry in dask_scheduler.transition_log if entry[2] == "memory"})
        )


def stored_tracks(store, key: str, tmp_path: Path) -> list[Track]:
    return read_tracks(store.get_file(key, tmp_path / Path(key).name))


def test_each_talker_gets_exactly_one_track_and_a_rerun_skips_stored_chunks(
    clip_env, dask_address, sample_video, tmp_path
):
    store = clip_env
    job_id, segment_key = upload_segment(store, sample_video)
    done_before = tasks_done_on_cluster(dask_address)
    started = time.perf_counter()
    result = face_tracks(job_id, segment_key, 33.0, "25/1", 360, 288, chunk_s=10.0)
    first_s = time.perf_counter() - started
    assert tasks_done_on_cluster(dask_address) - done_before == 4  # the chunks ran on the Dask workers
    print(f"face_tracks 33 s @ 25 fps, 4 chunks on 2 workers: {first_s:.2f} s ({825 / first_s:.0f} frames/s)")

    assert result["chunk_keys"] == [f"jobs/{job_id}/faces/chunk-{k}.parquet" for k in range(4)]
    assert result["tracks_key"] == f"jobs/{job_id}/tracks.parquet"
    tracks = stored_tracks(store, result["tracks_key"], tmp_path)
    summary = json.loads(store.get_bytes(f"jobs/{job_id}/tracks.json"))
    assert summary == result["summary"] and summary["n_tracks"] == len(tracks) == TALKERS
    for k, track in enumerate(tracks):
        # one id per talker, never merged across the hard cut to the next one (the faces sit at the
        # same place, so IoU alone would join them: the cut splits the tracker's shots)
        assert track.id == k + 1
        assert track.start == pytest.approx(k * TALKER_S)
        assert track.end == pytest.approx((k + 1) * TALKER_S - 1 / 25)
        assert len(track) == 75 and np.all(np.diff(track.times) == pytest.approx(1 / 25))
        assert np.all(track.xyxy[:, 2] - track.xyxy[:, 0] > 60)
    # talkers 4 and 7 span the chunk boundaries at 10 s and 20 s and kept one id
    assert tracks[3].start < 10.0 < tracks[3].end and tracks[6].start < 20.0 < tracks[6].end
    # the shots are found once, while detecting, and stored with the tracks for framing
    cuts = [k * TALKER_S for k in range(1, TALKERS)]
    assert summary["cut_times_s"] == pytest.approx(cuts)
    assert read_cut_times(store.get_file(result["tracks_key"], tmp_path / "cuts.parquet")).tolist() == pytest.approx(cuts)

    # resume: replace a stored chunk; a re-run must use it as it is, not recompute it
    with_no_faces = write_tracks([], tmp_path / "empty.parquet")
    store.put_file(result["chunk_keys"][3], with_no_faces)
    again = face_tracks(job_id, segment_key, 33.0, "25/1", 360, 288, chunk_s=10.0)
    assert again["summary"]["n_tracks"] == TALKERS - 1
    assert stored_tracks(store, again["tracks_key"], tmp_path)[-1].end < 30.0


def test_a_single_talker_keeps_one_id_across_chunk_boundaries(clip_env, dask_address, shared_media, tmp_path):
    clip = shared_media / "video" / "grid" / "bbaf2n.mpg"
    looped = tmp_path / "bbaf2n_x3.mp4"
    # forward, backward, forward: 9 s of one talker without a jump at the joins (a plain loop would
    # jump back to the first frame, which is a cut)
    ffmpeg(
        "-i", str(clip), "-filter_complex", "[0:v]split=3[a][b][c];[b]reverse[r];[a][r][c]concat=n=3:v=1:a=0",
        "-an", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(looped),
    )
    store = clip_env
    job_id, segment_key = upload_segment(store, looped)
    result = face_tracks(job_id, segment_key, 9.0, "25/1", 360, 288, chunk_s=2.0, segment_path=str(looped))

    assert len(result["chunk_keys"]) == 5
    tracks = stored_tracks(store, result["tracks_key"], tmp_path)
    assert [t.id for t in tracks] == [1]
    assert result["summary"]["dominant_track_id"] == 1
    assert len(tracks[0]) >= 0.97 * 225 and tracks[0].start == 0.0

    # the run and its chunks are named for what they work on (this is the session's only 9 s segment)
    with get_client(sync_client=True) as client:
        [run, *_] = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=["face-tracks[360x288, 9 s, uniform]"])),
            sort=FlowRunSort.START_TIME_DESC,
        )
        chunk_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
    assert {"detect-faces-chunk[0 at 0.0 s]", "detect-faces-chunk[4 at 8.0 s]"} <= {r.name for r in chunk_runs}


def test_runner_options_follow_the_environment():
    assert dask_runner_options({}) == {
        "cluster_class": "distributed.LocalCluster",
        "cluster_kwargs": {"n_workers": 2, "threads_per_worker": 1, "processes": True, "dashboard_address": ":0"},
    }
    assert dask_runner_options({"CLIPMILL_DASK_WORKERS": "3"})["cluster_kwargs"]["n_workers"] == 3
    assert dask_runner_options({"CLIPMILL_DASK_ADDRESS": "tcp://sched:8786", "CLIPMILL_DASK_WORKERS": "3"}) == {
        "address": "tcp://sched:8786"
    }
    cuda = dask_runner_options({"CLIPMILL_DASK_CUDA": "1"})
    try:
        import dask_cuda  # noqa: F401

        assert cuda["cluster_class"] == "dask_cuda.LocalCUDACluster"
    except ImportError:
        assert cuda["cluster_class"] == "distributed.LocalCluster"
    with pytest.raises(InputError, match="CLIPMILL_DASK_WORKERS"):
        dask_runner_options({"CLIPMILL_DASK_WORKERS": "zero"})


def test_parquet_round_trip_is_exact(tmp_path):
    track = Track(4, np.arange(3) / 25, np.asarray([[1.25, 2, 3, 4]] * 3), [0.5, 0.6, 0.7], [True, False, True])
    written = write_tracks([track], tmp_path / "t.parquet", cut_times_s=np.array([0.04, 1.5]))
    back = read_tracks(written)
    assert read_cut_times(written).tolist() == [0.04, 1.5]
    assert read_cut_times(write_tracks([track], tmp_path / "none.parquet")).tolist() == []
    assert len(back) == 1 and back[0].id == 4
    assert np.array_equal(back[0].times, track.times) and np.array_equal(back[0].xyxy, track.xyxy)
    assert np.array_equal(back[0].confidence, track.confidence) and back[0].observed.tolist() == [True, False, True]


def test_a_local_cluster_starts_only_where_it_can_pay_for_itself(monkeypatch):
    from flows.faces import face_flow_for

    def runner(duration_s: float) -> str:
        return type(face_flow_for(duration_s).task_runner).__name__

    for name in ("CLIPMILL_DASK_ADDRESS", "CLIPMILL_DASK_CUDA", "CLIPMILL_DASK_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert (runner(15.0), runner(600.0)) == ("ThreadPoolTaskRunner", "ThreadPoolTaskRunner")
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert (runner(15.0), runner(600.0)) == ("ThreadPoolTaskRunner", "EnvDaskTaskRunner")
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setenv("CLIPMILL_DASK_WORKERS", "2")  # asked for explicitly
    assert runner(600.0) == "EnvDaskTaskRunner"
    monkeypatch.delenv("CLIPMILL_DASK_WORKERS")
    monkeypatch.setenv("CLIPMILL_DASK_ADDRESS", "tcp://scheduler:8786")
    assert runner(15.0) == "EnvDaskTaskRunner"
