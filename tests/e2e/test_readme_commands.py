"""The README's commands, run as a new user would: embedded store, the local Prefect server, sample media,
and the Prefect UI the run command points at, rendered by headless Chromium (DOM and screenshot).

Chromium comes from Debian's `chromium` package (`.ci/run` installs it: CLIPMILL_SETUP_CHROMIUM=1
scripts/setup.sh); without it the UI part is skipped, the rest still runs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import httpx

from clipmill.manifest import validate_manifest

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
VENV_BIN = Path(sys.executable).parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# flags for a closed network: no background fetches, no first-run, a fresh profile each time
HEADLESS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--virtual-time-budget=20000", "--window-size=1600,1000",
]
STAGES = ("probe-source", "decode-audio", "detect-speech", "detect-silences", "plan-edit", "plan-framing", "render-clip",
          "publish-clip")


def readme_command(prefix: str) -> list[str]:
    """The first line of a README code block that starts with `prefix`, as argv."""
    match = re.search(rf"^{re.escape(prefix)}.*$", README, flags=re.MULTILINE)
    assert match, f"README has no command starting with {prefix!r}"
    return shlex.split(match.group(0))


def test_ci_runs_the_readme_setup_and_test_commands():
    ci = (REPO / ".ci" / "run").read_text()
    assert "scripts/setup.sh" in README and "\nscripts/setup.sh\n" in ci
    assert ".venv/bin/python -m pytest" in README and "\n.venv/bin/python -m pytest\n" in ci


def test_readme_run_command_makes_a_clip_with_the_embedded_store(tmp_path):
    argv = readme_command(".venv/bin/clipmill run")
    argv[0] = str(VENV_BIN / "clipmill")
    argv[2] = str(REPO / argv[2])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLIPMILL_", "PREFECT_"))}
    env.update(CLIPMILL_HOME=str(tmp_path / "home"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    try:
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        manifest_path = Path(tmp_path, done.stdout.strip().splitlines()[-1])
        document = json.loads(manifest_path.read_text())
        validate_manifest(document)
        clip = manifest_path.with_suffix(".mp4")
        assert clip.is_file() and clip.parent == tmp_path / "clips"
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(clip)],
            capture_output=True, text=True, check=True,
        )
        start, end = float(argv[argv.index("--start") + 1]), float(argv[argv.index("--end") + 1])
        planned = document["stages"]["edit"]["output_duration_s"]
        assert abs(float(probe.stdout) - planned) <= 0.04 + 1e-6
        assert planned < end - start, "the sample's pauses are cut by default"
        for what in ("store", "server"):
            status = subprocess.run([str(VENV_BIN / "clipmill"), what, "status"], cwd=tmp_path, env=env,
                                    capture_output=True, text=True, timeout=60)
            assert json.loads(status.stdout)["running"] is True, what
        ui_url = json.loads(status.stdout)["ui_url"]
        assert re.match(r"http://127\.0\.0\.1:\d+$", ui_url) and "http://127.0.0.1:<port>" in README
        assert f"flow run 'clip " in done.stderr and ui_url + "/runs/flow-run/" in done.stderr
        if CHROMIUM is not None:
            check_the_run_page(ui_url, document, tmp_path)
    finally:
        for what in ("store", "server"):
            subprocess.run([str(VENV_BIN / "clipmill"), what, "stop"], cwd=tmp_path, env=env, timeout=120)


def check_the_run_page(ui_url: str, manifest: dict, tmp_path: Path) -> None:
    """The flow-run page the run printed shows the run's name, state and its named task runs' logs."""
    run = httpx.get(f"{ui_url}/api/flow_runs/{manifest['flow_run_id']}", timeout=10).json()
    page = f"{ui_url}/runs/flow-run/{manifest['flow_run_id']}"
    # one page load gives both: the DOM on stdout and the screenshot of the same render
    dom = subprocess.run(
        [CHROMIUM, *HEADLESS, f"--user-data-dir={tmp_path / 'chrome'}", "--dump-dom",
         f"--screenshot={tmp_path / 'run.png'}", page], capture_output=True, text=True, timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom.stdout)).replace("&gt;", ">").replace("&amp;", "&")
    # the header shows the run's name, then its tags (host:pid), then its state
    assert re.search(re.escape(run["name"]) + r" (\S+ ){0,6}Completed\b", text), text[:2000]
    assert re.search(r"\b[1-9][0-9] Task runs\b", text), "the header counts the job's task runs"
    name = Path(manifest["source"]["uri"]).name
    start, end = (f"{t:g}" for t in (manifest["request"]["start_s"], manifest["request"]["end_s"]))
    assert f"stage-source[{name}]" in text
    for stage in STAGES:
        assert f"{stage}[{name} {start}-{end}]" in text, f"{stage}'s run, named for its request, logs on the page"
    for step in ("validate-contracts", "verify-published"):
        assert f"{step}[{manifest['clip_id']}]" in text, f"{step}'s run is named for the clip it checks"
    assert f"published s3://clipmill/clips/{manifest['clip_id']}.mp4" in text
    png = (tmp_path / "run.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1600, 1000)
    assert len(png) > 50_000, "a rendered page, not a blank one"


def test_bad_input_on_the_command_line_exits_2_with_the_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLIPMILL_", "PREFECT_"))}
    env.update(CLIPMILL_HOME=str(tmp_path / "home"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    done = subprocess.run(
        [str(VENV_BIN / "clipmill"), "run", str(tmp_path / "missing.mp4"), "--start", "1", "--end", "2"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 2
    assert "error: source not found" in done.stderr and "missing.mp4" in done.stderr
    assert not (tmp_path / "clips").exists()
