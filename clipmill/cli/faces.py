"""``clipmill faces``: face tracks of a local video range, as JSON, optionally drawn onto a video.

The work is `clipmill.face_range`'s, imported when the command runs (OpenCV and the detectors are
not loaded to parse the command line).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Optional

import typer

from clipmill.cli.failures import fail
from clipmill.errors import ClipmillError, InputError


def parse_identify(values: Sequence[str]) -> tuple[tuple[str, Path], ...]:
    """``name=photo.jpg`` strings as ``(name, Path)`` pairs; `InputError` on a malformed one."""
    pairs = []
    for value in values:
        name, sep, photo = value.partition("=")
        if not sep or not name.strip() or not photo.strip():
            raise InputError(f"--identify takes name=photo.jpg, got {value!r}")
        pairs.append((name.strip(), Path(photo.strip())))
    return tuple(pairs)


def faces(
    source: Annotated[Path, typer.Argument(help="Video file.")],
    start: Annotated[Optional[float], typer.Option("--start", "-s", help="Range start in seconds.")] = None,
    end: Annotated[Optional[float], typer.Option("--end", "-e", help="Range end in seconds (exclusive).")] = None,
    detector: Annotated[
        Optional[list[str]],
        typer.Option("--detector", "-d", help="Detector backend, repeatable, in cascade order (mediapipe, yunet, retinaface, yolo)."),
    ] = None,
    ensemble: Annotated[str, typer.Option("--ensemble", help="cascade, parallel or weighted.")] = "cascade",
    sampling: Annotated[str, typer.Option("--sampling", help="uniform, motion, keyframe or adaptive.")] = "uniform",
    fps: Annotated[Optional[float], typer.Option("--fps", help="Analysis frame rate; default the source's.")] = None,
    sample_rate_hz: Annotated[float, typer.Option("--sample-rate", help="Detections per second.")] = 5.0,
    json_output: Annotated[bool, typer.Option("--json/--no-json", help="Print the tracks as JSON.")] = True,
    overlay: Annotated[Optional[Path], typer.Option("--overlay", help="Also write this video with boxes and ids, rejected candidates and shot cuts.")] = None,
    identity: Annotated[
        Optional[str], typer.Option("--identity", help="Face embeddings (dlib or arcface) to keep one id per person.")
    ] = None,
    identify: Annotated[
        Optional[list[str]],
        typer.Option("--identify", help="name=photo.jpg, repeatable: label tracks of that person (implies --identity dlib)."),
    ] = None,
) -> None:
    """Find and track the faces in SOURCE (or its [--start, --end) range)."""
    from clipmill.face_range import analyse_range, faces_document, label_range, render_overlay
    from clipmill.vision.faces_io import FaceOptions

    try:
        references = parse_identify(identify or [])
        options = FaceOptions(
            detectors=tuple(detector) if detector else None, ensemble=ensemble, sampling=sampling,
            sample_rate_hz=sample_rate_hz, identity=identity or ("dlib" if references else None),
            identify=references,
        )
        found = analyse_range(source, start=start, end=end, options=options, fps=fps)
        tracks, rate, (width, height) = found.tracks, found.fps, found.size
        labels = label_range(tracks, options)
        if overlay is not None:
            render_overlay(
                source, tracks, overlay, start_s=found.start_s, duration_s=found.duration_s, fps=rate,
                size=(width, height), rejected=found.rejected, cut_times_s=found.cut_times_s,
            )
    except ClipmillError as exc:
        fail(exc)
    if json_output:
        typer.echo(json.dumps(faces_document(tracks, fps=rate, width=width, height=height, labels=labels)))
    else:
        for tr in tracks:
            name = f" ({labels[tr.id]})" if tr.id in labels else ""
            typer.echo(
                f"track {tr.id}{name}: {tr.start:.3f}-{tr.end:.3f} s, {len(tr)} frames, {int(tr.observed.sum())} detected"
            )
    if overlay is not None:
        typer.echo(f"overlay: {overlay}", err=True)
