"""`clipmill analyze`: the audio stages on one file, without Prefect, for tuning thresholds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clipmill import media
from clipmill.audio.analysis import analyze
from clipmill.cli.storage import resolve_block
from clipmill.config import effective_options, load_settings
from clipmill.errors import InputError
from clipmill.jobs import check_times
from clipmill.source_access import fingerprint, local_source
from clipmill.stage_settings import audio_settings
from clipmill.timebase import SECONDS_RESOLUTION_S


def analyze_file(
    source: str, *, start: float | None, end: float | None, options: dict[str, Any], plot: Path | None = None
) -> dict[str, object]:
    """Analyse ``[start, end)`` of `source`; the JSON document has times on the source's timeline."""
    settings = load_settings()
    chosen = effective_options(settings.options, options)
    ref = fingerprint(source, settings, resolve_block=resolve_block)
    with local_source(ref, settings, resolve_block=resolve_block) as path:
        info = media.probe_audio(path, ffprobe=settings.ffprobe)
        if not info.has_audio:
            raise InputError(f"{source!r} has no audio track: nothing to analyse")
        start_s, end_s = check_times(0.0 if start is None else start, info.duration_s if end is None else end)
        if end_s > info.duration_s + SECONDS_RESOLUTION_S:
            raise InputError(f"end ({end_s} s) is past the end of the source ({info.duration_s:.3f} s)")
        samples = media.decode_audio(
            path, has_audio=True, start_s=start_s, duration_s=end_s - start_s, ffmpeg=settings.ffmpeg
        )
    result = analyze(samples, media.ANALYSIS_SAMPLE_RATE, settings=audio_settings(chosen))
    if plot is not None:
        from clipmill.audio.plot import plot_timeline
        from clipmill.audio.vad import VadConfig, speech_probabilities

        vad = VadConfig()
        figure = plot_timeline(
            samples, media.ANALYSIS_SAMPLE_RATE, speech=result.speech, silences=result.silences,
            fillers=result.fillers, profile=result.profile, min_silence_s=chosen.min_silence_s,
            vad_probabilities=speech_probabilities(samples, media.ANALYSIS_SAMPLE_RATE, backend=chosen.vad_backend),
            vad_thresholds=(vad.threshold, vad.neg_threshold),
        )
        figure.savefig(plot, dpi=110)
    return result.to_json(offset_s=start_s)
