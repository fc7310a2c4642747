"""`clipmill run` flags become per-run options; the last line is the manifest's path."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clipmill.cli import app

runner = CliRunner()


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
