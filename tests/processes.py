"""Real server and worker processes for tests that drive clipmill the way a deployment does.

`prefect_server` starts `prefect server start` (API auth on) on a free loopback port with its own
PREFECT_HOME; `start`/`stop` run a command in its own session (a worker, say) with its output in a log.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from clipmill.ports import free_loopback_ports

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
AUTH = "clipmill:s3cret-for-tests"


@dataclass(frozen=True)
class Server:
    """A running Prefect server: its API URL and the environment that talks to it."""

    api_url: str
    env: dict[str, str]
    home: Path


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def prefect(env: dict[str, str], *args: str, timeout_s: float = 60) -> subprocess.CompletedProcess:
    """Run the `prefect` CLI beside this interpreter; raises with its output when it fails."""
    done = subprocess.run(
        [str(BIN / "prefect"), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout_s
    )
    if done.returncode != 0:
        raise AssertionError(f"prefect {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def api(url: str, *, auth: str | None) -> int:
    """POST an empty filter to the API; the HTTP status."""
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={"Content-Type": "application/json"})
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _ready(url: str) -> bool:
    try:
        return api(url, auth=AUTH) == 200
    except urllib.error.URLError:
        return False


#: How long a test's Prefect server may take to answer: clipmill's own start-up allowance
#: (`clipmill.prefect_server.ensure_running`); a clean-clone suite at load 14 on 2 cores needed more than 60 s.
SERVER_START_S = 120.0


@contextmanager
def prefect_server(home: Path, *, auth: bool = True, **extra_env: str) -> Iterator[Server]:
    """A `prefect server start` process (API auth on unless `auth` is false) with its UI, ready to take requests."""
    [port] = free_loopback_ports(1)
    api_url = f"http://127.0.0.1:{port}/api"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")},
        "PREFECT_HOME": str(home), "PREFECT_API_URL": api_url, "PREFECT_UI_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_LOGGING_LEVEL": "INFO",
        **({"PREFECT_SERVER_API_AUTH_STRING": AUTH, "PREFECT_API_AUTH_STRING": AUTH} if auth else {}),
        **extra_env,
    }
    server = start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, home / "server.log")
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not _ready(f"{api_url}/flow_runs/filter"):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Prefect server did not start:\n" + (home / "server.log").read_text()[-2000:])
            time.sleep(0.5)
        yield Server(api_url, env, home)
    finally:
        stop(server)
