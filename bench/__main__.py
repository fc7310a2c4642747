"""``python -m bench [--quick] [--stages | --suggest] | --load [--requests N] | --scaling | --cli``: build the input,
measure, print, write JSON."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from bench.buckets import drop_bucket, drop_stale
from bench.cli_run import cli_rows
from bench.detectors import detector_rows
from bench.face_stage_ab import compiled
from bench.faces import face_rows
from bench.job import faces_job_rows, job_rows, memory_rows
from bench.load import REQUESTS, load_rows
from bench.machine import describe_machine
from bench.media import CACHE, REPO, talking_head
from bench.peers import silence_rows
from bench.reframing import reframing_rows
from bench.report import format_table, write_results
from bench.rows import Row, guarded
from bench.scaling import scaling_rows
from bench.stages import StageState, run_stages
from bench.suggest import suggest_rows
from bench.vad_quality import vad_rows

RESULTS = Path(__file__).resolve().parent / "results"
HOME = CACHE / "home"
#: mode: (input s, short input s for memory and the faces job, face-stage window s)
MODES = {"full": (600.0, 60.0, 120.0), "quick": (60.0, 10.0, 20.0)}


def child_env() -> dict[str, str]:
    """Settings for child processes: the bench's clipmill home, a fresh bucket, quiet offline Prefect."""
    return {
        "CLIPMILL_HOME": str(HOME),
        "CLIPMILL_STORAGE__BUCKET": f"bench-{uuid.uuid4().hex[:12]}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_API_URL": "",
        # each child's ephemeral server: Prefect gives it 20 s, which 2 loaded shared cores overrun
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    }


def start_store() -> list[Row]:
    """Start (or reuse) the embedded object store the clip jobs share, timed."""
    from clipmill.storage import embedded

    started = time.perf_counter()
    embedded.ensure_running(HOME)
    rows = [Row("setup", "object store start", seconds=time.perf_counter() - started,
                detail="embedded SeaweedFS, once per bench run")]
    stale = drop_stale(HOME)
    if stale:
        rows.append(Row("setup", "stale buckets dropped", detail=f"{len(stale)} bench-* buckets earlier runs left "
                                                                 "(each holds volumes the store has few of)"))
    return rows


class Results:
    """Rows collected so far: each batch is printed as it lands and the JSON is rewritten."""

    def __init__(self, run: dict, folder: Path = RESULTS, suffix: str = "") -> None:
        self.rows: list[Row] = []
        self.run = {**run, "code": code_state(), "loadavg_start": os.getloadavg()}
        self.folder = folder
        self.suffix = suffix
        self.machine = describe_machine()
        self.started = time.perf_counter()

    def add(self, rows: list[Row]) -> None:
        self.rows += rows
        for row in rows:
            print(f"[bench] {row.group} / {row.name}: {row.seconds or 0:.2f} s {row.detail}", flush=True)
        self.write()

    def write(self) -> Path:
        self.run["total_s"] = time.perf_counter() - self.started
        self.run["loadavg_now"] = os.getloadavg()
        return write_results(self.rows, machine=self.machine, run=self.run, folder=self.folder, suffix=self.suffix)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="60 s input instead of 10 minutes (smoke run)")
    parser.add_argument("--load", action="store_true",
                        help=f"only the load group: a library batch of {REQUESTS} one-second clips "
                             "(results in results/load/)")
    parser.add_argument("--requests", type=int, metavar="N",
                        help=f"with --load: this many requests instead of {REQUESTS} "
                             "(results named ...-N-requests.json)")
    parser.add_argument("--scaling", action="store_true",
                        help="only the scaling group: a batch of 8 clips with faces on an external Dask cluster of "
                             "1 then 2 workers (results in results/scaling/)")
    parser.add_argument("--stages", action="store_true",
                        help="only the per-stage real-time factors (probe, extract, audio analysis per VAD, plan, "
                             "render) on the input (results in results/stages/)")
    parser.add_argument("--suggest", action="store_true",
                        help="only the suggestion time per hour of source: the audio-only path per VAD and the "
                             "video path (results in results/suggest/)")
    parser.add_argument("--cli", action="store_true",
                        help="only the cost of a fresh `clipmill run` beyond its stages, with the local Prefect "
                             "server up (results in results/cli/)")
    args = parser.parse_args()
    if args.requests is not None and not args.load:
        parser.error("--requests goes with --load")
    if args.requests is not None and args.requests < 1:
        parser.error("--requests must be at least 1")
    if args.load and args.scaling:
        parser.error("--load and --scaling are separate runs")
    compiled(REPO)  # edits since setup would otherwise be compiled again by every measured process
    if args.load:
        return load_main(args.requests or REQUESTS)
    if args.scaling:
        return scaling_main()
    if args.cli:
        return cli_main()
    mode = "quick" if args.quick else "full"
    if args.stages:
        return stages_main(mode)
    if args.suggest:
        return suggest_main(mode)
    long_s, short_s, faces_s = MODES[mode]
    env = child_env()
    os.environ.update({k: v for k, v in env.items() if k.startswith("PREFECT_SERVER")})
    results = Results({"mode": mode, "input_s": long_s, "short_input_s": short_s, "faces_window_s": faces_s})
    work = Path(tempfile.mkdtemp(prefix="clipmill-bench-"))
    try:
        results.add(guarded("setup", "input", lambda: _input_row(long_s)))
        source = talking_head(long_s)
        results.add(guarded("setup", "object store start", start_store))
        state = StageState(source=source, work=work)
        results.add(run_stages(state))
        results.add(suggest_rows(source))
        faces: dict = {}
        results.add(detector_rows(source))
        results.add(face_rows(state.values.get("segment", source), faces_s, env, faces))
        results.add(reframing_rows(state.values, faces))
        job, raw = job_rows(source, long_s, env=env, work=work)
        results.add(job)
        results.add(silence_rows(source, raw, work=work))
        short = talking_head(short_s)
        results.add(memory_rows(short, short_s, long_s, raw, env=env, work=work))
        results.add(faces_job_rows(short, short_s, env=env, work=work))
        results.add(faces_job_rows(source, long_s, env=env, work=work))
        results.add(cli_rows(short, short_s, env=env, work=work))
        results.add(scaling_rows(env=env))
        results.add(vad_rows())
    finally:
        shutil.rmtree(work, ignore_errors=True)
        _drop_and_stop(env)
    machine = results.machine
    print(f"clipmill bench ({mode}, {long_s:.0f} s 1280x720 input) on {machine['hostname']}, "
          f"{machine['cpu_model']}, {machine['cores']} cores (shared: noisy)")
    print(format_table(results.rows))
    print(f"results: {results.write()}")


