"""The `clipmill` command.

``clipmill run SOURCE [--start S] [--end E]`` checks the request, runs the clip job flow (on the
local Prefect server, started on first use, unless PREFECT_API_URL points at one), downloads the
clip and its manifest to ``--out`` and prints the manifest's local path as its last line, so scripts
can pick it up with ``tail -n1``. Errors are one line (exit 2 for bad input, 1 otherwise, and a bug
says that it is one: `clipmill.cli.failures`); the traceback comes with ``--debug`` or CLIPMILL_DEBUG=1.
Each command imports what it runs (flows, Prefect, the detectors) in its body, so parsing the command
line loads none of them.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import click
import typer

from clipmill.cli.console import configure_console, debug_requested, quiet_native_libraries
from clipmill.cli.failures import fail, report
from clipmill.cli.server import prefect_api, server_app
from clipmill.interrupts import stop_on_signals
from clipmill.cli.audit import audit as audit_command
from clipmill.cli.faces import faces as faces_command
from clipmill.cli.orchestrate import batch as batch_command
from clipmill.cli.orchestrate import submit as submit_command
from clipmill.cli.presets import presets as presets_command
from clipmill.cli.suggest import suggest as suggest_command
from clipmill.errors import ClipmillError

if TYPE_CHECKING:
    from clipmill.cli.api import ClipResult
    from clipmill.config import Settings

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Long videos in, finished clips out.")
store_app = typer.Typer(no_args_is_help=True, help="The embedded object store (used when no endpoint is configured).")
app.add_typer(store_app, name="store")
app.add_typer(server_app, name="server")


@app.command()
def run(
    source: Annotated[str, typer.Argument(help="Video file path or s3://bucket/key.")],
    start: Annotated[Optional[float], typer.Option("--start", "-s", help="Clip start in seconds (default: 0).")] = None,
    end: Annotated[
        Optional[float], typer.Option("--end", "-e", help="Clip end in seconds, exclusive (default: the source's end).")
    ] = None,
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
    transcript: Annotated[
        Optional[str], typer.Option("--transcript", help="SRT, WebVTT or JSON words of the source (path or s3://).")
    ] = None,
    captions: Annotated[
        Optional[str], typer.Option("--captions", help="srt | vtt | burn: captions re-timed to the cut.")
    ] = None,
    option: Annotated[
        Optional[list[str]],
        typer.Option("--option", "-o", help="Any other per-run option as name=value (see the README's table)."),
    ] = None,
    clip_preset: Annotated[
        Optional[str], typer.Option("--clip-preset", help="A saved preset (clipmill presets) the options override.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show Prefect's INFO run logs and native libraries' output.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks (also CLIPMILL_DEBUG=1).")] = False,
) -> None:
    """Cut one clip out of SOURCE (all of it without --start/--end) and publish it with its manifest.

    Everything that needs no media is checked before any server or store starts. Ctrl-C (SIGINT)
    or SIGTERM stops the job within seconds: nothing is published and its scratch is removed.
    """
    from clipmill.batch import parse_option_pairs
    from clipmill.cli.api import check_request
    from clipmill.config import load_settings

    flags = {
        "remove_silence": remove_silence, "speed_up_silence": speed_up_silence, "speed_factor": speed_factor,
        "remove_fillers": remove_fillers, "min_silence_s": min_silence, "max_silence_s": max_silence,
        "padding_s": padding, "reframe": reframe, "preset": preset, "export_otio": otio,
        "transcript": transcript, "captions": captions,
    }
    if speed_up_silence and remove_silence is None:
        flags["remove_silence"] = False
    start = 0.0 if start is None else start
    try:
        options = {**parse_option_pairs(option or []), **{k: v for k, v in flags.items() if v is not None}}
        settings = load_settings()
        check_request(source, start=start, end=end, out_dir=out, options=options, settings=settings)
        configure_console(verbose=verbose, debug=debug_requested(debug))
        result = _run_job(source, start, end, out, clip_preset, options, settings)
    except ClipmillError as exc:
        fail(exc, debug=debug)
    verb = "reused" if result.reused else "published"
    typer.echo(f"{verb} {result.clip_uri} ({result.duration_s:.3f} s) -> {result.clip_path}", err=True)
    typer.echo(str(result.manifest_path))


def _run_job(
    source: str, start: float, end: float | None, out: Path, clip_preset: str | None, options: dict[str, object],
    settings: "Settings",
) -> "ClipResult":
    """The checked request on the Prefect server, stopping cleanly on SIGINT/SIGTERM."""
    from clipmill.cli.api import crash_unfinished_runs, process_clip
    from clipmill.scratch import reap_orphans, remove_own

    reap_orphans(settings.temp_dir)
    api_url: list[str] = []

    def stopped(signum: int) -> None:
        name = signal.Signals(signum).name
        if api_url:
            crash_unfinished_runs(api_url[0], own=True, message=f"clipmill run stopped by {name}")
        remove_own(settings.temp_dir)
        typer.secho(f"error: stopped by {name}: the job did not finish and published nothing", fg=typer.colors.RED, err=True)

    with stop_on_signals(stopped), prefect_api(settings.home, heartbeats=False) as url:
        api_url.append(url)
        crash_unfinished_runs(url, own=False, message="the clipmill process running it is gone")
        return process_clip(source, start=start, end=end, out_dir=out, clip_preset=clip_preset, **options)


@app.command()
def analyze(
    source: Annotated[str, typer.Argument(help="Video or audio file (wav, flac, mp3, m4a, mp4, ...) or s3://bucket/key.")],
    start: Annotated[Optional[float], typer.Option("--start", "-s", help="Start in seconds (default: 0).")] = None,
    end: Annotated[Optional[float], typer.Option("--end", "-e", help="End in seconds (default: the end).")] = None,
    vad: Annotated[str, typer.Option("--vad", help="silero | webrtc | energy | pyannote")] = "silero",
    fillers: Annotated[str, typer.Option(
        "--fillers", help="auto (what a job would run: acoustic unless remove_fillers is configured) | acoustic | "
        "ensemble | transcription")] = "auto",
    min_silence_s: Annotated[float, typer.Option("--min-silence", help="Shortest reported pause (s).")] = 0.3,
    padding_s: Annotated[float, typer.Option("--padding", help="Kept around speech (s).")] = 0.1,
    threshold_db: Annotated[Optional[float], typer.Option("--threshold-db", help="Fixed silence level (dBFS); default: adaptive.")] = None,
    json_output: Annotated[bool, typer.Option("--json/--no-json", help="Print the analysis as one JSON object.")] = True,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also draw waveform, spectrogram and decisions to this PNG.")] = None,
) -> None:
    """Profile, speech, silences and fillers of SOURCE, times on the source's timeline."""
    from clipmill.cli.analyze import analyze_file

    try:
        options = {
            "vad_backend": vad, "filler_backend": fillers, "min_silence_s": min_silence_s, "padding_s": padding_s,
            **({"threshold_db": threshold_db, "adaptive_threshold": False} if threshold_db is not None else {}),
        }
        document = analyze_file(source, start=start, end=end, options=options, plot=plot)
    except ClipmillError as exc:
        fail(exc)
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
    """The console script: quiet native libraries (unless --verbose), one-line errors (unless --debug)."""
    if "--verbose" not in sys.argv:
        quiet_native_libraries()
    try:
        code = app(standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except ClipmillError as exc:  # settings errors raised before a command body runs
        sys.exit(report(exc, debug="--debug" in sys.argv))
    except Exception as exc:
        sys.exit(report(exc, debug="--debug" in sys.argv, hint=" (run with --debug or CLIPMILL_DEBUG=1 for the traceback)"))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
