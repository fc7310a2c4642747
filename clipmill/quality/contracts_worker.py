"""The contracts process (`clipmill.quality.contracts_process`): import GE, then validate what arrives on stdin.

Each request is a pickled ``(documents, linked)`` frame; each reply ``("ok", QualityReport)`` or
``("error", exception)``. The replies travel on the original stdout, which is moved aside first, so
that anything a library prints lands on stderr instead of inside a frame. The process ends when its
stdin does: when the clip job's process exits or dies.
"""

from __future__ import annotations

import os
import signal
import sys

from clipmill.quality.contracts_process import check_here, read_frame, write_frame


def main() -> None:
    # Ctrl-C is the job's process's to handle: it stops the job and ends this process with its other
    # children (`clipmill.interrupts`), without a traceback from here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer

    from clipmill.quality.validate import warm_up

    warm_up()
    while True:
        try:
            documents, linked = read_frame(requests)
        except EOFError:
            return
        try:
            reply = ("ok", check_here(documents, linked))
        except Exception as exc:  # noqa: BLE001 - the caller raises it as its own
            reply = ("error", exc)
        write_frame(replies, reply)


if __name__ == "__main__":
    main()
