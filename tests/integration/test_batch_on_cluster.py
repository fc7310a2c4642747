"""A batch whose clip jobs run their face stage on a real 2-worker Dask LocalCluster.

Six requests (one of them bad) through `library_batch` with faces on and `CLIPMILL_DASK_ADDRESS`
pointing at the cluster: five clips published, one failure recorded with its reason, the face
chunks executed on the cluster's workers, and a re-run that reuses all five.
"""

from __future__ import annotations

import json
import uuid

import pytest
from distributed import Client, LocalCluster

from flows.library_batch import library_batch

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

FACES_ON = {"remove_silence": False, "detect_faces": True}


def face_chunk_keys(dask_scheduler) -> list[str]:
    """Runs on the scheduler: every task key that finished, restricted to face-chunk detections."""
    return sorted({str(entry[0]) for entry in dask_scheduler.transition_log
                   if entry[2] == "memory" and "detect_faces_chunk" in str(entry[0])})


@pytest.fixture
def cluster(clip_env, monkeypatch):
    """Two single-threaded worker processes; started after the store settings are in the environment."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local:
        monkeypatch.setenv("CLIPMILL_DASK_ADDRESS", local.scheduler_address)
        yield local


def test_a_batch_with_faces_runs_its_chunks_on_the_cluster_and_reruns_from_the_store(clip_env, cluster, sample_video):
    prefix = f"cluster-batch/{uuid.uuid4().hex[:8]}/"
    clip_env.put_file(prefix + "talk.mp4", sample_video, content_type="video/mp4")
    source = clip_env.uri(prefix + "talk.mp4")
    rows = [{"source": source, "start": float(s), "end": float(s) + 1.5, "options": FACES_ON} for s in (1, 4, 7, 10, 13)]
    rows.append({"source": source, "start": 30.0, "end": 45.0, "options": FACES_ON})
    key = prefix + "requests.jsonl"
    clip_env.put_bytes(key, "\n".join(json.dumps(row) for row in rows).encode(), content_type="application/x-ndjson")

    first = library_batch(requests_key=key, max_concurrency=2, batch_size=3)
    assert first["counts"] == {"requests": 6, "published": 5, "reused": 0, "failed": 1, "duplicates": 0}, first["counts"]
    failed = next(result for result in first["results"] if result["status"] == "failed")
    assert "past the end of the source" in failed["reason"]
    for result in first["results"]:
        if result["status"] == "published":
            manifest = json.loads(clip_env.get_bytes(result["manifest_uri"].split("/", 3)[3]))
            assert manifest["stages"]["tracks"]["n_tracks"] >= 1

    with Client(cluster.scheduler_address) as client:
        chunks = client.run_on_scheduler(face_chunk_keys)
    assert len(chunks) >= 5, f"face chunks ran on the cluster: {chunks}"

    again = library_batch(requests_key=key, max_concurrency=2, batch_size=3)
    assert again["counts"] == {"requests": 6, "published": 0, "reused": 5, "failed": 1, "duplicates": 0}
