"""For the detached servers clipmill starts (embedded store, local Prefect server, its contracts process): one
starter at a time (`exclusive_lock`), their state files (`write_state`, `read_state`) and stopping them by pid
(`stop_process`)."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import psutil

__all__ = ["exclusive_lock", "read_state", "stop_process", "write_state"]

S = TypeVar("S")


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (created, with its folder, when missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_state(path: Path, state: Any) -> None:
    """Replace `path` with the dataclass `state` as JSON (mode 600: it may hold keys), written to a temporary
    file, synced and renamed over it: a reader sees the old state or the new one, never half of one."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(json.dumps(asdict(state), indent=2))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def read_state(path: Path, kind: type[S]) -> S | None:
    """The `kind` dataclass `write_state` saved at `path`; None when it is missing or not one."""
    try:
        return kind(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def stop_process(pid: int, *, group: bool = False, timeout_s: float = 30.0) -> None:
    """SIGTERM `pid` (its whole process group with `group`), wait for it to go, SIGKILL when it will not
    (then wait a few seconds more, so its ports and files are free when this returns)."""
    send = os.killpg if group else os.kill
    try:
        send(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if _gone(pid, timeout_s):
        return
    try:
        send(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _gone(pid, 5.0)


def _gone(pid: int, timeout_s: float) -> bool:
    """Wait up to `timeout_s` for `pid` to exit (reaping it when it is our child); True when it did."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return True
        except ChildProcessError:
            if not psutil.pid_exists(pid):
                return True
        time.sleep(0.2)
    return False
