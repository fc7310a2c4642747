"""clipmill's flows send their run parameters to the server as Prefect itself would, without loading FastAPI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from prefect import Flow
from prefect.states import Completed

from clipmill.config import ClipOptions
from flows.base import ClipmillFlow
from flows.clip_job import clip_job

ROOT = Path(__file__).resolve().parents[2]

PARAMETERS = {
    "source": "s3://media/talks/keynote.mp4",
    "start": 4.5,
    "end": None,
    "options": ClipOptions(reframe="9:16", crf=23),
    "clip_preset": None,
    "selection": {"analysis_key": "jobs/abc/analysis.json", "ranges": [(1.0, 2.5)], "path": Path("/media/a.mp4")},
}

RUN_PROBE = """
import json, sys
from clipmill.config import ClipOptions
from flows.base import clip_flow

@clip_flow(name="probe-parameters", validate_parameters=False)
def probe(source: str, options: ClipOptions, start: float = 0.0) -> str:
    from prefect.runtime import flow_run
    return str(flow_run.id)

run_id = probe("talk.mp4", ClipOptions(reframe="9:16", crf=23), 2.5)
from prefect import get_client
with get_client(sync_client=True) as client:
    stored = client.read_flow_run(run_id).parameters
print(json.dumps({"fastapi": "fastapi" in sys.modules, "stored": stored}))
"""


def test_parameters_serialize_as_prefect_serializes_them() -> None:
    unencodable = object()
    parameters = {**PARAMETERS, "state": Completed(), "opaque": unencodable}
    assert clip_job.serialize_parameters(parameters) == Flow.serialize_parameters(clip_job, parameters)
    assert clip_job.serialize_parameters(parameters)["options"]["reframe"] == "9:16"


def test_with_options_keeps_the_flow_a_clipmill_flow() -> None:
    derived = clip_job.with_options(name="clip-job-copy", retries=1)
    assert isinstance(derived, ClipmillFlow)
    assert (derived.name, derived.retries, derived.fn) == ("clip-job-copy", 1, clip_job.fn)
    assert derived.serialize_parameters(PARAMETERS) == Flow.serialize_parameters(clip_job, PARAMETERS)


def test_a_flow_run_stores_its_parameters_without_importing_fastapi(prefect_server: None, tmp_path: Path) -> None:
    from prefect.settings import get_current_settings

    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_API_URL": str(get_current_settings().api.url)}
    done = subprocess.run([sys.executable, "-c", RUN_PROBE], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["fastapi"] is False
    expected = Flow.serialize_parameters(
        clip_job, {"source": "talk.mp4", "options": ClipOptions(reframe="9:16", crf=23), "start": 2.5}
    )
    assert found["stored"] == expected
