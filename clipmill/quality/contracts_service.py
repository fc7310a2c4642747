"""The local server's contracts process: Great Expectations imported once, not once per `clipmill run`.

Importing GE and building its suites costs 2.5 s of CPU alone and 4–5 s on two busy cores, more
than the rest of a short job's overhead. So beside the local Prefect server runs one long-lived
contracts process (``python -m clipmill.quality.contracts_worker --serve-fd N``), started with the
server's first use (`clipmill.cli.server.prefect_api`) and stopped with it (`clipmill server stop`).
Jobs of that server send it their clips' documents over a Unix socket (`request`); it validates
them one clip at a time, as `clipmill.quality.validate.GE_LOCK` requires.

The socket lives in a folder only its user can enter (the frames are pickles). The state file
records the process and a hash of the code that validates (clipmill's sources, the data
contracts, the interpreter); a caller whose code differs, after an upgrade or an edit, replaces the
process rather than be judged by old rules. The starter binds the socket and hands it to the child,
so a job never finds the process started but not yet listening; a request sent while it imports GE
waits for it. Where no process can serve (a socket path too long for the OS, a start that fails, a
process that dies or does not answer), `request` raises `ServiceUnavailable` and the job validates
in a contracts process of its own (`clipmill.quality.contracts_process`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import psutil

from clipmill.processes import exclusive_lock, read_state, stop_process, write_state
from clipmill.quality.wire import read_frame, write_frame

if TYPE_CHECKING:
    from clipmill.artifacts.store import LinkedArtifacts
    from clipmill.quality.results import QualityReport

log = logging.getLogger(__name__)

STATE_FILE = "service.json"
SOCKET_FILE = "contracts.sock"
#: Longest Unix socket path Linux takes (``sun_path`` is 108 bytes with its terminating NUL).
MAX_SOCKET_PATH = 107
#: A reply may wait for the process's GE import (seconds on a busy machine) and a large batch's validation.
REPLY_TIMEOUT_S = 300.0
CONNECT_TIMEOUT_S = 10.0
#: Whose code the validation is: clipmill's sources and the data contracts' suites and schemas.
CODE_ROOTS = (Path(__file__).resolve().parents[1], Path(__file__).resolve().parents[2] / "data_contracts")


class ServiceUnavailable(Exception):
    """No shared contracts process answered this request; validate elsewhere."""


@dataclass(frozen=True)
class ServiceState:
    """The shared contracts process: its pid and the hash of the code it validates with."""

    pid: int
    code: str
    started_at: float


def service_dir(home: Path) -> Path:
    """The folder (mode 0700) of the socket, the state file and the process's log."""
    return home.resolve() / "prefect" / "contracts"


@functools.cache
def code_version() -> str:
    """A hash of the interpreter and of every file the validation's verdict depends on (about 6 ms)."""
    digest = hashlib.sha256(sys.executable.encode())
    for root in CODE_ROOTS:
        for path in sorted(p for p in root.rglob("*") if p.suffix in {".py", ".json"}):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_running(home: Path) -> Path | None:
    """The socket of the contracts process under `home`, started (not waited for) when none of this code runs;
    None where none can serve (the socket path is too long, or the process would not start)."""
    folder = service_dir(home)
    address = folder / SOCKET_FILE
    if len(os.fsencode(address)) > MAX_SOCKET_PATH:
        log.info("no shared data-contracts process: its socket path %s is too long for a Unix socket", address)
        return None
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    with exclusive_lock(folder / "service.lock"):
        state = _read_state(folder)
        if state is not None and _is_ours(state):
            if state.code == code_version():
                return address
            log.info("replacing the shared data-contracts process (pid %d): it runs other code", state.pid)
            stop_process(state.pid, group=True)
        try:
            _start(folder, address)
        except OSError as exc:
            log.warning("no shared data-contracts process (%s); each job validates in a process of its own", exc)
            return None
    return address


def running(home: Path) -> ServiceState | None:
    """The contracts process under `home` while it lives, else None."""
    state = _read_state(service_dir(home))
    return state if state is not None and _is_ours(state) else None


def stop(home: Path) -> bool:
    """Stop the contracts process under `home`; True when one was running."""
    folder = service_dir(home)
    if not folder.is_dir():
        return False
    with exclusive_lock(folder / "service.lock"):
        state = _read_state(folder)
        alive = state is not None and _is_ours(state)
        if alive:
            stop_process(state.pid, group=True)
        (folder / STATE_FILE).unlink(missing_ok=True)
        (folder / SOCKET_FILE).unlink(missing_ok=True)
        return alive


def request(address: Path, documents: Sequence[Mapping[str, Any]], linked: LinkedArtifacts) -> QualityReport:
    """The contracts process's verdict on `documents` and what they link to; raises what validation raised, or
    `ServiceUnavailable` when no process answered."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(CONNECT_TIMEOUT_S)
            connection.connect(str(address))
            connection.settimeout(REPLY_TIMEOUT_S)
            with connection.makefile("wb") as out, connection.makefile("rb") as replies:
                write_frame(out, (list(documents), linked))
                outcome, value = read_frame(replies)
    except (OSError, EOFError, pickle.UnpicklingError) as exc:
        raise ServiceUnavailable(f"{type(exc).__name__}: {exc}") from exc
    if outcome == "error":
        raise value
    return value


def _start(folder: Path, address: Path) -> None:
    """Bind the socket here, then hand it to a new contracts process in a session of its own."""
    address.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(address))
        address.chmod(0o600)
        listener.listen(64)
        path = [entry for entry in sys.path if entry]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}  # as the caller imports clipmill
        with open(folder / "service.log", "ab") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "clipmill.quality.contracts_worker", "--serve-fd", str(listener.fileno())],
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=folder,
                pass_fds=(listener.fileno(),), start_new_session=True,
            )
    finally:
        listener.close()
    _write_state(folder, ServiceState(pid=process.pid, code=code_version(), started_at=time.time()))
    log.info("started the shared data-contracts process (pid %d)", process.pid)


def _is_ours(state: ServiceState) -> bool:
    """True while `state.pid` is still a serving contracts process (not a reused pid)."""
    try:
        command = psutil.Process(state.pid).cmdline()
    except psutil.Error:
        return False
    return "clipmill.quality.contracts_worker" in command and "--serve-fd" in command


def _read_state(folder: Path) -> ServiceState | None:
    return read_state(folder / STATE_FILE, ServiceState)


def _write_state(folder: Path, state: ServiceState) -> None:
    write_state(folder / STATE_FILE, state)
