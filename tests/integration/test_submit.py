"""`submit --follow` for real: a Prefect server (API auth on) started here, the clip-job deployment
from prefect.yaml on a process work pool, a `prefect worker` process, SeaweedFS as the store."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.processes import AUTH, BIN, REPO_ROOT, Server, api, prefect, prefect_server, start, stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

SUBMIT = "import typer; from clipmill.cli.orchestrate import submit; typer.run(submit)"
QUICK = ["-o", "remove_silence=false", "-o", "detect_faces=false"]


@pytest.fixture(scope="module")
def deployed(seaweed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Server + process pool + `prefect deploy --name clip-job` + a worker polling every second."""
    with prefect_server(tmp_path_factory.mktemp("prefect-home")) as server:
        prefect(server.env, "work-pool", "create", "clipmill-process", "--type", "process")
        prefect(server.env, "--no-prompt", "deploy", "--name", "clip-job")
        worker = start([str(BIN / "prefect"), "worker", "start", "--pool", "clipmill-process"], server.env,
                       server.home / "worker.log")
        try:
            yield server
        finally:
            stop(worker)


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
