"""Face stage speed, this checkout against a baseline commit, on the 10-minute input.

    python -m bench.face_stage_ab --baseline main~1 [--current HEAD] [--rounds 2] [--seconds 600] [--window 120]

The baseline (and ``--current``, when given, else this working tree) is exported into
``bench/.cache/baseline-<sha>`` (``git archive``, once per commit), so edits made while it runs do not leak in. Each round
runs the face stage once with each code base, alternating, in a fresh process under the same
conditions (default ensemble, uniform 5 Hz sampling, 10 s chunks, stitched): the input, the machine
and its load are shared, so the ratio of the medians is the figure, and the spread of the rounds
says how noisy the machine was. Prints one JSON line per run and a summary; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.media import CACHE, REPO, talking_head

CHILD = """
import json, sys, time
from pathlib import Path
from clipmill.media import probe
from clipmill.vision.chunks import fps_value, plan_chunks, stitch_chunks
from clipmill.vision.faces_io import FaceOptions, detect_chunk
segment = Path(sys.argv[1])
info = probe(segment)
fps = fps_value(info.fps)
window_s = min(float(sys.argv[2]), info.duration_s)
options = FaceOptions()
specs = plan_chunks(window_s, fps=fps, chunk_s=options.chunk_s, overlap_frames=options.overlap_frames)
started = time.perf_counter()
chunks = [detect_chunk(segment, s, fps=fps, source_size=info.display_size, ensemble_config=options.ensemble_config(),
                       sampling=options.sampling_config()) for s in specs]
tracks = stitch_chunks(chunks)
wall = time.perf_counter() - started
print(json.dumps({"wall_s": wall, "duration_s": window_s, "rtf": window_s / wall, "n_tracks": len(tracks)}))
"""


def baseline_tree(revision: str) -> Path:
    """The files of `revision` under ``bench/.cache`` (exported once per commit)."""
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", revision], check=True, capture_output=True,
                         text=True).stdout.strip()
    tree = CACHE / f"baseline-{sha[:12]}"
    if not tree.is_dir():
        partial = tree.with_name(tree.name + ".part")
        partial.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", sha], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive, check=True)
        partial.rename(tree)
    return compiled(tree)


def compiled(tree: Path) -> Path:
    """`tree` with its modules' bytecode written, as `scripts/setup.sh` writes the checkout's: a code base
    compiled on every start (where bytecode is not written) would be measured slower than it runs."""
    folders = [str(tree / name) for name in ("clipmill", "flows", "tasks", "blocks", "deployments", "data_contracts")
               if (tree / name).is_dir()]
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", *folders], check=True, capture_output=True)
    return tree


def run_once(code: Path, segment: Path, window_s: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(segment), str(window_s)], cwd=code, env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare with")
    parser.add_argument("--current", help="git revision measured as current (default: this working tree)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=600.0, help="length of the input")
    parser.add_argument("--window", type=float, default=None, help="analyse only its first seconds")
    args = parser.parse_args(argv)
    segment = talking_head(args.seconds)
    codes = {"baseline": baseline_tree(args.baseline),
             "current": baseline_tree(args.current) if args.current else REPO}
    rtf: dict[str, list[float]] = {name: [] for name in codes}
    for k in range(args.rounds):
        for name, code in (codes.items() if k % 2 == 0 else reversed(list(codes.items()))):
            result = run_once(code, segment, args.window or args.seconds)
            rtf[name].append(result["rtf"])
            print(json.dumps({"round": k + 1, "code": name, **result}), flush=True)
    base, current = statistics.median(rtf["baseline"]), statistics.median(rtf["current"])
    spread = {name: (max(v) - min(v)) / statistics.median(v) for name, v in rtf.items()}
    print(json.dumps({"baseline": args.baseline, "current": args.current or "working tree", "baseline_rtf": base, "current_rtf": current,
                      "current_over_baseline": current / base, "spread_between_rounds": spread,
                      "load_average": os.getloadavg()}))


if __name__ == "__main__":
    main()
