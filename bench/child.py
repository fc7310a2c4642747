"""Measurements that need their own process: the clip job (peak RSS, Prefect) and the Dask face flow.

``python -m bench.child <mode> <params-json> <out-json>`` runs one measurement and writes its figures
to ``out-json``; :func:`run_child` is the parent's side. Each child starts its ephemeral Prefect server
before the clock runs, so the server start is reported apart from the job. A job's CPU seconds (its
process and the ffmpeg processes it waited for) are reported beside its wall time: on shared, loaded
cores they move far less than the wall time does.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WARM_UP_S = 2.0


def run_child(
    mode: str, params: dict[str, Any], *, env: dict[str, str], timeout_s: float = 3600, code: Path = REPO
) -> dict[str, Any]:
    """Run this checkout's ``bench.child`` on the code base in `code` (default: this checkout) in a fresh
    interpreter and return what it measured; raise with its stderr tail.

    The measuring code is this file whatever `code` is, so a baseline commit is measured the same way.
    """
    with tempfile.TemporaryDirectory(prefix="bench-child-") as folder:
        out = Path(folder) / "out.json"
        path = {"PYTHONPATH": str(code)} if code != REPO else {}
        script = f"import runpy, sys; sys.argv[0] = {__file__!r}; runpy.run_path(sys.argv[0], run_name='__main__')"
        result = subprocess.run(
            [sys.executable, "-c", script, mode, json.dumps(params), str(out)],
            cwd=code, env={**os.environ, **env, **path}, capture_output=True, text=True, timeout=timeout_s,
            check=False,
        )
        if result.returncode != 0 or not out.is_file():
            tail = " | ".join(result.stderr.strip().splitlines()[-3:])
            raise RuntimeError(f"bench.child {mode} exit {result.returncode}: {tail}")
        return json.loads(out.read_text())


def start_prefect_server() -> Any:
    """A Prefect API server in its own process on a free port; ``.api_url``, ``.stop()``.

    Measurements of the flow process point ``PREFECT_API_URL`` at it. Without a URL every process
    starts an ephemeral server of its own; against one, a long batch's flow process keeps
    restarting Prefect's event services and grows about 1.2 MiB per request (measured: flat at
    570 MiB over 90 requests against this server, +124 MiB per 100 requests without it).
    """
    from prefect.server.api.server import SubprocessASGIServer

    from clipmill.ports import free_loopback_ports

    [port] = free_loopback_ports(1)  # an explicit port keeps it apart from Prefect's per-process ephemeral one
    server = SubprocessASGIServer(port=port)
    server.start()
    return server


def _start_prefect() -> float:
    """Seconds to bring up (or reach) the Prefect API this process will use."""
    from prefect.client.orchestration import get_client

    started = time.perf_counter()
    with get_client(sync_client=True) as client:
        client.api_healthcheck()
    return time.perf_counter() - started


def _peak_rss_mb() -> dict[str, float]:
    """Peak resident memory of this process plus its contracts process, and of its largest waited-for
    child (ffmpeg), in MiB. The contracts process (`clipmill.quality.contracts_worker`: pandas and GE)
    is counted by its resident size now, about its peak: it holds one clip's tables at a time."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    contracts = sum(p.memory_info().rss for p in _contracts_processes()) / 2**20
    return {
        "peak_rss_mb": own + contracts, "own_peak_rss_mb": own, "contracts_rss_mb": contracts,
        "children_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process, the children it waited for (ffmpeg) and
    its live contracts process."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    contracts = sum(sum(p.cpu_times()[:2]) for p in _contracts_processes())
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + contracts


def _contracts_processes() -> list[Any]:
    """The contracts process a clip job of this process started, while it lives."""
    import psutil

    return [p for p in psutil.Process().children() if "clipmill.quality.contracts_worker" in p.cmdline()]


def clip_job(params: dict[str, Any]) -> dict[str, Any]:
    """Bare ffmpeg re-encode of the range, then `process_clip` on it, both timed in this process.

    With ``warm_up``, a short job on the first `WARM_UP_S` seconds runs first, so the measured job
    finds clipmill imported and its models loaded, as every job after the first of a library batch does.
    ``bare: false`` skips the encode (peak-RSS runs: ffmpeg's memory is not this process's).
    """
    from bench.media import bare_encode_args
    from clipmill.cli.api import process_clip
    from clipmill.config import ClipOptions

    source, end = Path(params["source"]), float(params["end_s"])
    options = {**params.get("options", {}), "clip_name": f"bench-{uuid.uuid4().hex[:8]}"}
    chosen = ClipOptions(**options)
    work = Path(tempfile.mkdtemp(prefix="bench-job-", dir=params["work"]))
    started, cpu_before = time.perf_counter(), _cpu_s()
    if params.get("bare", True):
        subprocess.run(bare_encode_args(source, work / "bare.mp4", start_s=0.0, end_s=end, preset=chosen.preset,
                                        crf=chosen.crf), check=True, capture_output=True)
    bare_s = time.perf_counter() - started if params.get("bare", True) else None
    bare_cpu_s = _cpu_s() - cpu_before if params.get("bare", True) else None
    server_s = _start_prefect()
    warm_up_s = None
    if params.get("warm_up"):
        started = time.perf_counter()
        process_clip(str(source), start=0.0, end=WARM_UP_S, out_dir=work / "warm-up",
                     **{**options, "clip_name": f"{options['clip_name']}-warm-up"})
        warm_up_s = time.perf_counter() - started
    started, cpu_before = time.perf_counter(), _cpu_s()
    result = process_clip(str(source), start=0.0, end=end, out_dir=work / "clips", **options)
    job_s = time.perf_counter() - started
    return {
        "bare_ffmpeg_s": bare_s, "server_start_s": server_s, "job_wall_s": job_s, "warm_up_s": warm_up_s,
        "bare_ffmpeg_cpu_s": bare_cpu_s, "job_cpu_s": _cpu_s() - cpu_before,
        "timings_s": result.manifest.timings_s, "clip_path": str(result.clip_path),
        "clip_duration_s": result.duration_s, "reused": result.reused, **_peak_rss_mb(),
    }


def face_flow(params: dict[str, Any]) -> dict[str, Any]:
    """Upload the segment; run the `face_tracks` flow on its first ``window_s`` on ``workers`` Dask processes."""
    from clipmill.media import probe
    from flows.faces import face_tracks
    from tasks.runtime import object_store

    segment = Path(params["segment"])
    os.environ["CLIPMILL_DASK_WORKERS"] = str(params["workers"])
    info = probe(segment)
    duration_s = min(float(params["window_s"]), info.duration_s)
    job_id = f"bench-faces-{uuid.uuid4().hex[:12]}"
    key = f"jobs/{job_id}/segment.mp4"
    object_store().put_file(key, segment, content_type="video/mp4")
    server_s = _start_prefect()
    width, height = info.display_size
    started = time.perf_counter()
    result = face_tracks(job_id, key, duration_s, info.fps, width, height, segment_path=str(segment))
    wall_s = time.perf_counter() - started
    return {
        "duration_s": duration_s, "wall_s": wall_s, "server_start_s": server_s,
        "chunks": len(result["chunk_keys"]), "n_tracks": result["summary"]["n_tracks"],
    }


MODES = {"job": clip_job, "faces": face_flow}


def main(argv: list[str]) -> None:
    mode, params, out = argv
    Path(out).write_text(json.dumps(MODES[mode](json.loads(params))))


if __name__ == "__main__":
    main(sys.argv[1:])
