"""What a `clipmill` command prints on the console: clipmill's own lines, Prefect's warnings, no noise.

- `quiet_native_libraries` (the console script, before anything loads): OpenCV's and absl's log
  levels, and a filter on file descriptor 2 that drops the INFO/WARNING chatter LiteRT, XNNPACK and
  absl print from C++ (``INFO: Created TensorFlow Lite XNNPACK delegate``, ``Logging before
  InitGoogle()``, ``W0000 ... .cc:123]``, OpenCV's ``[ WARN:0@...]``), which no setting turns off.
- `configure_console`: the console shows warnings and errors (everything with ``verbose``), one line
  per finished task and flow run, and where the run and the servers are; the runs still send every
  INFO log to the Prefect server and its UI. Tracebacks only with ``debug``.
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import threading

from clipmill.interrupts import stop_requested

DEBUG_ENV = "CLIPMILL_DEBUG"

#: Lines native libraries write straight to stderr that say nothing to a user.
NATIVE_NOISE = re.compile(
    rb"^(INFO: |WARNING: Logging before InitGoogle\(\)|[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] |\[ WARN:\d+@)"
)


def debug_requested(flag: bool = False) -> bool:
    """True with ``--debug`` or ``CLIPMILL_DEBUG=1``: show tracebacks."""
    return flag or os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def quiet_native_libraries() -> None:
    """Lower the native libraries' log levels and filter what they still print to fd 2.

    Python's own ``sys.stderr`` is moved to a copy of the original descriptor first, so clipmill's
    and Prefect's lines bypass the filter and none is lost when the process exits.
    """
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    os.environ.setdefault("GOOGLE_STDERRTHRESHOLD", "2")
    sys.stderr.flush()
    original = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    sys.stderr = io.TextIOWrapper(
        os.fdopen(original, "wb", buffering=0, closefd=False), encoding="utf-8", errors="backslashreplace",
        line_buffering=True, write_through=True,
    )
    threading.Thread(target=_forward, args=(read_fd, original), name="clipmill-stderr", daemon=True).start()


def _forward(read_fd: int, target_fd: int) -> None:
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        for line in io.BufferedReader(pipe):
            if not NATIVE_NOISE.match(line):
                os.write(target_fd, line)


class _WithoutTraceback(logging.Formatter):
    """Formats a record with another formatter, leaving its traceback out (the record is not changed)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


#: clipmill loggers whose INFO lines a user wants: where the run and the servers are.
ANNOUNCING = ("clipmill.cli.api", "clipmill.prefect_server", "clipmill.storage.embedded")


class _ConsoleLevels(logging.Filter):
    """Records from `level` up, plus one line per finished task and flow run and clipmill's announcements;
    nothing once the command is stopping on a signal."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if stop_requested():
            return False  # the failures a stop causes on its way out are not news
        if record.levelno >= self.level:
            return True
        if record.name.startswith(ANNOUNCING):
            return True
        return record.name in ("prefect.task_runs", "prefect.flow_runs") and str(record.msg).startswith("Finished in state")


def configure_console(*, verbose: bool = False, debug: bool = False) -> None:
    """Set up the console for a command that runs flows (imports Prefect, which sets up its logging)."""
    import prefect.main  # noqa: F401  (sets up Prefect's logging, adjusted below)
    from prefect.logging.handlers import PrefectConsoleHandler

    logging.getLogger("clipmill").setLevel(logging.DEBUG if debug else logging.INFO)
    for handler in logging.getLogger().handlers:
        if not isinstance(handler, PrefectConsoleHandler):
            continue
        for old in [f for f in handler.filters if isinstance(f, _ConsoleLevels)]:
            handler.removeFilter(old)
        handler.addFilter(_ConsoleLevels(logging.INFO if verbose else logging.WARNING))
        if isinstance(handler.formatter, _WithoutTraceback) and debug:
            handler.setFormatter(handler.formatter.inner)
        elif handler.formatter is not None and not isinstance(handler.formatter, _WithoutTraceback) and not debug:
            handler.setFormatter(_WithoutTraceback(handler.formatter))
