"""The faces + 9:16 clip job against the bare encode, this checkout against a baseline commit.

    python -m bench.faces_job_ab --baseline main~1 [--current REV] [--rounds 1] [--seconds 60] [--rss-long 600]
                                 [--no-faces] [--no-real]

``--no-faces`` measures the silence-removal job instead (faces off, no reframing; the issue's other
ratio), ``--no-real`` the talking head alone (a 600 s round then costs ~10 minutes instead of ~20).

Each round runs, for each input, one faces + 9:16 job with each code base, alternating, every job in a fresh
process (`bench.child`, as `clipmill run`) that first times the bare ``ffmpeg -c:v libx264`` encode of the same
range: the job over that encode is the figure, measured back to back in one process, so the machine's load
(shared, noisy) divides out; so is the job's CPU time over the encode's (process and ffmpeg children), which
the load moves far less than the wall time. Inputs: the GRID talking head at 720p 25 fps (`bench.media.talking_head`) and a
minute of real 720p 29.97 fps address footage with hard cuts (`bench.media.real_footage`; the row says so
when ``../shared`` is absent). With ``--rss-long``, the current code's faces job on that longer input too,
for the peak-RSS ratio (streaming keeps it within 1.2x). Writes ``bench/results/faces_job/``; asserts nothing.
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

from bench.__main__ import _drop_and_stop, child_env, start_store
from bench.face_stage_ab import baseline_tree
from bench.job import job_child
from bench.machine import describe_machine
from bench.media import REAL_FOOTAGE, REPO, real_footage, talking_head
from bench.report import format_table, write_results
from bench.rows import Row

RESULTS = Path(__file__).resolve().parent / "results" / "faces_job"
OPTIONS = {"detect_faces": True, "reframe": "9:16"}
SILENCE_ONLY = {"detect_faces": False, "reframe": "none"}


def measure(code: Path, source: Path, duration_s: float, *, env: dict[str, str], work: Path, bare: bool = True,
            options: dict = OPTIONS) -> dict:
    """One faces + 9:16 job (or one with `options`) of `code` on `source` in a fresh process, after its bare
    encode unless not `bare`."""
    params = {"source": str(source), "end_s": duration_s, "work": str(work), "options": options, "bare": bare}
    result = job_child(params, env=env, code=code)
    return {**result, "ratio": result["job_wall_s"] / result["bare_ffmpeg_s"] if bare else None,
            "cpu_ratio": result["job_cpu_s"] / result["bare_ffmpeg_cpu_s"] if bare else None}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare with")
    parser.add_argument("--current", help="git revision measured as current (default: this working tree)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each input")
    parser.add_argument("--rss-long", type=float, default=None, metavar="S",
                        help="also the current code's faces job on an S-second input, for peak RSS")
    parser.add_argument("--rss-only", action="store_true", help="with --rss-long: skip the A/B rounds")
    parser.add_argument("--no-faces", action="store_true", help="the silence-removal job (faces off) instead")
    parser.add_argument("--no-real", action="store_true", help="the talking head only, not the real footage")
    args = parser.parse_args(argv)
    options, group = (SILENCE_ONLY, "silence job") if args.no_faces else (OPTIONS, "faces job")
    codes = {"baseline": baseline_tree(args.baseline),
             "current": baseline_tree(args.current) if args.current else REPO}
    inputs = {"talking head 720p 25 fps": talking_head(args.seconds)}
    real = None if args.no_real else real_footage(args.seconds)
    rows: list[Row] = []
    if real is not None:
        inputs[f"real footage 720p 29.97 fps ({REAL_FOOTAGE.name} looped)"] = real
    elif not args.no_real:
        rows.append(Row(group, "real 29.97 fps footage", detail=f"n/a: {REAL_FOOTAGE} is absent"))
    env = child_env()
    os.environ.update({k: v for k, v in env.items() if k.startswith("PREFECT_SERVER")})
    work = Path(tempfile.mkdtemp(prefix="clipmill-bench-faces-"))
    run = {"baseline": args.baseline, "current": args.current or "working tree", "seconds": args.seconds,
           "options": options,
           "loadavg_start": os.getloadavg()}
    try:
        start_store()
        for name, source in ({} if args.rss_only else inputs).items():
            ratios: dict[str, list[float]] = {code: [] for code in codes}
            cpu_ratios: dict[str, list[float]] = {code: [] for code in codes}
            for k in range(args.rounds):
                for code in (list(codes) if k % 2 == 0 else list(reversed(list(codes)))):
                    result = measure(codes[code], source, args.seconds, env=env, work=work, options=options)
                    ratios[code].append(result["ratio"])
                    cpu_ratios[code].append(result["cpu_ratio"])
                    print(json.dumps({"input": name, "round": k + 1, "code": code, "ratio": result["ratio"],
                                      "cpu_ratio": result["cpu_ratio"], "job_cpu_s": result["job_cpu_s"],
                                      "bare_ffmpeg_cpu_s": result["bare_ffmpeg_cpu_s"],
                                      "job_wall_s": result["job_wall_s"], "bare_ffmpeg_s": result["bare_ffmpeg_s"],
                                      "timings_s": result["timings_s"], "peak_rss_mb": result["peak_rss_mb"],
                                      "load_average": os.getloadavg()}), flush=True)
                    rows.append(Row(group, f"{name}, {args.seconds:.0f} s, {code}", seconds=result["job_wall_s"],
                                    detail=f"{result['ratio']:.2f}x the bare encode ({result['bare_ffmpeg_s']:.1f} s); "
                                           f"CPU {result['cpu_ratio']:.2f}x ({result['job_cpu_s']:.1f} / "
                                           f"{result['bare_ffmpeg_cpu_s']:.1f} s)",
                                    data=result))
            before, after = (statistics.median(ratios[c]) for c in ("baseline", "current"))
            cpu_before, cpu_after = (statistics.median(cpu_ratios[c]) for c in ("baseline", "current"))
            rows.append(Row(group, f"{name}: current / baseline",
                            detail=f"{before:.2f}x -> {after:.2f}x the bare encode ({after / before:.2f} of before); "
                                   f"CPU {cpu_before:.2f}x -> {cpu_after:.2f}x"))
        if args.rss_long:
            long = talking_head(args.rss_long)
            short = measure(codes["current"], inputs["talking head 720p 25 fps"], args.seconds, env=env, work=work,
                            bare=False)
            longer = measure(codes["current"], long, args.rss_long, env=env, work=work, bare=False)
            ratio = longer["peak_rss_mb"] / short["peak_rss_mb"]
            rows.append(Row("memory", f"faces + 9:16 job peak RSS {args.rss_long:.0f} s / {args.seconds:.0f} s",
                            detail=f"{longer['peak_rss_mb']:.0f} / {short['peak_rss_mb']:.0f} MiB = {ratio:.2f}x "
                                   f"(streaming: <= 1.2x); jobs {longer['job_wall_s']:.0f} s / {short['job_wall_s']:.0f} s",
                            data={"short": short, "long": longer}))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        _drop_and_stop(env)
    run["loadavg_end"] = os.getloadavg()
    print(format_table(rows))
    suffix = ("-rss" if args.rss_only else "") + ("-no-faces" if args.no_faces else "") + time.strftime("-%H%M")
    path = write_results(rows, machine=describe_machine(), run=run, folder=RESULTS, suffix=suffix)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
