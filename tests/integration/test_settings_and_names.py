"""What a user meets before any media is read: the settings file, model settings, odd file names.

A malformed ``clipmill.toml`` is one line naming the file; the model backends name a setting that
really reaches them; a file name with a newline never splits a log line or a run name.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from clipmill.errors import ModelUnavailable
from flows.clip_job import clip_job

pytestmark = pytest.mark.timeout(180)

FAST = {"detect_faces": False, "vad_backend": "energy", "remove_silence": False}


def test_a_malformed_settings_file_is_one_line_naming_it(tmp_path, sample_video):
    config = tmp_path / "clipmill.toml"
    config.write_text('home = ".clipmill"\n[storage\nbucket = "x"\n')
    done = subprocess.run(
        [str(Path(sys.executable).parent / "clipmill"), "run", str(sample_video), "--start", "0", "--end", "1"],
        capture_output=True, text=True, cwd=tmp_path, timeout=150,
        env={**os.environ, "CLIPMILL_CONFIG": str(config)},
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: settings file {str(config)!r} is not valid TOML: "
        "Expected ']' at the end of a table declaration (at line 2, column 9)"
    ]


@pytest.mark.parametrize("option, variable", [({"vad_backend": "pyannote"}, "CLIPMILL_PYANNOTE_MODEL"),
                                              ({"filler_backend": "transcription"}, "CLIPMILL_WHISPER_MODEL")])
def test_model_backends_name_the_setting_that_reaches_them(option, variable, clip_env, sample_video, tmp_path,
                                                          monkeypatch):
    monkeypatch.delenv(variable, raising=False)
    options = {**FAST, **option}
    error = clip_job(str(sample_video), 1, 3, options, return_state=True).result(raise_on_failure=False)
    assert isinstance(error, ModelUnavailable) and f"the environment variable {variable}" in str(error), error
    assert "config key" not in str(error)
    missing = tmp_path / "no-such-model"
    monkeypatch.setenv(variable, str(missing))
    error = clip_job(str(sample_video), 1, 3, options, return_state=True).result(raise_on_failure=False)
    assert isinstance(error, ModelUnavailable) and f"not found at {str(missing)!r}" in str(error), error


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_newline_in_a_file_name_never_reaches_a_log_line_or_a_run_name(clip_env, sample_video, tmp_path):
    source = tmp_path / "talk\nINFO forged line.mp4"
    shutil.copy(sample_video, source)
    prefect_logger, collect = logging.getLogger("prefect"), Collect()
    level = prefect_logger.level
    prefect_logger.setLevel(logging.INFO)
    prefect_logger.addHandler(collect)
    try:
        state = clip_job(str(source), 1, 2, {**FAST, "clip_name": "newline-name"}, return_state=True)
    finally:
        prefect_logger.removeHandler(collect)
        prefect_logger.setLevel(level)
    assert state.is_completed(), state.message
    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        names = [client.read_flow_run(flow_run_id).name] + [
            run.name for run in client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        ]
    assert any("talk\\nINFO forged line.mp4" in line for line in collect.lines), collect.lines
    assert not any("\n" in line for line in collect.lines), [line for line in collect.lines if "\n" in line]
    assert not any("\n" in name for name in names), names
