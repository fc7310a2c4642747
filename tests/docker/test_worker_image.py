"""The clipmill-worker image (docker/Dockerfile) for real: the face backends that ship, the README's run
command inside it, and the clip-job-docker deployment on a Docker work pool starting flow-run containers from it.

Needs a Docker engine and the image, built by scripts/check_docker_image.sh (which runs this module with
CLIPMILL_DOCKER_CHECK_STRICT=1, so a missing engine or image fails instead of skipping). The containers
use the host's network: they reach the test's Prefect server and SeaweedFS on loopback.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import BIN, REPO_ROOT, Server, prefect, prefect_server, start, stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

IMAGE = os.environ.get("CLIPMILL_DOCKER_IMAGE", "clipmill-worker:0.1.0")
STRICT = os.environ.get("CLIPMILL_DOCKER_CHECK_STRICT") == "1"
SAMPLE = "samples/grid_concat_11speakers_33s.mp4"


def docker(*args: str, timeout_s: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout_s)


def _engine_and_image() -> str | None:
    """Why these tests cannot run here, or None."""
    if shutil.which("docker") is None:
        return "no docker CLI"
    if docker("info", timeout_s=30).returncode != 0:
        return "no Docker engine answers `docker info`"
    if docker("image", "inspect", IMAGE, timeout_s=30).returncode != 0:
        return f"image {IMAGE} not built (scripts/check_docker_image.sh builds it)"
    return None


@pytest.fixture(scope="module", autouse=True)
def image() -> str:
    reason = _engine_and_image()
    if reason:
        if STRICT:
            pytest.fail(f"{reason} (CLIPMILL_DOCKER_CHECK_STRICT=1)")
        pytest.skip(reason)
    return IMAGE


def in_image(script: str, *, volumes: dict[Path, str] | None = None, timeout_s: float = 300) -> subprocess.CompletedProcess:
    mounts = [arg for host, inside in (volumes or {}).items() for arg in ("-v", f"{host}:{inside}")]
    return docker("run", "--rm", "--network", "host", *mounts, IMAGE, "sh", "-c", script, timeout_s=timeout_s)


def test_the_face_backends_that_ship_run_inside_the_image():
    """mediapipe and YuNet (the default ensemble) and dlib identity: each loads its native library here."""
    done = in_image(
        f"clipmill faces {SAMPLE} --start 5 --end 7 --detector mediapipe --detector yunet --identity dlib --json"
    )
    assert done.returncode == 0, done.stderr[-4000:]
    spans = [(track["frames"][0][0], track["frames"][-1][0], len(track["frames"])) for track in json.loads(done.stdout)["tracks"]]
    assert spans == [(5.0, 5.96, 25), (6.0, 6.96, 25)], "one talker each side of the cut at 6 s, a box on every frame"


def test_the_readme_run_command_publishes_a_clip_inside_the_image(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    done = in_image(f"clipmill run {SAMPLE} --start 4.5 --end 16.25 --reframe 9:16 --out /out", volumes={out: "/out"})
    assert done.returncode == 0, done.stderr[-4000:]
    [manifest_path] = out.glob("*.json")
    manifest = json.loads(manifest_path.read_text())
    assert done.stdout.strip().splitlines()[-1].endswith(manifest_path.name)
    assert manifest["request"]["options"]["reframe"] == "9:16"
    clip = manifest_path.with_suffix(".mp4")
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height:format=duration", "-of", "json",
         str(clip)], capture_output=True, text=True, check=True).stdout)
    video = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert {s["codec_type"] for s in probe["streams"]} == {"video", "audio"}
    assert video["width"] * 16 == video["height"] * 9
    [output] = manifest["outputs"]
    assert (video["width"], video["height"]) == (output["width"], output["height"])
    assert abs(float(probe["format"]["duration"]) - output["duration_s"]) <= 0.04, "within one frame at 25 fps"
    assert hashlib.sha256(clip.read_bytes()).hexdigest() == output["sha256"]


@pytest.fixture(scope="module")
def docker_pool(seaweed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A Prefect server, the store saved as a block, clip-job-docker deployed and a Docker worker."""
    block = f"docker-test-{uuid.uuid4().hex[:8]}"
    with prefect_server(tmp_path_factory.mktemp("prefect-home"), CLIPMILL_STORAGE__BLOCK=block) as server:
        prefect(server.env, "block", "register", "-m", "blocks.object_store")
        subprocess.run(
            [str(BIN / "python"), "-c",
             "import os, sys; from blocks.object_store import ObjectStoreCredentials as B; "
             "B(endpoint=os.environ['CLIPMILL_STORAGE__ENDPOINT'], access_key=os.environ['CLIPMILL_STORAGE__ACCESS_KEY'], "
             "secret_key=os.environ['CLIPMILL_STORAGE__SECRET_KEY'], bucket=os.environ['CLIPMILL_STORAGE__BUCKET'])"
             ".save(sys.argv[1])", block],
            cwd=REPO_ROOT, env=server.env, check=True, timeout=60,
        )
        prefect(server.env, "work-pool", "create", "clipmill-docker", "--type", "docker")
        prefect(server.env, "--no-prompt", "deploy", "--name", "clip-job-docker")
        worker_env = {k: v for k, v in server.env.items() if not k.startswith("CLIPMILL_STORAGE__")}
        worker = start([str(BIN / "prefect"), "worker", "start", "--pool", "clipmill-docker"], worker_env,
                       server.home / "worker.log")
        try:
            yield server
        finally:
            stop(worker)


def test_the_docker_work_pool_runs_clip_job_docker_in_a_container_of_the_image(docker_pool, seaweed):
    done = prefect(
        docker_pool.env, "deployment", "run", "clip-job/clip-job-docker",
        "--param", "start=2", "--param", "end=3.5", "--param", 'options={"remove_silence": false, "detect_faces": false}',
        # the deployment joins the compose network; here the containers share the host's loopback
        "--job-variable", 'network_mode="host"', "--job-variable", "networks=[]",
        "--job-variable", f'image="{IMAGE}"', "--watch", "--watch-timeout", "400", timeout_s=450,
    )
    run_id = next(line.split()[-1] for line in done.stdout.splitlines() if "UUID:" in line)
    log = (docker_pool.home / "worker.log").read_text()
    assert "Completed" in done.stdout, done.stdout[-3000:] + log[-3000:]
    containers = docker("ps", "-a", "--filter", f"label=io.prefect.flow-run-id={run_id}", "--format", "{{.ID}} {{.Image}} {{.Status}}")
    container, *image_and_status = containers.stdout.split()
    docker("rm", container)
    assert image_and_status[:3] == [IMAGE, "Exited", "(0)"], (containers.stdout, log[-3000:])
    manifests = [json.loads(seaweed.get_bytes(key)) for key in seaweed.list("clips/") if key.endswith(".json")]
    mine = [m for m in manifests if m["flow_run_id"] == run_id]
    assert len(mine) == 1, "the container published to the store the saved block names"
    assert seaweed.exists(mine[0]["outputs"][0]["key"])
