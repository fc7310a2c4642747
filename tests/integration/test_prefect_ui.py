"""The Prefect UI shows a clip job's run: a `prefect server start` with its UI, `clipmill run` reporting to
it, and headless Chromium rendering the flow-run page (DOM and screenshot).

Chromium comes from Debian's `chromium` package (`.ci/run` installs it: CLIPMILL_SETUP_CHROMIUM=1
scripts/setup.sh); without it the test skips.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.processes import BIN, REPO_ROOT, prefect_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# flags for a closed network: no background fetches, no first-run, a fresh profile each time
HEADLESS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--virtual-time-budget=20000", "--window-size=1600,1000",
]
STAGES = ("probe-source", "decode-audio", "detect-speech", "detect-silences", "plan-edit", "render-clip",
          "publish-clip")


def browse(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *HEADLESS, f"--user-data-dir={profile}", *args, url], capture_output=True, text=True, timeout=120
    )


def page_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&gt;", ">").replace("&amp;", "&")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: apt-get install chromium (or CLIPMILL_SETUP_CHROMIUM=1 scripts/setup.sh)")
def test_the_flow_run_page_shows_the_clip_job_and_its_named_task_runs(seaweed, tmp_path):
    (tmp_path / "prefect").mkdir()
    with prefect_server(tmp_path / "prefect", auth=False) as server:
        done = subprocess.run(
            [str(BIN / "clipmill"), "run", "samples/grid_concat_11speakers_33s.mp4", "--start", "4.5", "--end", "8",
             "-o", "detect_faces=false", "--out", str(tmp_path / "out")],
            cwd=REPO_ROOT, env=server.env, capture_output=True, text=True, timeout=180,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        [manifest] = [json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.json")]
        page = f"{server.api_url.removesuffix('/api')}/runs/flow-run/{manifest['flow_run_id']}"

        # one page load gives both: the DOM on stdout and the screenshot of the same render
        dom = browse(page, tmp_path / "chrome", "--dump-dom", f"--screenshot={tmp_path / 'run.png'}")

    assert dom.returncode == 0, dom.stderr[-2000:]
    text = page_text(dom.stdout)
    # the header shows the run's name, then its tags (host:pid), then its state
    header = re.escape("clip samples/grid_concat_11speakers_33s.mp4 [4.5-8.0]") + r" (\S+ ){0,6}Completed\b"
    assert re.search(header, text), text[:2000]
    assert re.search(r"\b1[0-9] Task runs\b", text), "the header counts the job's task runs"
    assert "stage-source[grid_concat_11speakers_33s.mp4]" in text
    for stage in STAGES:
        assert f"{stage}[grid_concat_11speakers_33s.mp4 4.5-8]" in text, f"{stage}'s run, named for its request, logs on the page"
    for step in ("validate-contracts", "verify-published"):
        assert f"{step}[{manifest['clip_id']}]" in text, f"{step}'s run is named for the clip it checks"
    assert f"published s3://clipmill-test/clips/{manifest['clip_id']}.mp4" in text

    png = (tmp_path / "run.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1600, 1000)
    assert len(png) > 50_000, "a rendered page, not a blank one"
