"""The local Prefect server: ``prefect server start`` on loopback, started on demand and reused.

Without ``PREFECT_API_URL``, `clipmill run`, `clipmill batch` and `clipmill presets` talk to one
Prefect server (API and UI) with its database under ``<home>/prefect``. The first caller starts it
in a session of its own so it outlives the command and a Ctrl-C in the terminal; later callers find
it through ``<home>/prefect/server.json``. The state file is replaced atomically and written as soon
as the process exists (before it serves), so a caller killed during start-up leaves a server the next
caller can find and stop; a pid is only trusted while its command line is still that server's. A file
lock makes concurrent callers start one server, not two. `clipmill server stop` ends it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

from clipmill.errors import ToolError
from clipmill.ports import free_loopback_ports
from clipmill.processes import exclusive_lock, read_state, stop_process, write_state
from clipmill.quality import contracts_service

log = logging.getLogger(__name__)

STATE_FILE = "server.json"


@dataclass(frozen=True)
class LocalServer:
    """How to reach the local Prefect server: its process, port and data folder."""

    pid: int
    port: int
    data_dir: str
    started_at: float

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def server_dir(home: Path) -> Path:
    """Where the server's database, log and state file live."""
    return home.resolve() / "prefect"


def ensure_running(home: Path, *, startup_timeout_s: float = 120.0) -> LocalServer:
    """The local server under `home`, started when none is serving (waits for one still starting)."""
    folder = server_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(folder / "server.lock"):
        state = _read_state(folder)
        if state is not None and _is_our_server(state):
            if _healthy(state) or _wait_healthy(state, deadline=state.started_at + startup_timeout_s):
                return state
            stop_process(state.pid, group=True)
        return _start(folder, startup_timeout_s=startup_timeout_s)


def running(home: Path) -> LocalServer | None:
    """The local server under `home` when it is up and answering, else None."""
    state = _read_state(server_dir(home))
    return state if state is not None and _is_our_server(state) and _healthy(state) else None


def stop(home: Path, *, timeout_s: float = 30.0) -> bool:
    """Stop the local server under `home` (its database stays) and its contracts process; True when the server
    was running."""
    folder = server_dir(home)
    if not folder.is_dir():
        return False
    contracts_service.stop(home)
    with exclusive_lock(folder / "server.lock"):
        state = _read_state(folder)
        if state is None or not _is_our_server(state):
            (folder / STATE_FILE).unlink(missing_ok=True)
            return False
        stop_process(state.pid, group=True, timeout_s=timeout_s)
        (folder / STATE_FILE).unlink(missing_ok=True)
        return True


def prefect_binary() -> str:
    """The `prefect` executable: beside the running Python (the venv) or on PATH."""
    beside = Path(sys.executable).parent / "prefect"
    found = str(beside) if beside.is_file() else shutil.which("prefect")
    if not found:
        raise ToolError("the `prefect` command was not found beside this Python or on PATH; reinstall clipmill")
    return found


def _start(folder: Path, *, startup_timeout_s: float) -> LocalServer:
    [port] = free_loopback_ports(1)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(folder), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
    )
    with open(folder / "server.log", "ab") as log_file:
        process = subprocess.Popen(
            [prefect_binary(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=folder,
            start_new_session=True,
        )
    server = LocalServer(pid=process.pid, port=port, data_dir=str(folder), started_at=time.time())
    _write_state(folder, server)
    if _wait_healthy(server, deadline=server.started_at + startup_timeout_s, process=process):
        log.info("started the local Prefect server: UI and runs at %s (data in %s)", server.ui_url, folder)
        return server
    code = process.poll()
    stop_process(server.pid, group=True)
    (folder / STATE_FILE).unlink(missing_ok=True)
    what = f"exited during start-up (code {code})" if code is not None else f"did not answer within {startup_timeout_s:.0f} s"
    raise ToolError(f"the local Prefect server {what}; see {folder / 'server.log'}")


def _wait_healthy(server: LocalServer, *, deadline: float, process: subprocess.Popen | None = None) -> bool:
    while time.time() < deadline:
        if (process is not None and process.poll() is not None) or not psutil.pid_exists(server.pid):
            return False
        if _healthy(server):
            return True
        time.sleep(0.25)
    return False


def _healthy(server: LocalServer) -> bool:
    try:
        with urllib.request.urlopen(f"{server.api_url}/health", timeout=3) as response:
            return response.status == 200 and json.loads(response.read()) is True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _is_our_server(server: LocalServer) -> bool:
    """True while `server.pid` is still a `prefect server start` on its port (not a reused pid)."""
    try:
        command = psutil.Process(server.pid).cmdline()
    except psutil.Error:
        return False
    return "server" in command and str(server.port) in command


def _read_state(folder: Path) -> LocalServer | None:
    return read_state(folder / STATE_FILE, LocalServer)


def _write_state(folder: Path, server: LocalServer) -> None:
    write_state(folder / STATE_FILE, server)
