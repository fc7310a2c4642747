"""Validate a clip's data contracts in a process of their own, started when the clip job starts.

Importing Great Expectations and building its suites costs 4–5 s of CPU, nearly all of it Python
that holds the GIL. Done on a thread of the job's process, it slowed the job's own Python
(Prefect's engine, the plan, the publish) about as much as it overlapped it. A child process
(`clipmill.quality.contracts_worker`) does it on another core while the job's media stages run.
Every later clip job of the process, e.g. each job of a library batch, validates in the same child,
one clip at a time, which `clipmill.quality.validate.GE_LOCK` requires anyway.

The child is a plain ``python -m`` process on pipes, not a `multiprocessing` one: spawning that
way re-runs the caller's ``__main__`` script in the child, and a Python API script without a
``__main__`` guard would then make its clips twice. Where the child cannot start or has died, the
validation runs in the caller's process instead. The verdict is the same; only the time differs.

Jobs of the local Prefect server need no child: `clipmill.cli.server.prefect_api` names its
long-lived contracts process in ``CLIPMILL_CONTRACTS_SOCKET`` (`clipmill.quality.contracts_service`),
and they validate there, falling back to a child of their own when it does not answer.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from clipmill.quality.wire import read_frame, write_frame

if TYPE_CHECKING:
    from clipmill.artifacts.store import LinkedArtifacts
    from clipmill.quality.results import QualityReport

log = logging.getLogger(__name__)

#: The socket of the local server's contracts process, set by `clipmill.cli.server.prefect_api`.
SERVICE_ENV = "CLIPMILL_CONTRACTS_SOCKET"

_worker: subprocess.Popen[bytes] | None = None
#: Held from a request's write to its reply's read: one validation at a time, and the child's start.
_worker_lock = threading.Lock()


def start_contracts_process() -> None:
    """Start the contracts process, which imports GE and builds the suites at once, unless it runs already
    (or another job is using it: then it runs). Not where the local server's contracts process serves."""
    if os.environ.get(SERVICE_ENV):
        return
    if _worker_lock.acquire(blocking=False):
        try:
            _running_worker()
        finally:
            _worker_lock.release()


def check_contracts(documents: Sequence[Mapping[str, Any]], linked: LinkedArtifacts) -> QualityReport:
    """Every suite on the tables of manifest `documents` and the documents they link to, in the contracts process."""
    global _worker
    shared = os.environ.get(SERVICE_ENV)
    if shared:
        from clipmill.quality.contracts_service import ServiceUnavailable, request

        try:
            return request(Path(shared), documents, linked)
        except ServiceUnavailable as exc:
            log.warning("the local server's data-contracts process did not answer (%s); validating in a process "
                        "of this job", exc)
    with _worker_lock:
        worker = _running_worker()
        if worker is not None:
            try:
                write_frame(worker.stdin, (list(documents), linked))
                outcome, value = read_frame(worker.stdout)
            except (OSError, EOFError, pickle.UnpicklingError) as exc:
                log.warning("the data-contracts process ended (%s); validating in this process", exc)
                worker.kill()
                _worker = None
            else:
                if outcome == "error":
                    raise value
                return value
    return check_here(documents, linked)


def check_here(documents: Sequence[Mapping[str, Any]], linked: LinkedArtifacts) -> QualityReport:
    """`check_contracts` in this process (what the contracts process runs)."""
    from clipmill.quality.frames import contract_frames
    from clipmill.quality.validate import validate_frames

    return validate_frames(contract_frames(
        documents, timelines=linked.timelines, tracks=linked.tracks, edit_plans=linked.edit,
        captions=linked.captions, problems=linked.problems,
    ))


def _running_worker() -> subprocess.Popen[bytes] | None:
    """The contracts process, started now if it is not running; None where it cannot start. Hold `_worker_lock`."""
    global _worker
    if _worker is not None and _worker.poll() is None:
        return _worker
    path = [entry for entry in sys.path if entry]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}  # as the caller imports clipmill, whatever set its path
    try:
        _worker = subprocess.Popen(
            [sys.executable, "-m", "clipmill.quality.contracts_worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env=env,
        )
    except OSError as exc:
        log.warning("no data-contracts process (%s); validating in this process", exc)
        _worker = None
    return _worker
