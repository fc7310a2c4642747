"""Faults with real processes: the object store killed mid-job, ffmpeg killed, the temp disk full,
two identical jobs racing to publish. Each is bounded in time.
"""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from clipmill import process_clip
from clipmill.errors import NoSpaceLeft, StorageError, ToolError
from clipmill.storage import ObjectStore
from clipmill.storage.embedded import start_server
from flows.clip_job import clip_job

FAST = {"detect_faces": False, "vad_backend": "energy"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def point_at(monkeypatch, server) -> ObjectStore:
    """Make `server` clipmill's store for this test; returns a client of its bucket."""
    monkeypatch.setenv("CLIPMILL_STORAGE__ENDPOINT", server.endpoint)
    monkeypatch.setenv("CLIPMILL_STORAGE__ACCESS_KEY", server.access_key)
    monkeypatch.setenv("CLIPMILL_STORAGE__SECRET_KEY", server.secret_key)
    monkeypatch.setenv("CLIPMILL_STORAGE__CONNECT_TIMEOUT_S", "1")
    store = ObjectStore(server.endpoint, access_key=server.access_key, secret_key=server.secret_key,
                        bucket=os.environ["CLIPMILL_STORAGE__BUCKET"], connect_timeout_s=1)
    store.ensure_bucket()
    return store


def kill_when_jobs_appear(store: ObjectStore, process: subprocess.Popen, timeout_s: float = 60) -> threading.Thread:
    """SIGKILL the store from a thread as soon as the first object under ``jobs/`` exists."""
    def watch() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not any(True for _ in store.list("jobs/")):
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.timeout(150)
def test_store_killed_mid_job_fails_clearly_then_resumes_to_the_same_clip(
    clip_env, prefect_server, sample_video, tmp_path, monkeypatch
):
    clean = process_clip(str(sample_video), start=2.0, end=6.0, out_dir=tmp_path / "clean", **FAST)
    data_dir = tmp_path / "store"
    server, process = start_server(data_dir)
    try:
        store = point_at(monkeypatch, server)
        watcher = kill_when_jobs_appear(store, process)
        state = clip_job(str(sample_video), 2.0, 6.0, FAST, return_state=True)
        watcher.join(10)
        error = state.result(raise_on_failure=False)
        assert state.is_failed() and isinstance(error, StorageError), f"{type(error).__name__}: {error}"
        assert f"object store unreachable at http://{server.endpoint}" in str(error)

        server, process = start_server(data_dir)
        store = point_at(monkeypatch, server)
        assert list(store.list("clips/")) == []
        stored = {key: store.client.stat_object(store.bucket, key).last_modified for key in store.list("jobs/")}
        assert stored, "the job stored some stages before the store died"
        wait_readable(store, next(iter(stored)))
        resumed = process_clip(str(sample_video), start=2.0, end=6.0, out_dir=tmp_path / "resumed", **FAST)
        for key, modified in stored.items():
            assert store.client.stat_object(store.bucket, key).last_modified == modified, f"{key} was redone"
        assert sha256(resumed.clip_path.read_bytes()) == sha256(clean.clip_path.read_bytes())
        assert resumed.manifest.job_id == clean.manifest.job_id
    finally:
        process.kill()
        process.wait()


def wait_readable(store: ObjectStore, key: str, timeout_s: float = 30) -> None:
    """Wait until a restarted SeaweedFS serves `key` again (it answers 500 while volumes load)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            store.get_bytes(key)
            return
        except StorageError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def fake_ffmpeg(folder: Path, *, on_render: str) -> Path:
    """An ffmpeg that passes every call through except the render, which writes part of its output
    and then dies with `on_render` (``enospc``: 'No space left on device', exit 1; ``kill``: SIGKILL)."""
    real = subprocess.run(["which", "ffmpeg"], capture_output=True, text=True, check=True).stdout.strip()
    ending = ('echo "av_interleaved_write_frame(): No space left on device" >&2; exit 1'
              if on_render == "enospc" else 'kill -9 $$')
    script = folder / "ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        'case " $* " in *" -filter_complex_script "*) ;; *) exec ' + real + ' "$@" ;; esac\n'
        'for last; do :; done\n'
        'head -c 65536 /dev/urandom > "$last"\n'
        + ending + "\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.mark.timeout(60)
@pytest.mark.parametrize("how", ["enospc", "kill"])
def test_render_dying_leaves_no_temp_files_and_publishes_nothing(how, clip_env, sample_video, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("CLIPMILL_HOME", str(home))
    monkeypatch.setenv("CLIPMILL_FFMPEG", str(fake_ffmpeg(tmp_path, on_render=how)))
    before = set(clip_env.list("clips/"))
    state = clip_job(str(sample_video), 7.0, 9.0, {**FAST, "crf": 31}, return_state=True)
    error = state.result(raise_on_failure=False)
    assert state.is_failed() and isinstance(error, NoSpaceLeft if how == "enospc" else ToolError), \
        f"{type(error).__name__}: {error}"
    assert "rendering" in str(error)
    assert (f"no space left on {home / 'tmp'}/job-" if how == "enospc" else "exit -9") in str(error)
    assert list((home / "tmp").iterdir()) == []
    assert set(clip_env.list("clips/")) == before


def small_disk(tmp_path: Path, size: str) -> Path:
    """A tmpfs of `size` (needs root and mount); skipped where it cannot be mounted."""
    mount = tmp_path / f"disk-{size}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); the fake-ffmpeg test covers ENOSPC")
    return mount


@pytest.fixture
def small_disks(tmp_path: Path):
    """Makes small tmpfs disks for a test and unmounts them after it."""
    made: list[Path] = []
    yield lambda size: made.append(small_disk(tmp_path, size)) or made[-1]
    for mount in made:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.timeout(90)
def test_a_disk_too_small_for_the_source_snapshot_is_named_before_anything_runs(small_disks, clip_env, sample_video,
                                                                                 monkeypatch):
    home = small_disks("4m")
    monkeypatch.setenv("CLIPMILL_HOME", str(home))
    state = clip_job(str(sample_video), 0.0, 4.0, FAST, return_state=True)
    error = state.result(raise_on_failure=False)
    assert isinstance(error, NoSpaceLeft), f"{type(error).__name__}: {error}"
    assert str(error).startswith(f"no space left on {home / 'cache' / 'sources'}: ") and "the snapshot of" in str(error)
    assert [p.name for p in (home / "cache" / "sources").iterdir()] == []


@pytest.mark.timeout(90)
def test_a_disk_filling_up_during_the_render_is_named_and_cleaned_up(small_disks, clip_env, sample_video, monkeypatch):
    home = small_disks("10m")
    monkeypatch.setenv("CLIPMILL_HOME", str(home))
    before = set(clip_env.list("clips/"))
    # the whole 30 s, lossless: ~12.6 MB, more than the ~9.4 MB left after the snapshot
    lossless = {**FAST, "crf": 0, "preset": "ultrafast", "remove_silence": False, "max_silence_s": 60}
    state = clip_job(str(sample_video), 0.0, 30.0, lossless, return_state=True)
    error = state.result(raise_on_failure=False)
    assert isinstance(error, NoSpaceLeft), f"{type(error).__name__}: {error}"
    assert str(error).startswith(f"no space left on {home / 'tmp'}/job-") and "while rendering" in str(error)
    assert "corrupt" not in str(error) and "unreachable" not in str(error)
    assert list((home / "tmp").iterdir()) == []
    assert set(clip_env.list("clips/")) == before


@pytest.mark.timeout(90)
def test_two_identical_jobs_at_once_publish_one_clip_with_its_manifest(clip_env, prefect_server, sample_video):
    options = {**FAST, "crf": 33, "clip_name": "race-twins"}
    results: list[object] = [None, None]
    start = threading.Barrier(2)

    def submit(index: int) -> None:
        start.wait()
        results[index] = clip_job(str(sample_video), 11.0, 13.0, options, return_state=True)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(80)
    outcomes = [state.result(raise_on_failure=False) for state in results]
    finished = [o for o in outcomes if isinstance(o, dict)]
    assert finished, f"both runs failed: {outcomes}"
    assert all(isinstance(o, dict) or "race-twins" in str(o) for o in outcomes), outcomes
    assert sorted(clip_env.list("clips/race-twins")) == ["clips/race-twins.json", "clips/race-twins.mp4"]
    manifest = __import__("json").loads(clip_env.get_bytes("clips/race-twins.json"))
    assert manifest["outputs"][0]["sha256"] == sha256(clip_env.get_bytes("clips/race-twins.mp4"))
    assert sum(not o["reused"] for o in finished) == 1 or len(finished) == 1
