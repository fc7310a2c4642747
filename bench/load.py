"""Load: one library batch of one-second clips of the sample (50 by default), every request accounted for.

``python -m bench --load [--requests N]`` runs it. The batch flow runs in its own interpreter
(``python -m bench.load <out-json> [<params-json>]``) so the peak RSS is the flow process's own; ffmpeg
and the ephemeral Prefect server are separate processes and not counted. A thread samples the RSS
while the batch runs, so the figures also say whether memory kept growing from the first half to the
second (peak and mean per half, and a least-squares trend over the whole run).

The same child runs other batches: `bench.scaling` passes its own requests, options and source.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

from bench.child import REPO, _start_prefect, start_prefect_server
from bench.rows import Row, guarded

GROUP = "load"
SAMPLE = REPO / "samples" / "grid_concat_11speakers_33s.mp4"
REQUESTS = 50
#: requests started per library batch (the flow's default): 50 requests are one batch, 200 are four
BATCH_SIZE = 50
CLIP_S = 1.0
STEP_S = 0.6
#: seconds left unused at the end of the source when the requests are packed closer than `STEP_S`
END_MARGIN_S = 0.5
MAX_CONCURRENCY = 2
OPTIONS = {"detect_faces": False}
SAMPLE_EVERY_S = 0.25
#: at most this many (seconds, MiB) points of the RSS curve are kept in the results JSON
CURVE_POINTS = 120


def load_rows(*, env: dict[str, str], requests: int = REQUESTS, timeout_s: float | None = None) -> list[Row]:
    """Rows for the batch: throughput, requests accounted for, peak RSS and its growth."""
    name = f"batch of {requests} x {CLIP_S:.0f} s clips"

    def measure() -> list[Row]:
        params = {"requests": requests, "batch_size": min(BATCH_SIZE, requests)}
        server = start_prefect_server()
        try:
            result = run_batch_process(params, env={**env, "PREFECT_API_URL": server.api_url},
                                       timeout_s=timeout_s or max(3600.0, 60.0 * requests))
        finally:
            server.stop()
        counts = result["counts"]
        done = counts["published"] + counts["reused"]
        rss = result["rss"]
        return [
            Row(GROUP, name, seconds=result["wall_s"],
                detail=f"{60 * done / result['wall_s']:.1f} clips/min, max_concurrency {MAX_CONCURRENCY}, "
                       f"batch_size {result['params']['batch_size']}, starts {result['params']['step_s']:.3f} s "
                       f"apart, faces off; against a Prefect server in its own process; "
                       f"2 shared cores: noisy",
                data=result),
            Row(GROUP, "requests accounted for",
                detail=f"{result['accounted']}/{requests} ({counts['published']} published, {counts['reused']} "
                       f"reused, {counts['failed']} failed{_failure_kinds(result['failures'])})"),
            Row(GROUP, "batch process peak RSS",
                detail=f"{result['peak_rss_mb']:.0f} MiB (first half {result['first_half_peak_mb']:.0f}, second "
                       f"half {result['second_half_peak_mb']:.0f})"),
            Row(GROUP, f"flow process RSS growth over {requests} requests",
                detail=f"second half - first half: peak {rss['peak_growth_mb']:+.0f} MiB, mean "
                       f"{rss['mean_growth_mb']:+.0f} MiB ({rss['first_half_mean_mb']:.0f} -> "
                       f"{rss['second_half_mean_mb']:.0f}); second-half trend {rss['trend_mb_per_100_requests']:+.0f} "
                       f"MiB per 100 requests (whole run {rss['trend_all_mb_per_100_requests']:+.0f}); "
                       f"{rss['start_mb']:.0f} MiB at start, {rss['end_mb']:.0f} at end "
                       f"({rss['samples']} samples every {SAMPLE_EVERY_S} s)",
                data=rss),
        ]
    return guarded(GROUP, name, measure)


def _failure_kinds(failures: list[str]) -> str:
    kinds = Counter(reason.split(":", 1)[0] for reason in failures)
    return "".join(f", {n} {kind}" for kind, n in kinds.most_common())


def run_batch_process(params: dict[str, Any], *, env: dict[str, str], timeout_s: float) -> dict[str, Any]:
    """Run ``python -m bench.load`` (one library batch, see `batch_run`) and return what it measured."""
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        out = Path(folder) / "out.json"
        result = subprocess.run(
            [sys.executable, "-m", "bench.load", str(out), json.dumps(params)], cwd=REPO,
            env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout_s, check=False,
        )
        if result.returncode != 0 or not out.is_file():
            tail = " | ".join(result.stderr.strip().splitlines()[-3:])
            raise RuntimeError(f"bench.load exit {result.returncode}: {tail}")
        return json.loads(out.read_text())


def request_ranges(requests: int, source_s: float, *, clip_s: float = CLIP_S, step_s: float = STEP_S) -> list[tuple]:
    """`requests` distinct ``(start, end)`` ranges, `step_s` apart, or closer when the source is too short."""
    if requests > 1:
        step_s = min(step_s, (source_s - clip_s - END_MARGIN_S) / (requests - 1))
    step_s = round(step_s, 3)
    if step_s <= 0 and requests > 1:
        raise ValueError(f"{requests} distinct ranges of {clip_s} s do not fit in a {source_s:.1f} s source")
    return [(round(k * step_s, 3), round(k * step_s + clip_s, 3)) for k in range(requests)]


def requests_jsonl(source_uri: str, ranges: list[tuple]) -> bytes:
    """The ranges as a JSON Lines requests file."""
    lines = [{"source": source_uri, "start": start, "end": end} for start, end in ranges]
    return ("\n".join(json.dumps(line) for line in lines) + "\n").encode()


class RssSampler:
    """Samples this process's resident memory in a daemon thread: ``(seconds since start, bytes)``."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> "RssSampler":
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        process = psutil.Process()
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.samples.append((time.perf_counter() - self._started, process.memory_info().rss))

    def peak_mb(self, since_s: float = 0.0, until_s: float = float("inf")) -> float:
        inside = [rss for t, rss in self.samples if since_s <= t < until_s]
        return max(inside, default=0) / 2**20

    def mean_mb(self, since_s: float = 0.0, until_s: float = float("inf")) -> float:
        inside = [rss for t, rss in self.samples if since_s <= t < until_s]
        return sum(inside) / len(inside) / 2**20 if inside else 0.0

    def trend_mb_per_s(self, since_s: float = 0.0) -> float:
        """Least-squares slope of the RSS from `since_s` on, MiB per second (0 with fewer than two samples)."""
        inside = [(t, rss / 2**20) for t, rss in self.samples if t >= since_s]
        if len(inside) < 2:
            return 0.0
        mean_t = sum(t for t, _ in inside) / len(inside)
        mean_m = sum(mb for _, mb in inside) / len(inside)
        var = sum((t - mean_t) ** 2 for t, _ in inside)
        cov = sum((t - mean_t) * (mb - mean_m) for t, mb in inside)
        return cov / var if var > 0 else 0.0

    def curve(self, points: int = CURVE_POINTS) -> list[tuple[float, float]]:
        """At most `points` evenly spaced ``(seconds, MiB)`` samples, the last one included."""
        if not self.samples:
            return []
        every = max(1, -(-len(self.samples) // points))
        kept = self.samples[::every]
        if kept[-1] != self.samples[-1]:
            kept.append(self.samples[-1])
        return [(round(t, 2), round(rss / 2**20, 1)) for t, rss in kept]

    def summary(self, wall_s: float, requests: int) -> dict[str, Any]:
        """Peak and mean per half, their growth, the trend per 100 requests, the curve.

        The trend is the second half's slope (the first requests also pay the imports and model loads),
        turned into MiB per 100 requests at the batch's mean rate; the whole run's slope is kept beside it.
        """
        half = wall_s / 2
        per_100 = wall_s / requests * 100 if requests else 0.0
        first_peak, second_peak = self.peak_mb(until_s=half), self.peak_mb(since_s=half)
        first_mean, second_mean = self.mean_mb(until_s=half), self.mean_mb(since_s=half)
        return {
            "samples": len(self.samples), "every_s": SAMPLE_EVERY_S,
            "start_mb": self.samples[0][1] / 2**20 if self.samples else 0.0,
            "end_mb": self.samples[-1][1] / 2**20 if self.samples else 0.0,
            "first_half_peak_mb": first_peak, "second_half_peak_mb": second_peak,
            "first_half_mean_mb": first_mean, "second_half_mean_mb": second_mean,
            "peak_growth_mb": second_peak - first_peak, "mean_growth_mb": second_mean - first_mean,
            "trend_mb_per_100_requests": self.trend_mb_per_s(since_s=half) * per_100,
            "trend_all_mb_per_100_requests": self.trend_mb_per_s() * per_100,
            "curve_s_mb": self.curve(),
        }


def batch_run(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Upload the source and the requests file, run `library_batch` on it, measure; in this process.

    `params` (all optional): ``requests``, ``clip_s``, ``step_s``, ``options``, ``max_concurrency``,
    ``batch_size``, ``source`` (a local video; default the repository's sample).
    """
    from clipmill.media import probe
    from flows.library_batch import library_batch
    from tasks.runtime import object_store

    params = params or {}
    requests = int(params.get("requests", REQUESTS))
    source = Path(params.get("source", SAMPLE))
    ranges = request_ranges(requests, probe(source).duration_s, clip_s=float(params.get("clip_s", CLIP_S)),
                            step_s=float(params.get("step_s", STEP_S)))
    chosen = {
        "requests": requests, "source": str(source), "clip_s": float(params.get("clip_s", CLIP_S)),
        "step_s": round(ranges[1][0] - ranges[0][0], 3) if len(ranges) > 1 else 0.0,
        "options": params.get("options", OPTIONS),
        "max_concurrency": int(params.get("max_concurrency", MAX_CONCURRENCY)),
        "batch_size": int(params.get("batch_size", min(BATCH_SIZE, requests))),
    }
    store = object_store()
    prefix = f"bench-load/{uuid.uuid4().hex[:12]}/"
    store.put_file(prefix + "source.mp4", source, content_type="video/mp4")
    store.put_bytes(prefix + "requests.jsonl", requests_jsonl(store.uri(prefix + "source.mp4"), ranges),
                    content_type="application/x-ndjson")
    server_s = _start_prefect()
    with RssSampler() as rss:
        started = time.perf_counter()
        summary = library_batch(requests_key=prefix + "requests.jsonl", options=chosen["options"],
                                max_concurrency=chosen["max_concurrency"], batch_size=chosen["batch_size"])
        wall_s = time.perf_counter() - started
    statuses = [result["status"] for result in summary["results"]]
    growth = rss.summary(wall_s, requests)
    return {
        "wall_s": wall_s, "server_start_s": server_s, "counts": summary["counts"], "params": chosen,
        "bucket": store.bucket,
        "accounted": sum(status in ("published", "reused", "failed") for status in statuses),
        "failures": [result["reason"] for result in summary["results"] if result["status"] == "failed"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "first_half_peak_mb": growth["first_half_peak_mb"],
        "second_half_peak_mb": growth["second_half_peak_mb"],
        "rss": growth,
        "summary_uri": summary["summary_uri"],
    }


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(batch_run(json.loads(sys.argv[2]) if len(sys.argv) > 2 else None)))
