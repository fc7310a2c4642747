"""The command line loads Prefect and the flows only for the commands that run them: ``clipmill --help``
and ``clipmill analyze`` (audio analysis in this process) import neither, which keeps them quick."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "grid_concat_11speakers_33s.mp4"
PROBE = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
    "{'prefect', 'prefect_dask', 'flows', 'tasks', 'blocks'})), file=sys.stderr))\n"
    "sys.argv = ['clipmill', *sys.argv[1:]]\n"
    "from clipmill.cli import main\n"
    "main()\n"
)


def loaded_by(tmp_path: Path, *args: str) -> list[str]:
    """The Prefect-side top-level packages a ``clipmill`` command imported (its last stderr line)."""
    env = {**os.environ, "CLIPMILL_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["batch", "--help"]])
def test_help_imports_no_prefect(tmp_path: Path, args: list[str]) -> None:
    assert loaded_by(tmp_path, *args) == []


def test_analyze_imports_no_prefect(tmp_path: Path) -> None:
    assert loaded_by(tmp_path, "analyze", str(SAMPLE), "--start", "1", "--end", "3", "--vad", "energy") == []


def test_the_clip_job_module_leaves_validation_and_tracking_libraries_unloaded() -> None:
    """pandas and Great Expectations load in the contracts process, scipy.optimize where faces are
    tracked and FastAPI nowhere (`flows.base`), not when the flow is imported: each cost 0.1-4 s of a
    fresh `clipmill run`."""
    probe = (
        "import json, sys\nimport flows.clip_job\n"
        "print(json.dumps(sorted(m for m in ('pandas', 'great_expectations', 'scipy.optimize', 'fastapi') if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
