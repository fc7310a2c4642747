"""`submit --follow` for real: a Prefect server (API auth on) started here, the clip-job deployment
from prefect.yaml on a process work pool, a `prefect worker` process, SeaweedFS as the store."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

AUTH = "clipmill:s3cret-for-tests"
BIN = Path(sys.executable).parent
SUBMIT = "import typer; from clipmill.cli_orchestrate import submit; typer.run(submit)"
QUICK = ["-o", "remove_silence=false", "-o", "detect_faces=false"]


@dataclass(frozen=True)
class Server:
    api_url: str
    env: dict[str, str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def prefect(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "prefect"), *args], cwd=REPO_ROOT, env=env, check=True, capture_output=True, timeout=60)


def ready(url: str) -> bool:
    try:
        return api(url, auth=AUTH) == 200
    except urllib.error.URLError:
        return False


def api(url: str, *, auth: str | None) -> int:
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={"Content-Type": "application/json"})
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def deployed(seaweed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Server + process pool + `prefect deploy --name clip-job` + a worker polling every second."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")},
        "PREFECT_HOME": str(home), "PREFECT_API_URL": api_url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_API_AUTH_STRING": AUTH, "PREFECT_API_AUTH_STRING": AUTH, "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    server = start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, home / "server.log")
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not ready(f"{api_url}/flow_runs/filter"):
            assert server.poll() is None and time.monotonic() < deadline, (home / "server.log").read_text()[-2000:]
            time.sleep(0.5)
        prefect(env, "work-pool", "create", "clipmill-process", "--type", "process")
        prefect(env, "--no-prompt", "deploy", "--name", "clip-job")
        worker = start([str(BIN / "prefect"), "worker", "start", "--pool", "clipmill-process"], env, home / "worker.log")
        yield Server(api_url, env)
    finally:
        for process in (worker, server):
            if process is not None:
                stop(process)


def submit(server: Server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SUBMIT, *args, "--follow", "--timeout", "90"], cwd=REPO_ROOT, env=server.env,
        capture_output=True, text=True, timeout=120,
    )


def test_the_api_refuses_requests_without_credentials(deployed):
    assert api(f"{deployed.api_url}/flow_runs/filter", auth=None) == 401
    assert api(f"{deployed.api_url}/flow_runs/filter", auth="clipmill:wrong") == 401
    assert api(f"{deployed.api_url}/flow_runs/filter", auth=AUTH) == 200


def test_submit_follow_streams_a_good_run_to_completion(deployed, seaweed, sample_video):
    done = submit(deployed, str(sample_video), "--start", "2", "--end", "3.5", *QUICK, "-o", "crf=31")

    assert done.returncode == 0, done.stdout + done.stderr
    header, link = done.stdout.splitlines()[:2]
    run_id = header.split()[2]
    assert link == f"{deployed.api_url.removesuffix('/api')}/runs/flow-run/{run_id}"
    assert "state Running" in done.stderr and "state Completed" in done.stderr
    assert "ready: s3://clipmill-test/clips/" in done.stderr, "the run's own logs are streamed"
    assert done.stdout.splitlines()[-1] == f"flow run {run_id} Completed"
    manifests = [json.loads(seaweed.get_bytes(key)) for key in seaweed.list("clips/") if key.endswith(".json")]
    mine = [m for m in manifests if m["flow_run_id"] == run_id]
    assert len(mine) == 1 and mine[0]["request"]["options"]["crf"] == 31
    assert seaweed.exists(mine[0]["outputs"][0]["key"])


def test_submit_follow_fails_a_bad_request_with_its_message(deployed, sample_video):
    done = submit(deployed, str(sample_video), "--start", "30", "--end", "40", *QUICK)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "state Failed" in done.stderr
    assert "Failed:" in done.stderr and "past the end of the source" in done.stderr.splitlines()[-1]
