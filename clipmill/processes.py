"""For the detached servers clipmill starts (embedded store, local Prefect server): one starter at a
time (`exclusive_lock`) and stopping them by pid (`stop_process`)."""

from __future__ import annotations

import fcntl
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

__all__ = ["exclusive_lock", "stop_process"]


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
