"""The `clipmill` command.

``clipmill run SOURCE --start S --end E`` runs the clip job flow (on an ephemeral Prefect server
unless PREFECT_API_URL points at one), downloads the clip and its manifest to ``--out`` and prints
the manifest's local path as its last line, so scripts can pick it up with ``tail -n1``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from clipmill.batch import parse_option_pairs
from clipmill.cli_audit import audit as audit_command
from clipmill.cli_faces import faces as faces_command
from clipmill.cli_orchestrate import batch as batch_command
from clipmill.cli_orchestrate import submit as submit_command
from clipmill.cli_presets import presets as presets_command
from clipmill.cli_suggest import suggest as suggest_command
from clipmill.errors import ClipmillError, InputError

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Long videos in, finished clips out.")
store_app = typer.Typer(no_args_is_help=True, help="The embedded object store (used when no endpoint is configured).")
app.add_typer(store_app, name="store")


def _fail(exc: BaseException) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2 if isinstance(exc, InputError) else 1)


@app.command()
def run(
    source: Annotated[str, typer.Argument(help="Video file path or s3://bucket/key.")],
    start: Annotated[float, typer.Option("--start", "-s", help="Clip start in seconds.")],
    end: Annotated[float, typer.Option("--end", "-e", help="Clip end in seconds (exclusive).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the clip and its manifest.")] = Path("clips"),
    remove_silence: Annotated[
        Optional[bool], typer.Option("--remove-silence/--keep-silence", help="Cut pauses (default) or keep them.")
    ] = None,
    speed_up_silence: Annotated[
        Optional[bool], typer.Option("--speed-up-silence", help="Play pauses faster instead of cutting them.")
    ] = None,
    speed_factor: Annotated[Optional[float], typer.Option("--speed-factor", help="Speed of sped-up pauses.")] = None,
    remove_fillers: Annotated[Optional[bool], typer.Option("--remove-fillers", help='Cut "um"/"uh".')] = None,
    min_silence: Annotated[Optional[float], typer.Option("--min-silence", help="Shortest pause that counts (s).")] = None,
    max_silence: Annotated[Optional[float], typer.Option("--max-silence", help="Longest pause left (s).")] = None,
    padding: Annotated[Optional[float], typer.Option("--padding", help="Kept around speech at cuts (s).")] = None,
    reframe: Annotated[Optional[str], typer.Option("--reframe", help="Target aspect W:H (9:16, 1:1, ...) or none.")] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", help="x264 preset of the clip.")] = None,
    otio: Annotated[
        Optional[bool], typer.Option("--otio", help="Also publish the cut as an OpenTimelineIO file.")
    ] = None,
    option: Annotated[
        Optional[list[str]],
        typer.Option("--option", "-o", help="Any other per-run option as name=value (see the README's table)."),
    ] = None,
    clip_preset: Annotated[
        Optional[str], typer.Option("--clip-preset", help="A saved preset (clipmill presets) the options override.")
    ] = None,
) -> None:
    """Cut one clip out of SOURCE and publish it with its manifest."""
    from clipmill.api import process_clip

    flags = {
        "remove_silence": remove_silence, "speed_up_silence": speed_up_silence, "speed_factor": speed_factor,
        "remove_fillers": remove_fillers, "min_silence_s": min_silence, "max_silence_s": max_silence,
        "padding_s": padding, "reframe": reframe, "preset": preset, "export_otio": otio,
    }
    if speed_up_silence and remove_silence is None:
        flags["remove_silence"] = False
    try:
        options = {**parse_option_pairs(option or []), **{k: v for k, v in flags.items() if v is not None}}
        result = process_clip(source, start=start, end=end, out_dir=out, clip_preset=clip_preset, **options)
    except ClipmillError as exc:
        _fail(exc)
    verb = "reused" if result.reused else "published"
    typer.echo(f"{verb} {result.clip_uri} ({result.duration_s:.3f} s) -> {result.clip_path}", err=True)
    typer.echo(str(result.manifest_path))


@app.command()
def analyze(
    source: Annotated[str, typer.Argument(help="Video or audio file (wav, flac, mp3, m4a, mp4, ...) or s3://bucket/key.")],
    start: Annotated[Optional[float], typer.Option("--start", "-s", help="Start in seconds (default: 0).")] = None,
    end: Annotated[Optional[float], typer.Option("--end", "-e", help="End in seconds (default: the end).")] = None,
    vad: Annotated[str, typer.Option("--vad", help="silero | webrtc | energy | pyannote")] = "silero",
    fillers: Annotated[str, typer.Option("--fillers", help="acoustic | transcription")] = "acoustic",
    min_silence_s: Annotated[float, typer.Option("--min-silence", help="Shortest reported pause (s).")] = 0.3,
    padding_s: Annotated[float, typer.Option("--padding", help="Kept around speech (s).")] = 0.1,
    threshold_db: Annotated[Optional[float], typer.Option("--threshold-db", help="Fixed silence level (dBFS); default: adaptive.")] = None,
    json_output: Annotated[bool, typer.Option("--json/--no-json", help="Print the analysis as one JSON object.")] = True,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also draw waveform, spectrogram and decisions to this PNG.")] = None,
) -> None:
    """Profile, speech, silences and fillers of SOURCE, times on the source's timeline."""
    from clipmill.analyze import analyze_file

    try:
        options = {
            "vad_backend": vad, "filler_backend": fillers, "min_silence_s": min_silence_s, "padding_s": padding_s,
            **({"threshold_db": threshold_db, "adaptive_threshold": False} if threshold_db is not None else {}),
        }
        document = analyze_file(source, start=start, end=end, options=options, plot=plot)
    except ClipmillError as exc:
        _fail(exc)
    if json_output:
        typer.echo(json.dumps(document))


app.command("faces")(faces_command)
app.command("audit")(audit_command)
app.command("batch")(batch_command)
app.command("submit")(submit_command)
app.command("presets")(presets_command)
app.command("suggest")(suggest_command)


@store_app.command("status")
def store_status() -> None:
    """Print the embedded store's endpoint and data folder as JSON (exit 1 when it is not running)."""
    from clipmill.config import load_settings
    from clipmill.storage import embedded

    state = embedded.running(load_settings().home)
    if state is None:
        typer.echo(json.dumps({"running": False}))
        raise typer.Exit(code=1)
    typer.echo(json.dumps({"running": True, "pid": state.pid, "endpoint": state.endpoint, "data_dir": state.data_dir}))


@store_app.command("stop")
def store_stop() -> None:
    """Stop the embedded store (its data stays on disk for the next run)."""
    from clipmill.config import load_settings
    from clipmill.storage import embedded

    stopped = embedded.stop(load_settings().home)
    typer.echo("stopped" if stopped else "not running")


def main() -> None:
    try:
        app()
    except ClipmillError as exc:  # settings errors raised before a command body runs
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2 if isinstance(exc, InputError) else 1)


if __name__ == "__main__":
    main()
