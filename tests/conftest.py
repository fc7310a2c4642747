"""Shared fixtures: real media, a real SeaweedFS object store, a real Prefect server.

Retries are shortened for the whole session (before any task module is imported) so failure
tests finish quickly; the retry logic itself still runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["CLIPMILL_TASK_RETRIES"] = "1"
os.environ["CLIPMILL_RETRY_BACKOFF_S"] = "0.1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

REPO_ROOT = Path(__file__).resolve().parents[1]
# librosa's numba functions cache their machine code next to librosa; two suite workers (and the
# clipmill processes they start) compiling into the same cache at once can leave a half-written
# entry that segfaults the next reader, so each worker compiles into a cache of its own
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO_ROOT / ".numba-cache" / WORKER))
SHARED = REPO_ROOT.parent / "shared"
SAMPLE = REPO_ROOT / "samples" / "grid_concat_11speakers_33s.mp4"


@pytest.fixture(scope="session")
def shared_media() -> Path:
    """The labelled media in ../shared/media (see its SOURCES.md)."""
    path = SHARED / "media"
    if not path.is_dir():
        pytest.skip(f"labelled media not found at {path}")
    return path


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """The small face-model weights in ../shared/models (see its SOURCES.md)."""
    path = SHARED / "models"
    if not path.is_dir():
        pytest.skip(f"shared model weights not found at {path}")
    return path


@pytest.fixture(scope="session")
def sample_video() -> Path:
    """The repository's own sample: 33 s, 11 GRID talkers, H.264/AAC 360x288 at 25 fps."""
    return SAMPLE


@pytest.fixture(scope="session")
def clipmill_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private clipmill home for the session (scratch space, source cache)."""
    home = tmp_path_factory.mktemp("clipmill-home")
    os.environ["CLIPMILL_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory, clipmill_home: Path) -> Iterator["object"]:
    """A real SeaweedFS S3 server on fresh loopback ports, configured as clipmill's store."""
    from clipmill.storage import ObjectStore
    from clipmill.storage.embedded import start_server

    server, process = start_server(tmp_path_factory.mktemp("seaweed"))
    os.environ.update(
        {
            "CLIPMILL_STORAGE__ENDPOINT": server.endpoint,
            "CLIPMILL_STORAGE__ACCESS_KEY": server.access_key,
            "CLIPMILL_STORAGE__SECRET_KEY": server.secret_key,
            "CLIPMILL_STORAGE__BUCKET": "clipmill-test",
        }
    )
    store = ObjectStore(server.endpoint, access_key=server.access_key, secret_key=server.secret_key, bucket="clipmill-test")
    store.ensure_bucket()
    yield store
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A real temporary Prefect server (SQLite) for the session's flow runs."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def clip_env(seaweed, prefect_server) -> "object":
    """Everything a clip job needs: the object store (returned) and a Prefect server."""
    return seaweed


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A scratch folder that also holds a private copy of the sample video."""
    shutil.copy(SAMPLE, tmp_path / SAMPLE.name)
    return tmp_path
