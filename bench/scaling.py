"""Scaling: one library batch with faces on, its face chunks on an external Dask cluster of 1, then 2 workers.

``python -m bench --scaling`` runs it alone (results in ``results/scaling/``); the full run includes it.
For each run the bench process starts a ``distributed.LocalCluster`` of single-threaded
worker processes and runs the batch (``python -m bench.load``, the load group's child: 8 four-second
clips of the 720p bench input, ``detect_faces`` on) with ``CLIPMILL_DASK_ADDRESS`` set to the
cluster's scheduler, so every clip job's face stage sends its chunks there whatever the segment's
length (`flows.faces.face_flow_for`). Each run gets its own bucket: the batch is idempotent, and a
second run in the same bucket would only reuse the first one's published clips (each bucket is
dropped once measured: the embedded store has few volumes). The runs go 1, 2, 2, 1
workers (``ORDER``) so that a drift in the shared machine's load weighs on both counts alike.

The workers are started here, not by the flow, so they get the settings a real external cluster
needs: the clipmill home and bucket, and the URL of a Prefect server this module starts once for
both runs (without it each worker would start its own ephemeral server inside the measured time).
Whether the chunks really ran on the cluster is checked three ways: the scheduler's task stream
(which worker ran each ``detect_faces_chunk`` task, and for how long), the scheduler's transition
log (chunk keys that reached memory) and each worker's executed-task count. A chunk Dask calls done
may still hold a failed Prefect state, so a run is only counted when all its clips were published
(their manifests carry the face tracks) and at least that many chunks were done on the cluster.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter
from typing import Any

from bench.buckets import drop_bucket
from bench.child import start_prefect_server
from bench.load import run_batch_process
from bench.media import talking_head
from bench.rows import Row, guarded

GROUP = "scaling"
CLIPS = 8
CLIP_S = 4.0
#: the bench input the clips are cut from (1280x720, 25 fps, built and cached by bench.media)
INPUT_S = 60.0
WORKERS = (1, 2)
#: the runs, in order: each worker count twice, mirrored
ORDER = (1, 2, 2, 1)
MAX_CONCURRENCY = 2
OPTIONS = {"detect_faces": True}
#: `face_tracks`' chunk length: a 4 s clip is one chunk
FACE_CHUNK_S = 10.0
CHUNK_TASK = ("detect_faces_chunk", "detect-faces-chunk")


def scaling_rows(*, env: dict[str, str], order: tuple[int, ...] = ORDER, timeout_s: float = 1800) -> list[Row]:
    """A row per run (clips/min, where the chunks ran), one per worker count, then the ratio of the counts."""
    measured: dict[int, list[dict[str, Any]]] = {}
    started = time.perf_counter()
    try:
        server = start_prefect_server()
    except Exception as exc:  # noqa: BLE001 - reported as a row like every other failure
        return guarded(GROUP, "prefect server start", lambda: _raise(exc))
    rows = [Row(GROUP, "prefect server start", seconds=time.perf_counter() - started,
                detail=f"one server for both runs and their Dask workers ({server.api_url})")]
    try:
        source = talking_head(INPUT_S)
        for k, count in enumerate(order):
            name = f"{_name(count)}, run {order[:k + 1].count(count)}"
            rows += guarded(GROUP, name, lambda n=count, name=name: [
                _batch_on_cluster(n, name, source, env, server.api_url, timeout_s, measured)])
    finally:
        server.stop()
    return rows + _total_rows(measured, tuple(sorted(set(order))))


def _raise(exc: Exception) -> list[Row]:
    raise exc


def _name(workers: int) -> str:
    return f"batch of {CLIPS} x {CLIP_S:.0f} s clips, faces, {workers} dask worker{'s' if workers > 1 else ''}"


def _batch_on_cluster(workers: int, name: str, source: Any, env: dict[str, str], api_url: str, timeout_s: float,
                      measured: dict[int, list[dict[str, Any]]]) -> Row:
    from distributed import Client, LocalCluster, get_task_stream

    bucket = f"bench-scaling-{workers}w-{uuid.uuid4().hex[:8]}"
    run_env = {**env, "CLIPMILL_STORAGE__BUCKET": bucket, "PREFECT_API_URL": api_url}
    worker_env = {key: value for key, value in run_env.items() if key.startswith(("CLIPMILL_", "PREFECT_"))}
    params = {"requests": CLIPS, "clip_s": CLIP_S, "step_s": CLIP_S, "source": str(source), "options": OPTIONS,
              "max_concurrency": MAX_CONCURRENCY, "batch_size": CLIPS}
    started = time.perf_counter()
    try:
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                          env=worker_env) as cluster, Client(cluster) as client:
            client.wait_for_workers(workers)
            cluster_s = time.perf_counter() - started
            with get_task_stream(client=client) as stream:
                result = run_batch_process(
                    params, env={**run_env, "CLIPMILL_DASK_ADDRESS": cluster.scheduler_address}, timeout_s=timeout_s
                )
            on_cluster = _where_chunks_ran(client, stream.data)
    finally:
        drop_bucket(env["CLIPMILL_HOME"], bucket)
    counts = result["counts"]
    done = counts["published"] + counts["reused"]
    expected = done * math.ceil(CLIP_S / FACE_CHUNK_S)
    clips_per_min = 60 * done / result["wall_s"]
    verified = on_cluster["chunks_ok"] >= expected > 0 and on_cluster["scheduler_chunk_keys"] >= expected
    measured.setdefault(workers, []).append({
        "clips": done, "failed": counts["failed"], "wall_s": result["wall_s"], "verified": verified,
        "clips_per_min": clips_per_min,
        "chunk_compute_s": on_cluster["chunk_compute_s"], "chunks": on_cluster["chunks_ok"],
    })
    per_worker = ", ".join(f"{n}" for n in on_cluster["chunks_per_worker"].values()) or "none"
    detail = (
        f"{clips_per_min:.1f} clips/min; {counts['published']} published, {counts['reused']} reused, "
        f"{counts['failed']} failed; face chunks on the cluster: {on_cluster['chunks_ok']}/{expected} expected "
        f"(task stream, per worker: {per_worker}; {on_cluster['scheduler_chunk_keys']} chunk keys reached memory "
        f"on the scheduler; workers executed {sum(on_cluster['executed_per_worker'].values())} tasks)"
        f"{'' if verified else ' NOT VERIFIED'}; chunk compute {on_cluster['chunk_compute_s']:.1f} s on workers "
        f"(detector start included); cluster start {cluster_s:.1f} s not counted; 1280x720 input, "
        f"max_concurrency {MAX_CONCURRENCY}, own bucket (dropped after); 2 shared cores: noisy"
    )
    data = {**result, "workers": workers, "cluster_start_s": cluster_s, "clips_per_min": clips_per_min,
            "expected_chunks": expected, "verified_on_cluster": verified, **on_cluster}
    return Row(GROUP, name, seconds=result["wall_s"], detail=detail, data=data)


def _where_chunks_ran(client: Any, stream: list[dict[str, Any]]) -> dict[str, Any]:
    """Face-chunk tasks per worker and their compute seconds (task stream), cross-checked on the scheduler."""
    chunks = [task for task in stream if _is_chunk(task.get("key"))]
    ok = [task for task in chunks if task.get("status") == "OK"]
    return {
        "tasks_in_stream": len(stream),
        "chunks_ok": len(ok),
        "chunks_failed": len(chunks) - len(ok),
        "chunks_per_worker": dict(Counter(task["worker"] for task in ok)),
        "chunk_compute_s": sum(part["stop"] - part["start"] for task in ok for part in task["startstops"]
                               if part.get("action") == "compute"),
        "scheduler_chunk_keys": len(client.run_on_scheduler(_chunk_keys_in_memory)),
        "executed_per_worker": client.run(_executed_count),
    }


def _is_chunk(key: Any) -> bool:
    return any(name in str(key) for name in CHUNK_TASK)


def _chunk_keys_in_memory(dask_scheduler: Any) -> list[str]:
    """Runs on the scheduler: every face-chunk task key that finished (reached memory)."""
    return sorted({str(entry[0]) for entry in dask_scheduler.transition_log
                   if entry[2] == "memory" and _is_chunk(entry[0])})


def _executed_count(dask_worker: Any) -> int:
    """Runs on each worker: how many tasks it executed."""
    return dask_worker.state.executed_count


def _total_rows(measured: dict[int, list[dict[str, Any]]], counts: tuple[int, ...]) -> list[Row]:
    """Per worker count: clips over wall time of its clean runs; then the last count over the first.

    A run counts when every clip was published and its chunks were seen on the cluster; the others
    (a failing clip job says nothing about scaling) are named and left out.
    """
    rows, rate = [], {}
    for workers in counts:
        runs = [run for run in measured.get(workers, []) if run["verified"] and not run["failed"]]
        left_out = len(measured.get(workers, [])) - len(runs)
        if not runs:
            continue
        clips, wall_s = sum(run["clips"] for run in runs), sum(run["wall_s"] for run in runs)
        rate[workers] = 60 * clips / wall_s
        chunk_s = sum(run["chunk_compute_s"] for run in runs) / max(1, sum(run["chunks"] for run in runs))
        per_run = ", ".join(f"{run['clips_per_min']:.1f}" for run in runs)
        rows.append(Row(GROUP, f"{_name(workers)}, all runs", seconds=wall_s / len(runs),
                        detail=f"{rate[workers]:.1f} clips/min over {len(runs)} clean run(s) (runs: {per_run})"
                               f"{f', {left_out} run(s) with failures left out' if left_out else ''}; "
                               f"{chunk_s:.1f} s of worker compute per face chunk; seconds: mean batch wall",
                        data={"clips_per_min": rate[workers], "runs": runs}))
    name = f"batch with faces, {counts[0]}→{counts[-1]} dask workers"
    if len(rate) < len(counts) or len(counts) < 2:
        return rows + [Row(GROUP, name, detail="error: no clean batch-on-cluster run for every worker count")]
    first, last = rate[counts[0]], rate[counts[-1]]
    ratio = last / first
    detail = (f"{last:.1f} / {first:.1f} clips/min = {ratio:.2f}x over the clean runs, whose face chunks were all "
              f"seen on the cluster; 2x only if the chunks were all the work: the flow process, ffmpeg and the "
              f"Prefect server share the same 2 cores; 2 shared cores: noisy")
    return rows + [Row(GROUP, name, detail=detail, data={
        "ratio": ratio, "clips_per_min": {str(k): v for k, v in rate.items()}})]
