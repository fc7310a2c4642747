"""Clip presets as Prefect blocks, saved on and loaded from the real Prefect test server."""

from __future__ import annotations

import pytest
import typer
from pydantic import ValidationError
from typer.testing import CliRunner

from blocks.presets import BUILT_IN, ClipPreset, register_presets, resolve_preset
from clipmill.cli.presets import presets
from clipmill.config import ClipOptions, effective_options
from clipmill.errors import InputError


def run_cli(*args: str):
    app = typer.Typer()
    app.command()(presets)
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def registered(prefect_server) -> None:
    register_presets()


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_every_built_in_preset_is_valid_clip_options(name):
    options = ClipOptions.model_validate(BUILT_IN[name].options)
    assert options.model_dump(exclude_unset=True) == BUILT_IN[name].options


def test_the_command_registers_the_built_ins_and_lists_them(prefect_server):
    result = run_cli("--register")
    assert result.exit_code == 0, result.output
    listed = [line.split("\t")[0] for line in result.output.splitlines()[1:]]
    assert set(BUILT_IN) <= set(listed)
    assert ClipPreset.load("shorts-9x16").options == BUILT_IN["shorts-9x16"].options
    again = run_cli()
    assert again.exit_code == 0 and "podcast-cleanup\t" in again.output and "registered" not in again.output


def test_a_preset_resolves_to_its_options_and_the_run_options_win(registered):
    assert resolve_preset(None) == {}
    podcast = resolve_preset("podcast-cleanup")
    assert podcast["speed_up_silence"] is True and podcast["remove_fillers"] is True
    # the merge flows/clip_job.py does: installation defaults < preset < the run's own options
    chosen = effective_options(effective_options(ClipOptions(crf=30), podcast), {"max_silence_s": 0.7})
    assert (chosen.crf, chosen.speed_factor, chosen.max_silence_s, chosen.remove_silence) == (30, 2.0, 0.7, False)


def test_an_unknown_preset_is_named_with_the_saved_ones(registered):
    with pytest.raises(InputError) as error:
        resolve_preset("shorts-16x9")
    message = str(error.value)
    assert "'shorts-16x9'" in message
    assert all(name in message for name in BUILT_IN)


def test_invalid_options_never_make_a_preset(prefect_server):
    with pytest.raises(ValidationError, match="exclude each other"):
        ClipPreset(options={"speed_up_silence": True})
    with pytest.raises(ValidationError, match="extra"):
        ClipPreset(options={"framing": "9:16"})


def test_a_saved_preset_edited_into_invalid_options_fails_by_name(prefect_server):
    ClipPreset.model_construct(options={"crf": 99}, description="").save("broken-crf", overwrite=True)
    with pytest.raises(InputError, match="'broken-crf' holds invalid clip options"):
        resolve_preset("broken-crf")


def test_a_clip_job_runs_with_a_preset_under_its_own_options(registered, clip_env, workdir):
    from clipmill import process_clip

    result = process_clip(str(workdir / "grid_concat_11speakers_33s.mp4"), start=3.0, end=9.0,
                          out_dir=workdir / "out", clip_preset="podcast-cleanup", max_silence_s=0.5)
    options = result.manifest.request.options
    assert (options["speed_up_silence"], options["remove_fillers"], options["detect_faces"]) == (True, True, False)
    assert options["max_silence_s"] == 0.5
    assert result.manifest.stages["edit"]["sped_up_silence_s"] > 0
