"""Real-time factor of each pipeline stage, called directly in this process on the bench input.

Stages run in pipeline order and hand their outputs on through a `StageState`; a stage whose input
failed reports an error row naming what it missed.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.rows import Row, guarded, rtf_row, stopwatch
from clipmill.audio.analysis import AudioSettings, silences_for
from clipmill.audio.fillers import detect_fillers
from clipmill.audio.profile import compute_profile
from clipmill.audio.vad import detect_speech
from clipmill.config import ClipOptions
from clipmill.edit.edl import EditSettings, plan_edit
from clipmill.edit.render import filter_graph, render_args
from clipmill.media import ANALYSIS_SAMPLE_RATE, EncoderSettings, decode_audio, extract_segment, probe

GROUP = "stage"
VAD_BACKENDS = ("silero", "webrtc", "energy")


@dataclass
class StageState:
    """What earlier stages produced, for the later ones."""

    source: Path
    work: Path
    values: dict[str, Any] = field(default_factory=dict)

    def need(self, name: str) -> Any:
        if name not in self.values:
            raise RuntimeError(f"skipped: the stage producing {name!r} failed")
        return self.values[name]


def run_stages(state: StageState) -> list[Row]:
    """Every stage's row in pipeline order, plus the whole-audio-analysis totals."""
    rows: list[Row] = []
    for name, measure in (
        ("probe", _probe), ("extract", _extract), ("decode audio", _decode), ("profile", _profile),
        *((f"vad {backend}", _vad(backend)) for backend in VAD_BACKENDS),
        ("silence", _silence), ("fillers", _fillers), ("plan", _plan), ("render", _render),
    ):
        rows += guarded(GROUP, name, lambda m=measure: [m(state)])
    return rows + _audio_totals(rows, state)


def _probe(state: StageState) -> Row:
    with stopwatch() as elapsed:
        info = probe(state.source)
    state.values["info"] = info
    return rtf_row(GROUP, "probe", info.duration_s, elapsed(), f"{info.width}x{info.height} {info.fps} fps")


def _extract(state: StageState) -> Row:
    info = state.need("info")
    segment = state.work / "segment.mp4"
    with stopwatch() as elapsed:
        seg_info = extract_segment(state.source, segment, info=info, start_s=0.0, end_s=info.duration_s)
    state.values.update(segment=segment, seg_info=seg_info)
    return rtf_row(GROUP, "extract", info.duration_s, elapsed(), "frame-accurate re-encode (crf 16, veryfast)")


def _decode(state: StageState) -> Row:
    seg_info = state.need("seg_info")
    with stopwatch() as elapsed:
        samples = decode_audio(state.need("segment"), has_audio=seg_info.has_audio)
    state.values["samples"] = samples
    return rtf_row(GROUP, "decode audio", seg_info.duration_s, elapsed(), "16 kHz mono float32")


def _media_s(state: StageState) -> float:
    return len(state.need("samples")) / ANALYSIS_SAMPLE_RATE


def _profile(state: StageState) -> Row:
    with stopwatch() as elapsed:
        profile = compute_profile(state.need("samples"), ANALYSIS_SAMPLE_RATE)
    state.values["profile"] = profile
    return rtf_row(GROUP, "profile", _media_s(state), elapsed(), f"noise floor {profile.noise_floor_db:.1f} dBFS")


def _vad(backend: str):
    def measure(state: StageState) -> Row:
        with stopwatch() as elapsed:
            speech = detect_speech(
                state.need("samples"), ANALYSIS_SAMPLE_RATE, backend=backend, profile=state.need("profile")
            )
        if backend == ClipOptions().vad_backend:
            state.values["speech"] = speech
        share = 100 * speech.duration / _media_s(state)
        return rtf_row(GROUP, f"vad {backend}", _media_s(state), elapsed(), f"speech {share:.1f}%")
    return measure


def _silence(state: StageState) -> Row:
    with stopwatch() as elapsed:
        result = silences_for(
            state.need("samples"), ANALYSIS_SAMPLE_RATE, speech=state.need("speech"),
            profile=state.need("profile"), settings=AudioSettings(),
        )
    state.values["silences"] = result
    detail = f"{len(result.timeline)} silences, {result.timeline.duration:.1f} s"
    return rtf_row(GROUP, "silence", _media_s(state), elapsed(), detail)


def _fillers(state: StageState) -> Row:
    with stopwatch() as elapsed:
        result = detect_fillers(
            state.need("samples"), ANALYSIS_SAMPLE_RATE, speech=state.need("speech"), profile=state.need("profile"),
            backend=ClipOptions().used_filler_backend,
        )
    state.values["fillers"] = result
    return rtf_row(GROUP, "fillers", _media_s(state), elapsed(), f"{len(result)} fillers (acoustic)")


def _plan(state: StageState) -> Row:
    seg_info = state.need("seg_info")
    with stopwatch() as elapsed:
        plan = plan_edit(
            seg_info.duration_s, rate=seg_info.frame_rate, speech=state.need("speech"),
            silences=state.need("silences").timeline, fillers=state.need("fillers"), settings=EditSettings(),
        )
    state.values["plan"] = plan
    detail = f"{len(plan.segments)} segments, {plan.reduction_pct:.1f}% shorter"
    return rtf_row(GROUP, "plan", seg_info.duration_s, elapsed(), detail)


def _render(state: StageState) -> Row:
    seg_info, plan = state.need("seg_info"), state.need("plan")
    options = ClipOptions()
    settings = EncoderSettings(crf=options.crf, preset=options.preset, audio_bitrate_kbps=options.audio_bitrate_kbps)
    graph = state.work / "render.graph"
    output = state.work / "render.mp4"
    with stopwatch() as elapsed:
        graph.write_text(filter_graph(plan, has_audio=seg_info.has_audio))
        args = render_args(state.need("segment"), output, graph, has_audio=seg_info.has_audio, settings=settings)
        result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg exit {result.returncode}: {' | '.join(result.stderr.strip().splitlines()[-3:])}")
    detail = f"one ffmpeg pass, {plan.output_duration:.1f} s out ({options.preset}, crf {options.crf})"
    return rtf_row(GROUP, "render", seg_info.duration_s, elapsed(), detail)


def _audio_totals(rows: list[Row], state: StageState) -> list[Row]:
    """Whole audio analysis (profile + VAD + silence + fillers) per VAD backend, from the rows above."""
    seconds = {row.name: row.seconds for row in rows if row.seconds is not None}
    common = [seconds.get(name) for name in ("profile", "silence", "fillers")]
    totals = []
    for backend in ("silero", "energy"):
        parts = [*common, seconds.get(f"vad {backend}")]
        if None in parts or "samples" not in state.values:
            continue
        totals.append(rtf_row(GROUP, f"audio total ({backend})", _media_s(state), sum(parts),
                              "profile + vad + silence + fillers"))
    return totals
