"""Validate a clip's data contracts in a process of their own, started when the clip job starts.

Importing Great Expectations and building its suites costs 4–5 s of CPU, nearly all of it Python
that holds the GIL. Done on a thread of the job's process, it slowed the job's own Python
(Prefect's engine, the plan, the publish) about as much as it overlapped it. A spawned process
does it on another core while the job's media stages run. Every later clip job of the process,
e.g. each job of a library batch, validates in the same process, one clip at a time, which
`clipmill.quality.validate.GE_LOCK` requires anyway.

The validation runs in the caller's process instead where no child process can be started
(inside a daemonic process such as a multiprocessing pool worker) or the child has died. The
verdict is the same; only the time differs.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Mapping, Sequence

if TYPE_CHECKING:
    from clipmill.artifacts.store import LinkedArtifacts
    from clipmill.quality.validate import QualityReport

log = logging.getLogger(__name__)

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def start_contracts_process() -> None:
    """Start the contracts process, which imports GE and builds the suites at once, unless it runs already."""
    _running_pool()


def check_contracts(documents: Sequence[Mapping[str, Any]], linked: LinkedArtifacts) -> QualityReport:
    """Every suite on the tables of manifest `documents` and the documents they link to, in the contracts process."""
    pool = _running_pool()
    if pool is None:
        return _check(documents, linked)
    try:
        return pool.submit(_check, documents, linked).result()
    except BrokenProcessPool:
        log.warning("the data-contracts process died; validating in this process")
        _forget(pool)
        return _check(documents, linked)


def _check(documents: Sequence[Mapping[str, Any]], linked: LinkedArtifacts) -> QualityReport:
    from clipmill.quality.frames import contract_frames
    from clipmill.quality.validate import validate_frames

    return validate_frames(contract_frames(
        documents, timelines=linked.timelines, tracks=linked.tracks, edit_plans=linked.edit,
        captions=linked.captions, problems=linked.problems,
    ))


def _warm_up() -> None:
    from clipmill.quality.validate import warm_up

    warm_up()


def _started() -> bool:
    """Nothing: a first task for the pool, which starts its process on the first submission."""
    return True


def _running_pool() -> ProcessPoolExecutor | None:
    """The process's contracts pool, started on first use; None where no child process can start."""
    global _pool
    with _pool_lock:
        if _pool is None and not multiprocessing.current_process().daemon:
            try:
                pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_warm_up
                )
                pool.submit(_started)
            except (OSError, RuntimeError) as exc:
                log.warning("no data-contracts process (%s); validating in this process", exc)
                return None
            _pool = pool
        return _pool


def _forget(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)
