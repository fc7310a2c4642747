"""Load: one library batch of 50 one-second clips of the sample, every request accounted for.

``python -m bench --load`` runs it. The batch flow runs in its own interpreter (``python -m bench.load
<out-json>``) so the peak RSS is the batch process's own; ffmpeg and the ephemeral
Prefect server are separate processes and not counted. A thread samples the RSS while the
batch runs, so the figures also say whether memory kept growing from the first half to the second.
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
from pathlib import Path
from typing import Any

import psutil

from bench.child import REPO, _start_prefect
from bench.rows import Row, guarded

GROUP = "load"
SAMPLE = REPO / "samples" / "grid_concat_11speakers_33s.mp4"
REQUESTS = 50
CLIP_S = 1.0
STEP_S = 0.6
MAX_CONCURRENCY = 2
OPTIONS = {"detect_faces": False}
SAMPLE_EVERY_S = 0.25


def load_rows(*, env: dict[str, str], timeout_s: float = 3600) -> list[Row]:
    """Rows for the batch: throughput, requests accounted for, peak RSS and its growth."""
    def measure() -> list[Row]:
        result = _run_batch_process(env, timeout_s)
        counts = result["counts"]
        done = counts["published"] + counts["reused"]
        return [
            Row(GROUP, f"batch of {REQUESTS} x {CLIP_S:.0f} s clips", seconds=result["wall_s"],
                detail=f"{60 * done / result['wall_s']:.1f} clips/min, max_concurrency {MAX_CONCURRENCY}, "
                       f"faces off; prefect start {result['server_start_s']:.1f} s not counted",
                data=result),
            Row(GROUP, "requests accounted for",
                detail=f"{result['accounted']}/{REQUESTS} ({counts['published']} published, {counts['reused']} "
                       f"reused, {counts['failed']} failed)"),
            Row(GROUP, "batch process peak RSS",
                detail=f"{result['peak_rss_mb']:.0f} MiB (first half {result['first_half_peak_mb']:.0f}, second "
                       f"half {result['second_half_peak_mb']:.0f})"),
        ]
    return guarded(GROUP, f"batch of {REQUESTS} clips", measure)


def _run_batch_process(env: dict[str, str], timeout_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        out = Path(folder) / "out.json"
        result = subprocess.run(
            [sys.executable, "-m", "bench.load", str(out)], cwd=REPO, env={**os.environ, **env},
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )
        if result.returncode != 0 or not out.is_file():
            tail = " | ".join(result.stderr.strip().splitlines()[-3:])
            raise RuntimeError(f"bench.load exit {result.returncode}: {tail}")
        return json.loads(out.read_text())


def requests_jsonl(source_uri: str) -> bytes:
    """`REQUESTS` distinct one-second ranges of the source, `STEP_S` apart, as JSON Lines."""
    lines = [
        {"source": source_uri, "start": round(k * STEP_S, 3), "end": round(k * STEP_S + CLIP_S, 3)}
        for k in range(REQUESTS)
    ]
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


def batch_run() -> dict[str, Any]:
    """Upload the sample and the requests file, run `library_batch` on it, measure; in this process."""
    from flows.library_batch import library_batch
    from tasks.runtime import object_store

    store = object_store()
    prefix = f"bench-load/{uuid.uuid4().hex[:12]}/"
    store.put_file(prefix + "source.mp4", SAMPLE, content_type="video/mp4")
    store.put_bytes(prefix + "requests.jsonl", requests_jsonl(store.uri(prefix + "source.mp4")),
                    content_type="application/x-ndjson")
    server_s = _start_prefect()
    with RssSampler() as rss:
        started = time.perf_counter()
        summary = library_batch(requests_key=prefix + "requests.jsonl", options=OPTIONS,
                                max_concurrency=MAX_CONCURRENCY, batch_size=REQUESTS)
        wall_s = time.perf_counter() - started
    statuses = [result["status"] for result in summary["results"]]
    return {
        "wall_s": wall_s, "server_start_s": server_s, "counts": summary["counts"],
        "accounted": sum(status in ("published", "reused", "failed") for status in statuses),
        "failures": [result["reason"] for result in summary["results"] if result["status"] == "failed"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "first_half_peak_mb": rss.peak_mb(until_s=wall_s / 2),
        "second_half_peak_mb": rss.peak_mb(since_s=wall_s / 2),
        "summary_uri": summary["summary_uri"],
    }


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(batch_run()))
