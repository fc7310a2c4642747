"""Stopping a command promptly and cleanly on SIGINT (Ctrl-C) or SIGTERM.

Inside `stop_on_signals`, the first signal stops the child processes this command started (ffmpeg,
local Dask workers; not the detached object store and Prefect server, which other commands share),
turns off retries (`stop_requested`), and raises `KeyboardInterrupt` in the main thread so the flow,
its publishing transaction and Prefect's run states unwind as for any crash. When the exception
leaves the block, `on_stop` runs (settle the runs, remove scratch) and the process exits with
128 + the signal's number. A watchdog does the same after `grace_s` whatever the main thread is
doing, and a second signal does it at once: a stopped command never lingers.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psutil

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_stop_signal: int | None = None
_lock = threading.Lock()
#: How long a watchdog lets an `on_stop` already running finish before it exits anyway.
_LAST_WORDS_S = 3.0


def stop_requested() -> int | None:
    """The signal this process is stopping on, or None while it runs normally."""
    return _stop_signal


def terminate_children(*, kill: bool = False) -> None:
    """Stop this process's children and their descendants, except detached servers (session leaders)."""
    doomed: list[psutil.Process] = []
    for child in psutil.Process().children():
        try:
            if os.getsid(child.pid) == child.pid:
                continue
            doomed += [child, *child.children(recursive=True)]
        except (psutil.Error, ProcessLookupError):
            continue
    for process in doomed:
        try:
            process.kill() if kill else process.terminate()
        except psutil.Error:
            pass


@contextmanager
def stop_on_signals(on_stop: Callable[[int], None], *, grace_s: float = 4.0) -> Iterator[None]:
    """Run the block so that SIGINT/SIGTERM stop it within `grace_s` plus a few seconds for `on_stop`.

    The children are stopped from a watcher thread woken by the signal itself (``set_wakeup_fd``),
    not from the Python handler: during a flow run Prefect's own SIGTERM handler takes the signal,
    and its unwinding waits for running tasks, which wait for their ffmpeg.
    """
    finishing = threading.Lock()

    def finish(signum: int) -> None:
        if not finishing.acquire(blocking=False):
            threading.Event().wait(_LAST_WORDS_S)  # another thread is on its way out: give it a moment
            os._exit(128 + signum)
        try:
            terminate_children(kill=True)
            on_stop(signum)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + signum)

    def begin(signum: int) -> None:
        global _stop_signal
        with _lock:
            _stop_signal = _stop_signal or signum

    def watch(read_fd: int) -> None:
        seen = 0
        while True:
            byte = os.read(read_fd, 1)
            if not byte:  # the block ended: its write end is closed
                os.close(read_fd)
                return
            signum = byte[0]
            if signum not in _SIGNALS:
                continue
            begin(signum)
            seen += 1
            if seen > 1:
                finish(_stop_signal or signum)
            terminate_children()
            threading.Thread(target=lambda: (threading.Event().wait(grace_s), finish(signum)), daemon=True).start()

    def handle(signum: int, frame: object) -> None:
        begin(signum)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    threading.Thread(target=watch, args=(read_fd,), name="clipmill-signals", daemon=True).start()
    previous = {signum: signal.signal(signum, handle) for signum in _SIGNALS}
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_about_the_stop(previous_hook)
    try:
        yield
    except BaseException:
        if _stop_signal is not None:
            finish(_stop_signal)
        raise
    finally:
        sys.unraisablehook = previous_hook
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(previous_fd)
        os.close(write_fd)


def _quiet_about_the_stop(hook: Callable[[Any], None]) -> Callable[[Any], None]:
    """`hook`, except for the stop's own `KeyboardInterrupt` where nothing can raise it (a native
    library's callback, e.g. soundfile reading a pipe): Python would print it as a traceback. The stop
    goes on regardless: the children are already stopped and the watchdog ends the process."""

    def unraisable(info: Any) -> None:
        if not (isinstance(info.exc_value, KeyboardInterrupt) and _stop_signal is not None):
            hook(info)

    return unraisable
