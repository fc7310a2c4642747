"""Retention tasks: find the jobs whose intermediates outlived the lifetime, delete their objects.

A job folder ``jobs/<job_id>/`` expires as a whole, when its newest object is older than the
cutoff, so a job still writing (or resuming) never loses half of its stages. Only keys under
``jobs/`` are ever listed, so published clips, batches, audits and requests are out of reach.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from prefect import get_run_logger

from clipmill.storage import JOBS_PREFIX
from tasks.runtime import clip_task, object_store


@dataclass(frozen=True)
class Expired:
    """The objects of the expired jobs and what they weigh."""

    jobs: tuple[str, ...]
    keys: tuple[str, ...]
    bytes: int


def expired_jobs(listing: Iterable[tuple[str, datetime, int]], cutoff: datetime) -> Expired:
    """The jobs in `listing` (``jobs/`` keys, last-modified times, sizes) last written before `cutoff`."""
    jobs: dict[str, list[tuple[str, datetime, int]]] = {}
    for key, modified, size in listing:
        if key.startswith(JOBS_PREFIX):
            jobs.setdefault(key[len(JOBS_PREFIX):].split("/", 1)[0], []).append((key, modified, size))
    old = sorted(job for job, items in jobs.items() if max(modified for _, modified, _ in items) < cutoff)
    items = [item for job in old for item in jobs[job]]
    return Expired(jobs=tuple(old), keys=tuple(key for key, _, _ in items), bytes=sum(size for _, _, size in items))


@clip_task(name="find-expired-jobs")
def find_expired(cutoff: datetime) -> Expired:
    """List ``jobs/`` with times and pick the jobs last written before `cutoff`."""
    store = object_store()
    expired = expired_jobs(store.list_with_times(JOBS_PREFIX), cutoff)
    get_run_logger().info(
        "%d jobs (%d objects, %d bytes) under %s last written before %s",
        len(expired.jobs), len(expired.keys), expired.bytes, store.uri(JOBS_PREFIX), cutoff.isoformat(),
    )
    return expired


@clip_task(name="delete-intermediates")
def delete_intermediates(keys: tuple[str, ...]) -> int:
    """Delete `keys` (``jobs/`` keys only, as `find_expired` returns them); how many were deleted."""
    store = object_store()
    for key in keys:
        store.delete(key)
    return len(keys)
