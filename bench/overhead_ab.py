"""The per-job overhead of a clip job (wall minus the stages its manifest timed), this checkout against a baseline.

    python -m bench.overhead_ab --baseline main~1 [--current REV] [--rounds 3] [--seconds 10] [--warm-only]

Each round measures, for each code base in turn (the order alternating from round to round, so the
shared machine's load falls on both alike), a fresh `clipmill run` (`bench.cli_run`: a new process,
imports included, on a bucket of its own) and a warm job (`bench.child`: the second job of a process,
as in a library batch), both with the local Prefect server up and no faces. Each code base has a local
server and contracts process of its own (one clipmill home each, one shared object store), started
and warmed by an unmeasured job first: on a shared one, every switch of code base would replace the
contracts process (`clipmill.quality.contracts_service`) inside the measured job. Reports the medians
and the load average they were measured at; writes ``bench/results/overhead/``; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.__main__ import HOME, _drop_and_stop, child_env, start_store
from bench.cli_run import _job, _warm_job
from bench.face_stage_ab import baseline_tree, compiled
from bench.machine import describe_machine
from bench.media import REPO, talking_head
from bench.report import format_table, write_results
from bench.rows import Row

RESULTS = Path(__file__).resolve().parent / "results" / "overhead"


def main(argv: list[str] | None = None) -> None:
    from clipmill import prefect_server
    from clipmill.storage import embedded

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare with")
    parser.add_argument("--current", help="git revision measured as current (default: this working tree)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the clip (the GRID talking head)")
    parser.add_argument("--warm-only", action="store_true", help="only the warm jobs (a fresh run costs a minute)")
    args = parser.parse_args(argv)
    codes = {"baseline": baseline_tree(args.baseline), "current": baseline_tree(args.current) if args.current else compiled(REPO)}
    source = talking_head(args.seconds)
    env = child_env()
    os.environ.update({k: v for k, v in env.items() if k.startswith("PREFECT_SERVER")})
    work = Path(tempfile.mkdtemp(prefix="clipmill-bench-overhead-"))
    run = {"baseline": args.baseline, "current": args.current or "working tree", "seconds": args.seconds,
           "loadavg_start": os.getloadavg()}
    figures: dict[str, dict[str, list[float]]] = {code: {"fresh": [], "warm": []} for code in codes}
    homes = {code: work / f"home-{code}" for code in codes}
    try:
        start_store()
        store = embedded.running(HOME)
        servers = {code: prefect_server.ensure_running(home) for code, home in homes.items()}
        fresh_envs = {
            code: {k: v for k, v in {**os.environ, **env}.items() if k != "PREFECT_API_URL"}
            | {"CLIPMILL_HOME": str(homes[code]), "PYTHONPATH": str(codes[code]),
               "CLIPMILL_STORAGE__ENDPOINT": store.endpoint, "CLIPMILL_STORAGE__ACCESS_KEY": store.access_key,
               "CLIPMILL_STORAGE__SECRET_KEY": store.secret_key}
            for code in codes
        }
        if not args.warm_only:
            for code in codes:  # starts the code base's contracts process, and warms the OS caches
                _job(source, args.seconds, fresh_envs[code], work, store_home=HOME)
        for k in range(args.rounds):
            for code in (list(codes) if k % 2 == 0 else list(reversed(list(codes)))):
                job = None if args.warm_only else _job(source, args.seconds, fresh_envs[code], work, store_home=HOME)
                warm = _warm_job(source, args.seconds, {**env, "PREFECT_API_URL": servers[code].api_url},
                                 work, code=codes[code])
                if job is not None:
                    figures[code]["fresh"].append(job["wall_s"] - job["stages_s"])
                figures[code]["warm"].append(warm)
                print(json.dumps({"round": k + 1, "code": code, "fresh": job, "warm_overhead_s": warm,
                                  "load_average": os.getloadavg()}), flush=True)
    finally:
        for home in homes.values():
            prefect_server.stop(home)
        shutil.rmtree(work, ignore_errors=True)
        _drop_and_stop(env)
    run["loadavg_end"] = os.getloadavg()
    rows = [
        Row("clip job", f"overhead per job, {kind}, {code}", seconds=statistics.median(figures[code][kind]),
            detail=f"median of {args.rounds}: wall - manifest stages, {args.seconds:.0f} s, no faces, server up "
                   f"({', '.join(f'{x:.2f}' for x in figures[code][kind])})",
            data={"runs_s": figures[code][kind]})
        for kind in ("fresh", "warm") for code in codes if figures[code][kind]
    ]
    print(format_table(rows))
    written = write_results(rows, machine=describe_machine(), run=run, folder=RESULTS,
                            suffix=time.strftime("-%H%M"))  # one file per run: an A/B a day is common
    print(f"results: {written}")


if __name__ == "__main__":
    main()
