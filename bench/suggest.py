"""Suggestion time per hour of 720p source: the whole-source analysis plus proposing and picking clips.

Measured in this process on an hour of 720p talking head (the bench input joined to itself with
``-c copy``, so an hour costs seconds to build): the audio-only path as `clipmill suggest` runs it (the audio streamed
from ffmpeg in 10-minute chunks, each measured while the next decodes: `clipmill.suggest.measure_source_audio`, then
`clipmill.segment.suggest`) with the default energy VAD and with silero, beside the decode alone, and
the video path (frames at 2 Hz for shot cuts, faces at 1 Hz) on the bench input itself. The store
round-trip is left out (one small JSON put). Nothing is asserted.
"""

from __future__ import annotations

import math
import subprocess
from dataclasses import replace
from pathlib import Path

from bench.rows import Row, guarded, rtf_row, stopwatch
from clipmill import media
from clipmill.segment import LengthRange, suggest
from clipmill.segment_analysis import AnalysisSettings, measure_long_audio, measure_video
from clipmill.suggest import measure_source_audio

GROUP = "suggest"


def suggest_rows(source: Path) -> list[Row]:
    """Audio-only suggestions over an hour with the energy and silero VADs, then the video path's extra cost."""
    rows: list[Row] = []
    for vad in ("energy", "silero"):
        rows += guarded(GROUP, f"audio only, {vad} VAD", lambda v=vad: [_audio_only(an_hour_of(source), v)])
    return rows + guarded(GROUP, "with video: cuts 2 Hz, faces 1 Hz", lambda: [_with_video(source)])


def an_hour_of(source: Path) -> Path:
    """`source` repeated to at least an hour, stream-copied (cached next to it)."""
    target = source.with_name(source.stem + "_1h.mp4")
    if target.is_file() and target.stat().st_size > 0:
        return target
    repeats = math.ceil(3600 / media.probe(source).duration_s)
    listing = source.with_name(source.stem + "_1h.txt")
    listing.write_text(f"file '{source.name}'\n" * repeats)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
         "-i", str(listing), "-c", "copy", str(target)],
        check=True, capture_output=True,
    )
    return target


def _audio_only(source: Path, vad: str) -> Row:
    info = media.probe(source)
    settings = AnalysisSettings(vad_backend=vad)
    with stopwatch() as decode_alone:
        media.decode_audio(source, has_audio=True)
    with stopwatch() as elapsed:
        analysis = measure_source_audio(source, settings)
        measured = elapsed()
        chosen = suggest(analysis, LengthRange(20, 60), 5)
    per_hour = 3600 * elapsed() / info.duration_s
    return rtf_row(
        GROUP, f"audio only, {vad} VAD", info.duration_s, elapsed(),
        f"{per_hour:.1f} s per hour of source (decode streamed beside the analysis {measured:.2f} s, "
        f"propose+select {elapsed() - measured:.3f} s; the decode alone takes {decode_alone():.2f} s); "
        f"{len(analysis.pauses)} pauses, {len(chosen)} clips",
        per_hour_s=per_hour,
    )


def _with_video(source: Path) -> Row:
    info = media.probe(source)
    settings = AnalysisSettings(video=True)
    samples = media.decode_audio(source, has_audio=True)
    analysis = measure_long_audio(samples, media.ANALYSIS_SAMPLE_RATE, settings=settings)
    with stopwatch() as elapsed:
        cuts, faces = measure_video(source, duration_s=info.duration_s, size=(640, 360), settings=settings)
        chosen = suggest(replace(analysis, cuts_s=cuts, faces=faces), LengthRange(20, 60), 5)
    per_hour = 3600 * elapsed() / info.duration_s
    return rtf_row(
        GROUP, "with video: cuts 2 Hz, faces 1 Hz", info.duration_s, elapsed(),
        f"video pass alone: {per_hour:.0f} s per hour of source on top of the audio path "
        f"({len(faces.times_s)} face samples, {len(cuts)} cuts, {len(chosen)} clips)", per_hour_s=per_hour,
    )
