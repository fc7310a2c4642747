"""The entry layer: the `clipmill` command (`commands`) and the Python API (`api`).

Only this package, inside `clipmill`, may import the flows, the tasks, the Prefect blocks or
Prefect itself; everything below it is pure compute and adapters (``tests/unit/test_import_rules.py``
keeps it so). Commands import flows and Prefect when they run, not when the command line is parsed,
so ``clipmill --help`` and ``clipmill analyze`` never load them.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading


def main() -> None:
    """The console script (``clipmill = "clipmill.cli:main"``): see `clipmill.cli.commands.main`.

    A finished command exits without the interpreter's teardown: freeing Prefect's, pandas' and
    GE's module graphs costs a `clipmill run` ~1.3 s of wall time and frees nothing a process that is
    ending needs. Everything a normal exit does that matters still happens first (`exit_now`).
    """
    from clipmill.cli.commands import main as run

    try:
        run()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    exit_now(code)


def exit_now(code: object) -> None:
    """End the process as `sys.exit(code)` would, minus the teardown of the modules.

    The steps of CPython's own finalisation, in its order, up to the teardown: the threading
    shutdown (executors' exit hooks, then the non-daemon threads joined), the ``atexit`` handlers
    (Prefect's log and event flushes, logging's shutdown), the standard streams flushed; then ``os._exit``.
    """
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    threading._shutdown()  # type: ignore[attr-defined]  # what Py_FinalizeEx calls first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing left to deliver
            pass
    os._exit(status)