def load_main(requests: int = REQUESTS) -> None:
    """The load group alone (slow, so opt-in): the batch, its throughput and its peak memory."""
    suffix = "" if requests == REQUESTS else f"-{requests}-requests"
    _group_main({"mode": "load", "requests": requests}, RESULTS / "load", suffix,
                lambda env: load_rows(env=env, requests=requests))


def stages_main(mode: str) -> None:
    """The stages group alone: each stage's real-time factor on the input, no store or server needed."""
    long_s = MODES[mode][0]
    results = Results({"mode": f"stages-{mode}", "input_s": long_s}, folder=RESULTS / "stages")
    work = Path(tempfile.mkdtemp(prefix="clipmill-bench-"))
    try:
        results.add(guarded("setup", "input", lambda: _input_row(long_s)))
        results.add(run_stages(StageState(source=talking_head(long_s), work=work)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(format_table(results.rows))
    print(f"results: {results.write()}")


def suggest_main(mode: str) -> None:
    """The suggest group alone, on an hour built from the input; no store or server needed."""
    long_s = MODES[mode][0]
    results = Results({"mode": f"suggest-{mode}", "input_s": long_s}, folder=RESULTS / "suggest")
    results.add(guarded("setup", "input", lambda: _input_row(long_s)))
    results.add(suggest_rows(talking_head(long_s)))
    print(format_table(results.rows))
    print(f"results: {results.write()}")


def scaling_main() -> None:
    """The scaling group alone: the batch with faces on 1 then 2 external Dask workers."""
    _group_main({"mode": "scaling"}, RESULTS / "scaling", "", lambda env: scaling_rows(env=env))


def cli_main() -> None:
    """The `clipmill run` overhead rows alone, on the quick mode's short input."""
    _, short_s, _ = MODES["quick"]

    def measure(env: dict[str, str]) -> list[Row]:
        work = Path(tempfile.mkdtemp(prefix="clipmill-bench-cli-"))
        try:
            return cli_rows(talking_head(short_s), short_s, env=env, work=work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    _group_main({"mode": "cli", "input_s": short_s}, RESULTS / "cli", "", measure)


def _group_main(run: dict, folder: Path, suffix: str, measure) -> None:
    env = child_env()
    os.environ.update({k: v for k, v in env.items() if k.startswith("PREFECT_SERVER")})
    results = Results(run, folder=folder, suffix=suffix)
    try:
        results.add(guarded("setup", "object store start", start_store))
        results.add(measure(env))
    finally:
        _drop_and_stop(env)
    print(format_table(results.rows))
    print(f"results: {results.write()}")


def code_state() -> dict:
    """The commit measured and the files that differed from it (others may be editing the checkout)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True,
                              check=False)
        return done.stdout.rstrip("\n")
    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted": changed}


def _input_row(duration_s: float) -> list[Row]:
    started = time.perf_counter()
    path = talking_head(duration_s)
    return [Row("setup", "input", seconds=time.perf_counter() - started,
                detail=f"{path.name} (built or cached), GRID sample looped to {duration_s:.0f} s")]


def _drop_and_stop(env: dict[str, str]) -> None:
    """Drop this run's bucket (the figures are in the JSON), then stop the store."""
    try:
        drop_bucket(HOME, env["CLIPMILL_STORAGE__BUCKET"])
    except Exception as exc:  # noqa: BLE001 - cleaning up must not hide the results
        print(f"[bench] could not drop bucket {env['CLIPMILL_STORAGE__BUCKET']}: {exc}", flush=True)
    _stop_store()


def _stop_store() -> None:
    from clipmill.storage import embedded

    embedded.stop(HOME)


if __name__ == "__main__":
    main()
