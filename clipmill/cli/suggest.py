"""``clipmill suggest``: where the clips are in a long source, with a score and the reasons for it.

Measures the whole source once (stored by content in the object store, reused by later runs and
library batches), proposes ranges that start and end in pauses, and prints the best that do not
overlap: one line each, or with ``--json`` the document ``{"source", "duration_s", "candidates":
[{"start", "end", "score", "reasons"}]}``. ``--plot`` draws them on the analysis timeline.
Register with ``app.command("suggest")(suggest)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from clipmill.cli.failures import fail
from clipmill.errors import ClipmillError, InputError

__all__ = ["describe", "plot_suggestions", "suggest"]


def suggest(
    source: Annotated[str, typer.Argument(help="Video or audio file, or s3://bucket/key.")],
    length: Annotated[str, typer.Option("--length", help="Clip length MIN-MAX in seconds.")] = "20-60",
    count: Annotated[int, typer.Option("--count", min=1, help="How many clips (at most) to suggest.")] = 5,
    json_output: Annotated[bool, typer.Option("--json", help="Print the suggestion document as one JSON object.")] = False,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Draw the candidates on the analysis timeline (PNG).")] = None,
    video: Annotated[bool, typer.Option("--video/--audio-only", help="Also sample frames at 1 Hz: shot cuts and faces.")] = False,
    vad: Annotated[str, typer.Option("--vad", help="energy | silero | webrtc | pyannote")] = "energy",
    words: Annotated[
        Optional[Path], typer.Option("--words", help="Known word times (JSON [{start, end, word}]) for the speaking rate.")
    ] = None,
) -> None:
    """Suggest the COUNT best non-overlapping clips of SOURCE, each LENGTH long and cut in pauses."""
    from clipmill.segment import parse_length

    try:
        bounds = parse_length(length)
        known = _read_words(words) if words is not None else None
        from clipmill.config import load_settings
        from clipmill.segment_analysis import AnalysisSettings
        from clipmill.suggest import suggest_for
        from clipmill.cli.storage import object_store, resolve_block
        from clipmill.source_access import fingerprint, source_file

        settings = load_settings()
        ref = fingerprint(source, settings, resolve_block=resolve_block)
        path = source_file(ref, settings, resolve_block=resolve_block)
        document, key, stored = suggest_for(
            object_store(settings), path, source=ref.uri, sha256=ref.sha256,
            settings=AnalysisSettings(vad_backend=vad, video=video), length=bounds, count=count, words=known,
            ffmpeg=settings.ffmpeg, ffprobe=settings.ffprobe,
        )
    except ClipmillError as exc:
        fail(exc)
    printed = document.printed()
    if plot is not None:
        plot_suggestions(stored.analysis, printed["candidates"]).savefig(plot, dpi=110)
    if json_output:
        typer.echo(json.dumps(printed))
        return
    typer.echo(
        f"{document.source}: {document.duration_s:.1f} s, {len(document.candidates)} clips of {length} s "
        f"(analysis {'reused' if stored.reused else 'measured'}: {stored.key}; suggestions: {key})", err=True,
    )
    for rank, candidate in enumerate(printed["candidates"], start=1):
        typer.echo(f"{rank}. {describe(candidate)}")
    if not document.candidates:
        typer.echo("no range of that length starts and ends in a pause: try a wider --length", err=True)


def describe(candidate: dict[str, Any]) -> str:
    """One line: the range, its score and its reasons in words."""
    r = candidate["reasons"]
    parts = [
        f"speech {100 * r['speech_share']:.0f}%", f"dead air {r['dead_air_s']:.1f} s",
        f"{r['speaking_rate']:.1f} {r['rate_unit']}", f"energy {r['energy_db']:+.1f} dB",
        f"pauses {r['start_pause_s']:.1f} s before / {r['end_pause_s']:.1f} s after",
    ]
    if "one_face_share" in r:
        parts.append(f"one face {100 * r['one_face_share']:.0f}%")
    flags = [name for name in ("starts_on_cut", "ends_on_cut", "speaker_change_at_start", "speaker_change_at_end",
                               "ends_falling") if r.get(name)]
    return (f"{candidate['start']:.2f}-{candidate['end']:.2f} s ({r['length_s']:.1f} s) score {candidate['score']:.3f}: "
            + ", ".join(parts + [name.replace("_", " ") for name in flags]))


def plot_suggestions(analysis: Any, candidates: list[dict[str, Any]]) -> Any:
    """Level envelope, speech, pauses, boundaries, shot cuts and the suggested ranges on one timeline."""
    import numpy as np
    from matplotlib.figure import Figure

    from clipmill.segment import find_boundaries

    figure = Figure(figsize=(14, 4.5))
    level_axes, range_axes = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    times = (np.arange(len(analysis.level_db)) + 0.5) * analysis.hop_s
    level_axes.plot(times, analysis.level_db, color="0.3", linewidth=0.6, label="speech-band level (dBFS)")
    for start, end in analysis.speech.array:
        level_axes.axvspan(start, end, color="tab:green", alpha=0.15, linewidth=0)
    for start, end in analysis.pauses.array:
        level_axes.axvspan(start, end, color="tab:blue", alpha=0.25, linewidth=0)
    bounds = find_boundaries(analysis)
    level_axes.vlines(bounds.times_s, *level_axes.get_ylim(), color="tab:blue", linewidth=0.8, label="possible clip edge")
    if len(analysis.cuts_s):
        level_axes.vlines(analysis.cuts_s, *level_axes.get_ylim(), color="tab:purple", linestyle=":", label="shot cut")
    level_axes.legend(loc="lower right", fontsize=8)
    level_axes.set_ylabel("dBFS")
    for rank, candidate in enumerate(candidates, start=1):
        range_axes.axvspan(candidate["start"], candidate["end"], color="tab:orange", alpha=0.35 + 0.5 * candidate["score"])
        range_axes.text((candidate["start"] + candidate["end"]) / 2, 0.5, f"#{rank} {candidate['score']:.2f}",
                        ha="center", va="center", fontsize=8)
    range_axes.set_yticks([])
    range_axes.set_xlabel("seconds")
    range_axes.set_xlim(0, analysis.duration_s)
    figure.suptitle("clip suggestions: green speech, blue pauses, orange suggested clips (darker = better)")
    figure.tight_layout()
    return figure


def _read_words(path: Path) -> list[dict[str, Any]]:
    try:
        words = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"--words {str(path)!r} is not a readable JSON file: {exc}") from None
    if not isinstance(words, list):
        raise InputError(f"--words {str(path)!r} must hold a JSON list of {{start, end, word}} objects")
    return words
