"""What a fresh `clipmill run` costs beyond its stages, with the local Prefect server already up.

Each measured run is the real `clipmill` script in a new process (imports, settings, the checks,
the flow on the local server, contracts, publish, the download to ``--out``) on a bucket of its own,
so nothing is reused. Its overhead is the wall time minus the stages the manifest timed; the
script's own start-up (a run refused by the checks: imports and settings only) is measured apart,
so the Prefect + contracts + publish share can be told from the import cost. The warm figure is
the same job in a process that has run one already (`bench.child` with a warm-up job, against the
same server), as every job after the first of a library batch or a notebook.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.buckets import drop_bucket
from bench.child import REPO
from bench.job import job_child
from bench.rows import Row, guarded

GROUP = "clip job"
CLIPMILL = str(Path(sys.executable).parent / "clipmill")
RUNS = 3
TARGET_S = 1.5
WARM_RUNS = 2
WARM_TARGET_S = 0.5


def cli_rows(source: Path, duration_s: float, *, env: dict[str, str], work: Path) -> list[Row]:
    """Rows: the local server's first start, the script's start-up, and the per-job overhead of `clipmill run`."""
    return guarded(GROUP, "clipmill run overhead", lambda: _measure(source, duration_s, env=env, work=work))


def _measure(source: Path, duration_s: float, *, env: dict[str, str], work: Path) -> list[Row]:
    from clipmill import prefect_server

    home = Path(env["CLIPMILL_HOME"])
    run_env = {k: v for k, v in {**os.environ, **env}.items() if k != "PREFECT_API_URL"}
    started = time.perf_counter()
    already = prefect_server.running(home)
    server = already or prefect_server.ensure_running(home)
    server_s = time.perf_counter() - started
    try:
        startup = [_refused_run_s(source, run_env, work) for _ in range(RUNS)]
        jobs = [_job(source, duration_s, run_env, work) for _ in range(RUNS + 1)][1:]  # the first warms the OS caches
        warm = [_warm_job(source, duration_s, {**run_env, "PREFECT_API_URL": server.api_url}, work)
                for _ in range(WARM_RUNS)]
    finally:
        if already is None:
            prefect_server.stop(home)
    overhead = [job["wall_s"] - job["stages_s"] for job in jobs]
    prefect_share = [o - statistics.median(startup) for o in overhead]
    return [
        Row(GROUP, "local prefect server start", seconds=server_s,
            detail="already running" if already else f"first run only; later runs reuse it ({server.ui_url})"),
        Row(GROUP, "clipmill run start-up", seconds=statistics.median(startup),
            detail=f"median of {RUNS}: a run the checks refuse (imports, settings, checks; no server, no store)",
            data={"runs_s": startup}),
        Row(GROUP, "clipmill run overhead per job, server up", seconds=statistics.median(overhead),
            detail=f"median of {RUNS} fresh `clipmill run` on {duration_s:.0f} s, no faces: wall - manifest stages "
                   f"(imports included); Prefect + contracts + publish alone {statistics.median(prefect_share):.2f} s "
                   f"(target <= {TARGET_S} s)",
            data={"jobs": jobs, "prefect_contracts_publish_s": prefect_share}),
        Row(GROUP, "clipmill job overhead per job, warm process, server up", seconds=statistics.median(warm),
            detail=f"median of {WARM_RUNS} processes, each timing its second job ({duration_s:.0f} s, no faces): "
                   f"wall - manifest stages (target <= {WARM_TARGET_S} s)",
            data={"overhead_s": warm}),
    ]


def _warm_job(source: Path, duration_s: float, env: dict[str, str], work: Path, *, code: Path = REPO) -> float:
    """Wall minus stages of a job in a process that has already run one (`bench.child` of the code base in
    `code`, no bare encode)."""
    params = {"source": str(source), "end_s": duration_s, "work": str(work), "options": {"detect_faces": False},
              "warm_up": True, "bare": False}
    result = job_child(params, env=env, code=code)
    return result["job_wall_s"] - sum(result["timings_s"].values())


def _refused_run_s(source: Path, env: dict[str, str], work: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([CLIPMILL, "run", str(source), "--start", "nan"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - started
    if done.returncode != 2:
        raise RuntimeError(f"a refused run exited {done.returncode}: {done.stderr[-300:]}")
    return elapsed


def _job(source: Path, duration_s: float, env: dict[str, str], work: Path, *,
         store_home: Path | None = None) -> dict[str, float]:
    """One fresh `clipmill run` on a bucket of its own, dropped after from the embedded store under
    `store_home` (default: the run's own ``CLIPMILL_HOME``)."""
    bucket = f"bench-cli-{uuid.uuid4().hex[:12]}"
    out = work / bucket
    try:
        started = time.perf_counter()
        done = subprocess.run(
            [CLIPMILL, "run", str(source), "--end", f"{duration_s:g}", "-o", "detect_faces=false", "--out", str(out)],
            cwd=work, env={**env, "CLIPMILL_STORAGE__BUCKET": bucket}, capture_output=True, text=True, timeout=1800,
        )
        wall_s = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"clipmill run exited {done.returncode}: {done.stderr[-300:]}")
        manifest = json.loads(Path(work, done.stdout.strip().splitlines()[-1]).read_text())
        return {"wall_s": wall_s, "stages_s": sum(manifest["timings_s"].values()), "timings_s": manifest["timings_s"]}
    finally:
        drop_bucket(store_home or env["CLIPMILL_HOME"], bucket)
