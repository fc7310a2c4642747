"""The library batch: many clip requests, one `clip_job` subflow run each, a bounded number at a time.

    requests (videos under a prefix: each planned from its whole-source analysis, by windows snapped
    to pauses or by suggested clips; or a requests file in the store)
      → batches of `batch_size` → each batch: `max_concurrency` clip-job subflow runs at a time
      → outcome per request (published / reused / failed + reason) → progress artifact
      → batches/<batch_id>/summary.json + table artifact

Each request is its own flow run with its own task runs, so the UI shows every clip job, and a
failed one is recorded without touching the others. Batches keep the number of live runs bounded:
10,000 requests never mean 10,000 concurrent runs. The batch id hashes the input and its requests,
so a re-run of the same batch writes the same summary; finished requests come back ``reused``
from `clip_job`'s published-manifest lookup without extracting or rendering anything.

Optionally, ``concurrency_limit_name`` names a Prefect global concurrency limit
(``prefect gcl create clipmill-clip-jobs --limit 4``) every clip job occupies one slot of, to cap
clip jobs across all batches and deployments; a name with no limit on the server does not limit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from contextvars import copy_context
from typing import Any, Literal

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.concurrency.sync import concurrency
from prefect.runtime import flow_run

from clipmill.batch import ClipRequest, ParsedRequests, RequestOutcome, batch_id, batches, expand_listing, summarize
from clipmill.errors import InputError
from clipmill.segment import LengthRange
from clipmill.segment_policy import Segmentation
from flows.base import clip_flow
from flows.clip_job import clip_job
from tasks.batch import list_library, plan_clips, read_requests, store_summary
from tasks.runtime import without_heartbeats

TABLE_ROWS = 1000
PLANNING_THREADS = 2  # whole-source analyses at a time: each decodes and analyses a whole video


def _run_name() -> str:
    parameters = flow_run.parameters
    return f"library batch {parameters.get('prefix') or parameters.get('requests_key')}"


@clip_flow(name="library-batch", flow_run_name=_run_name, validate_parameters=False)
def library_batch(
    prefix: str | None = None,
    requests_key: str | None = None,
    window_s: float = 60.0,
    options: dict[str, Any] | None = None,
    max_concurrency: int = 4,
    batch_size: int = 50,
    concurrency_limit_name: str | None = None,
    segmentation: Literal["windows", "auto"] = "windows",
    min_length_s: float = 20.0,
    max_length_s: float = 60.0,
    count: int = 5,
) -> dict[str, Any]:
    """Clip every request of a library or requests file; record each as published, reused or failed.

    Args:
        prefix: Key prefix in the configured bucket: every video under it, cut by the window policy.
        requests_key: Key (or s3://bucket/key) of a CSV or JSON Lines requests file; excludes `prefix`.
        window_s: Whole videos up to this long become one clip; longer ones, windows of this length.
        options: Clip options every request starts from; a request's own options win.
        max_concurrency: Clip-job runs at a time in this batch.
        batch_size: Requests started per batch; the next batch starts when this one has ended.
        concurrency_limit_name: A Prefect global concurrency limit each clip job takes one slot of.
        segmentation: How videos under `prefix` are cut: ``windows`` of `window_s` with their edges
            moved to the nearest pause, or ``auto``: the `count` best clips `clipmill suggest` finds.
        min_length_s: Shortest clip ``auto`` proposes (seconds).
        max_length_s: Longest clip ``auto`` proposes (seconds).
        count: How many clips ``auto`` cuts from each video (at most).
    """
    log = get_run_logger()
    started = time.perf_counter()
    policy = Segmentation(segmentation, window_s, LengthRange(min_length_s, max_length_s), count,
                          vad_backend=(options or {}).get("vad_backend", "energy"))
    origin, parsed = _requests(prefix, requests_key, policy, options or {})
    batch = batch_id(parsed.requests, origin=origin)
    log.info("batch %s: %d requests from %s, %d bad rows", batch, len(parsed.requests), origin, len(parsed.failures))

    outcomes = [RequestOutcome.of_row(failure) for failure in parsed.failures]
    progress = create_progress_artifact(0.0, description=f"batch {batch}: requests done (%)")
    for chunk in batches(parsed.requests, batch_size):
        outcomes += _run_batch(chunk, max_concurrency, concurrency_limit_name)
        done = len(outcomes) - len(parsed.failures)
        update_progress_artifact(progress, 100.0 * done / len(parsed.requests))
        log.info("batch %s: %d/%d requests done", batch, done, len(parsed.requests))

    summary = summarize(
        batch, origin=origin, outcomes=outcomes, duplicates=parsed.duplicates, wall_s=time.perf_counter() - started
    )
    summary["flow_run_id"] = flow_run.get_id()
    summary["summary_uri"] = store_summary(batch, summary)
    _table_artifact(summary)
    log.info("batch %s: %s -> %s", batch, summary["counts"], summary["summary_uri"])
    return summary


def _requests(
    prefix: str | None, requests_key: str | None, policy: Segmentation, options: dict[str, Any]
) -> tuple[str, ParsedRequests]:
    if (prefix is None) == (requests_key is None):
        raise InputError("give exactly one of prefix (videos under a key prefix) or requests_key (a requests file)")
    if prefix is None:
        return f"requests:{requests_key}", read_requests(requests_key, options)
    videos = list_library(prefix)
    with ThreadPoolExecutor(max_workers=PLANNING_THREADS, thread_name_prefix="plan-clips") as pool:
        futures = [pool.submit(copy_context().run, plan_clips, video, policy) for video in videos]
        planned = [future.result() for future in futures]
    origin = f"prefix:{prefix}" if policy.mode == "windows" else f"prefix:{prefix} auto {policy.length}x{policy.count}"
    return origin, expand_listing(planned, window_s=policy.window_s, defaults=options)


def _run_batch(chunk: Sequence[ClipRequest], max_concurrency: int, limit_name: str | None) -> list[RequestOutcome]:
    """One clip-job subflow per request, `max_concurrency` at a time, each in this flow run's context."""
    if max_concurrency < 1:
        raise InputError(f"max_concurrency must be at least 1 (got {max_concurrency!r})")
    with ThreadPoolExecutor(max_workers=min(max_concurrency, len(chunk)), thread_name_prefix="clip-job") as pool:
        futures = [pool.submit(copy_context().run, _run_request, request, limit_name) for request in chunk]
        return [future.result() for future in futures]


def _run_request(request: ClipRequest, limit_name: str | None) -> RequestOutcome:
    """Run one clip job to its end; whatever happens becomes an outcome, never an exception."""
    started = time.perf_counter()
    try:
        with concurrency(limit_name, occupy=1) if limit_name else nullcontext(), without_heartbeats():
            state = clip_job(
                request.source, request.start_s, request.end_s, request.options or None, selection=request.selection,
                return_state=True,
            )
    except Exception as exc:  # the run could not even start: record it, keep the batch going
        return RequestOutcome.of_failure(
            request, f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - started, flow_run_id=None
        )
    seconds = time.perf_counter() - started
    run_id = str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None
    if state.is_completed():
        return RequestOutcome.of_clip(request, state.result(), seconds=seconds, flow_run_id=run_id)
    error = state.result(raise_on_failure=False)
    reason = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else (state.message or state.name)
    return RequestOutcome.of_failure(request, reason, seconds=seconds, flow_run_id=run_id)


def _table_artifact(summary: dict[str, Any]) -> None:
    results = summary["results"]
    failed = [r for r in results if r["status"] == "failed"]
    shown = failed + [r for r in results if r["status"] != "failed"][: max(0, TABLE_ROWS - len(failed))]
    columns = ("row", "status", "source", "start_s", "end_s", "clip_uri", "reason", "seconds")
    counts = summary["counts"]
    create_table_artifact(
        key="library-batch-summary",
        table=[{column: row.get(column) if row.get(column) is not None else "" for column in columns} for row in shown],
        description=(
            f"batch {summary['batch_id']}: {counts['published']} published, {counts['reused']} reused, "
            f"{counts['failed']} failed ({len(shown)} of {len(results)} rows shown, failures first); "
            f"summary {summary['summary_uri']}"
        ),
    )
