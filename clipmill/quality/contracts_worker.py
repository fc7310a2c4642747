"""The contracts process: import GE, then validate the ``(documents, linked)`` frames it is sent.

Two ways to run it. On pipes (``python -m clipmill.quality.contracts_worker``), the child of one
job's process (`clipmill.quality.contracts_process`): requests on stdin, replies on the original
stdout, which is moved aside first so that anything a library prints lands on stderr instead of
inside a frame; it ends when its stdin does. Or serving (``--serve-fd N``), the local server's
long-lived process (`clipmill.quality.contracts_service`): N is a listening Unix socket its starter
bound; each connection is answered on a thread of its own, its frames one after another. Each
reply is ``("ok", QualityReport)`` or ``("error", exception)``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
from typing import IO

from clipmill.quality.contracts_process import check_here
from clipmill.quality.wire import read_frame, write_frame


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m clipmill.quality.contracts_worker")
    parser.add_argument("--serve-fd", type=int, help="serve the listening Unix socket with this file descriptor")
    serve_fd = parser.parse_args().serve_fd
    if serve_fd is None:
        _answer_pipes()
    else:
        _serve(socket.socket(fileno=serve_fd))


def _answer_pipes() -> None:
    # Ctrl-C is the job's process's to handle: it stops the job and ends this process with its other
    # children (`clipmill.interrupts`), without a traceback from here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    _warm_up()
    _answer(sys.stdin.buffer, replies)


def _serve(listener: socket.socket) -> None:
    _warm_up()
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=_answer_connection, args=(connection,), daemon=True).start()


def _answer_connection(connection: socket.socket) -> None:
    with connection, connection.makefile("rb") as requests, connection.makefile("wb") as replies:
        try:
            _answer(requests, replies)
        except OSError:  # the job's process went away mid-reply: its request is its own fallback's now
            return


def _answer(requests: IO[bytes], replies: IO[bytes]) -> None:
    """Validate each request frame and write its reply, until the requests end."""
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


def _warm_up() -> None:
    from clipmill.quality.validate import warm_up

    warm_up()


if __name__ == "__main__":
    main()
