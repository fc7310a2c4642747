"""`clipmill run` as a user meets it: flags, fail-fast checks, one shared Prefect server, stopping on signals.

The in-process tests use the session's Prefect server; the others run the real `clipmill` script
in processes of their own against a private CLIPMILL_HOME (embedded store, the local Prefect server
clipmill starts), the way a terminal does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from clipmill import prefect_server
from clipmill.cli.commands import app
from clipmill.errors import StorageError
from clipmill.storage import ObjectStore, embedded
from tests.conftest import SAMPLE

runner = CliRunner()
CLIPMILL = str(Path(sys.executable).parent / "clipmill")
STOP_BOUND_S = 10.0  # liveness bound of a stopped run, not a speed figure


def test_run_flags_reach_the_job_and_the_manifest_path_is_the_last_line(clip_env, workdir):
    result = runner.invoke(app, [
        "run", str(workdir / "grid_concat_11speakers_33s.mp4"), "--start", "3", "--end", "9",
        "--speed-up-silence", "--speed-factor", "3", "--max-silence", "0.5", "--preset", "ultrafast",
        "--out", str(workdir / "out"), "-o", "detect_faces=false",
    ])
    assert result.exit_code == 0, result.output
    manifest = json.loads(Path(result.stdout.strip().splitlines()[-1]).read_text())
    options = manifest["request"]["options"]
    assert (options["speed_up_silence"], options["remove_silence"], options["speed_factor"]) == (True, False, 3.0)
    assert (options["max_silence_s"], options["preset"], options["detect_faces"]) == (0.5, "ultrafast", False)
    assert manifest["stages"]["edit"]["sped_up_silence_s"] > 0


def test_a_bad_flag_value_exits_2_naming_the_option(clip_env, workdir):
    result = runner.invoke(app, [
        "run", str(workdir / "grid_concat_11speakers_33s.mp4"), "--start", "3", "--end", "9",
        "--keep-silence", "--speed-up-silence", "--speed-factor", "0",
    ])
    assert result.exit_code == 2
    assert "speed_factor" in result.stderr and "(got 0.0)" in result.stderr


def user_env(home: Path) -> dict[str, str]:
    """A terminal's environment: no store endpoint, no Prefect server configured, default retries."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLIPMILL_", "PREFECT_"))}
    return {**env, "CLIPMILL_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def clipmill(env: dict[str, str], *args: str, cwd: Path, timeout_s: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([CLIPMILL, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s)


BAD_REQUESTS = {
    "nan": (["--start", "nan", "--end", "3"], "start must be a finite number"),
    "empty range": (["--start", "5", "--end", "3"], "must be before end"),
    "option": (["-o", "crf=99"], "crf"),
    "clip name": (["-o", "clip_name=../x"], "clip_name"),
    "out is a file": (["--out", "{tmp}/a-file/clips"], "is not a folder"),
    "out not writable": (["--out", "/proc/self/clips"], "cannot write in '/proc/self'"),
    "scheme": (["--source", "http://example.com/talk.mp4"], "unsupported source"),
}


def bad_request(tmp_path: Path, name: str) -> list[str]:
    args, _ = BAD_REQUESTS[name]
    (tmp_path / "a-file").write_text("not a folder")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if args[0] == "--source":
        return ["run", args[1]]
    return ["run", str(SAMPLE), *args]


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_a_bad_request_fails_with_one_line_before_any_server_or_store_starts(tmp_path, monkeypatch, name):
    home = tmp_path / "home"
    monkeypatch.setenv("CLIPMILL_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, bad_request(tmp_path, name))
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert BAD_REQUESTS[name][1] in result.stderr and result.stdout == ""
    assert not home.exists() and not (tmp_path / "clips").exists()


def test_the_clipmill_command_prints_one_line_and_no_traceback_for_a_bad_request(tmp_path):
    home = tmp_path / "home"
    done = clipmill(user_env(home), *bad_request(tmp_path, "nan"), cwd=tmp_path, timeout_s=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "error: start must be a finite number of seconds (got nan)\n"
    assert not home.exists()


@pytest.fixture(scope="module")
def local_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A user's CLIPMILL_HOME whose local Prefect server and embedded store are stopped at the end."""
    home = tmp_path_factory.mktemp("user") / "home"
    env = user_env(home)
    yield home, env
    for what in ("server", "store"):
        clipmill(env, what, "stop", cwd=home.parent, timeout_s=120)


def server_state(env: dict[str, str], cwd: Path) -> dict:
    done = clipmill(env, "server", "status", cwd=cwd, timeout_s=60)
    return json.loads(done.stdout)


def flow_runs(api_url: str) -> list[dict]:
    response = httpx.post(f"{api_url}/flow_runs/filter", json={"limit": 200}, timeout=10)
    response.raise_for_status()
    return response.json()


def start_run(env: dict[str, str], cwd: Path, *args: str) -> tuple[subprocess.Popen, Path]:
    """A `clipmill run` on most of the sample in a session of its own (as a terminal's foreground job)."""
    err = cwd / f"run-{time.monotonic_ns()}.err"
    process = subprocess.Popen(
        [CLIPMILL, "run", str(SAMPLE), "--start", "1", "--end", "30", "--reframe", "9:16", "--out", "stopped", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=err.open("w"), text=True, start_new_session=True,
    )
    return process, err


def wait_for_line(process: subprocess.Popen, err: Path, text: str, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in err.read_text():
        assert process.poll() is None, err.read_text()[-3000:]
        assert time.monotonic() < deadline, f"no {text!r} in:\n{err.read_text()[-3000:]}"
        time.sleep(0.2)


def wait_for_scratch(process: subprocess.Popen, err: Path, temp_dir: Path, timeout_s: float = 240) -> None:
    """Wait until the run has a scratch folder of its own (a task is working), so a kill now leaves one behind."""
    deadline = time.monotonic() + timeout_s
    while not list(temp_dir.glob(f"job-{process.pid}-*")):
        assert process.poll() is None, err.read_text()[-3000:]
        assert time.monotonic() < deadline, f"no scratch folder of {process.pid} in {temp_dir}:\n{err.read_text()[-3000:]}"
        time.sleep(0.05)


def published_clips(home: Path) -> list[str]:
    server = embedded.running(home)
    if server is None:
        return []
    store = ObjectStore(server.endpoint, access_key=server.access_key, secret_key=server.secret_key, bucket="clipmill")
    try:
        return sorted(store.list("clips/"))
    except StorageError:  # no bucket yet: nothing was ever published
        return []


@pytest.mark.parametrize("how", ["SIGINT to the terminal's process group", "SIGTERM to the process"])
def test_a_signal_stops_the_run_promptly_publishing_nothing_and_leaving_the_server_healthy(local_home, how):
    home, env = local_home
    cwd = home.parent
    before = published_clips(home)
    process, err = start_run(env, cwd)
    wait_for_line(process, err, "decode-audio")
    sent = time.monotonic()
    if how.startswith("SIGINT"):
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_BOUND_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"still running {STOP_BOUND_S} s after the signal:\n{err.read_text()[-3000:]}")
    stopped_after_s = time.monotonic() - sent
    text = err.read_text()
    print(f"{how}: exit {process.returncode} after {stopped_after_s:.1f} s")

    assert process.returncode == 128 + (signal.SIGINT if how.startswith("SIGINT") else signal.SIGTERM)
    assert text.strip().splitlines()[-1].startswith("error: stopped by SIG") and "Traceback" not in text
    assert "Retry" not in text
    assert not (cwd / "stopped").exists() and published_clips(home) == before
    assert not [p for p in (home / "tmp").glob("job-*")], list((home / "tmp").iterdir())
    assert working_in(home / "tmp") == []
    state = server_state(env, cwd)
    assert state["running"] is True
    assert httpx.get(f"{state['api_url']}/health", timeout=10).json() is True
    unfinished = [r["name"] for r in flow_runs(state["api_url"]) if r["state_type"] in ("RUNNING", "PENDING")]
    assert unfinished == []


def working_in(folder: Path) -> list[str]:
    """Command lines of processes (ffmpeg, say) that still work in `folder`: none may outlive a stopped run."""
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if str(folder) in command:
            found.append(command)
    return found


def test_runs_share_one_local_server_and_a_killed_runs_leftovers_are_reaped(local_home):
    """SIGKILL leaves scratch and a Running flow run; the next run (with faces: MediaPipe, YuNet) reaps both,
    on the same server, and prints its task lines without the detectors' native logging."""
    home, env = local_home
    cwd = home.parent
    process, err = start_run(env, cwd)
    wait_for_line(process, err, "decode-audio")
    wait_for_scratch(process, err, home / "tmp")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    server = server_state(env, cwd)
    assert server["running"] is True
    left = list((home / "tmp").glob(f"job-{process.pid}-*"))
    assert left, "the killed run left no scratch folder: the test did not kill it mid-job"
    assert any(r["state_type"] == "RUNNING" for r in flow_runs(server["api_url"]))

    done = clipmill(env, "run", str(SAMPLE), "--start", "2", "--end", "4", "--reframe", "9:16", cwd=cwd)
    assert done.returncode == 0, done.stderr[-3000:]
    assert Path(cwd, done.stdout.strip().splitlines()[-1]).is_file()
    assert server_state(env, cwd)["pid"] == server["pid"], "the run started a server of its own"
    assert not any(folder.exists() for folder in left)
    runs = flow_runs(server["api_url"])
    assert not [r["name"] for r in runs if r["state_type"] == "RUNNING"]
    assert any(r["state_type"] == "CRASHED" and "gone" in (r["state"]["message"] or "") for r in runs)
    lines = done.stderr.splitlines()
    assert "Traceback" not in done.stderr and any("render-clip" in line for line in lines)
    native = [line for line in lines if line.startswith(("INFO: ", "WARNING: Logging before", "W0000", "[ WARN:"))]
    assert native == [], "the face detectors' native logging reached the console"


def test_an_unknown_clip_preset_lists_the_saved_ones_and_runs_nothing(local_home):
    home, env = local_home
    cwd = home.parent
    api_url = prefect_server.ensure_running(home).api_url
    count = len(flow_runs(api_url))
    done = clipmill(env, "run", str(SAMPLE), "--start", "2", "--end", "4", "--clip-preset", "no-such-preset", cwd=cwd)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "unknown clip preset 'no-such-preset'; saved presets:" in done.stderr
    assert len(flow_runs(api_url)) == count


def test_without_start_and_end_the_whole_source_is_the_clip(clip_env, tmp_path):
    from tests.media_factory import ffmpeg

    short = tmp_path / "short.mp4"
    ffmpeg("-i", str(SAMPLE), "-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(short))
    result = runner.invoke(app, ["run", str(short), "--keep-silence", "-o", "detect_faces=false", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    manifest = json.loads(Path(result.stdout.strip().splitlines()[-1]).read_text())
    duration_s = manifest["source"]["probe"]["duration_s"]
    assert manifest["request"]["start_s"] == 0.0 and manifest["request"]["end_s"] == duration_s
    assert abs(manifest["outputs"][0]["duration_s"] - duration_s) <= 0.04 + 1e-6
