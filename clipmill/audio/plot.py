"""Timeline picture for tuning: waveform and spectrogram with the analysis decisions drawn on top.

Speech, silences and fillers are coloured spans; the level the silence decision reads is drawn
with its threshold and the floor and speech level the threshold was placed between; every pause
(a gap in the speech, or a quiet stretch the VAD called speech) carries the reason it was or was
not cut. No file I/O: the caller saves the figure.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from clipmill.audio.profile import AudioProfile, band_levels_db, check_samples, power_spectrogram
from clipmill.audio.silence import SilenceResult, SilenceTrace
from clipmill.events import LabelledEvents
from clipmill.timeline import Timeline

__all__ = ["pause_reasons", "plot_timeline"]

HOP_S = 0.010
SPAN_COLOURS = {"speech": "tab:green", "silence": "tab:blue", "filler": "tab:red"}


def _spans(axes, timeline: Timeline, colour: str, alpha: float) -> None:
    for start, end in timeline.array:
        axes.axvspan(start, end, color=colour, alpha=alpha, linewidth=0)


def _vad_panel(axes, probabilities: np.ndarray, hop_s: float, *, thresholds: tuple[float, float] | None) -> None:
    """The VAD's speech probability per frame (a step per frame) and its two thresholds."""
    starts = np.arange(len(probabilities)) * hop_s
    axes.step(starts, probabilities, where="post", color="tab:green", linewidth=0.8, label="VAD p(speech)")
    if thresholds is not None:
        enter, leave = thresholds
        axes.axhline(enter, color="tab:green", linestyle="--", linewidth=0.8, label=f"enters speech at {enter:g}")
        axes.axhline(leave, color="tab:olive", linestyle=":", linewidth=0.8, label=f"leaves below {leave:g}")
    axes.set_ylim(0.0, 1.02)
    axes.set_ylabel("VAD")
    axes.legend(loc="lower right", fontsize="small", ncols=3)


def pause_reasons(speech: Timeline, silences: Timeline, trace: SilenceTrace, *, min_silence_s: float,
                  vad_probabilities: tuple[np.ndarray, float] | None = None) -> list[tuple[float, float, str]]:
    """Why each pause was or was not cut: ``(start, end, reason)`` per gap in the speech of at
    least ``min_silence_s`` and per quiet stretch of that length the VAD called speech.

    A gap is ``cut`` when its sound stays under the threshold; where a sound over it (a breath,
    room noise) keeps part or all of the gap, the reason says how loud it was (``cut 0.8 s, kept
    0.9 s: +3 dB`` re threshold); a gap whose quiet stretches are each shorter than
    ``min_silence_s`` is ``kept: quiet runs < 0.3 s``; a quiet stretch the VAD called speech is
    ``kept: VAD says speech``, or ``kept: VAD p 0.62`` (the VAD's median probability there) when
    ``vad_probabilities`` (per-frame scores and their hop, see `speech_probabilities`) are given.
    """
    total_s = len(trace.level_db) * trace.hop_s
    loud = Timeline.from_mask(~trace.quiet, trace.hop_s)
    reasons = []
    for start, end in speech.complement(0.0, total_s).drop_shorter(min_silence_s).array:
        cut_s = silences.clip(start, end).duration
        sound = loud.clip(start, end).drop_shorter(min_silence_s / 2)
        if not len(sound):
            reasons.append((start, end, "cut" if cut_s > 0 else f"kept: quiet runs < {min_silence_s:g} s"))
            continue
        mask = sound.to_mask(trace.hop_s, total_s)[: len(trace.level_db)]
        over = float(np.median(trace.level_db[mask] - trace.threshold_db[mask]))
        reasons.append((start, end, f"cut {cut_s:.1f} s, kept {sound.duration:.1f} s: {over:+.0f} dB" if cut_s > 0
                        else f"kept: {over:+.0f} dB re threshold"))
    quiet = Timeline.from_mask(trace.quiet, trace.hop_s).drop_shorter(min_silence_s)
    for start, end in quiet.intersect(speech).drop_shorter(min_silence_s).array:
        if vad_probabilities is None:
            reasons.append((start, end, "kept: VAD says speech"))
            continue
        scores, hop_s = vad_probabilities
        inside = scores[int(start / hop_s) : max(int(start / hop_s) + 1, round(end / hop_s))]
        reasons.append((start, end, f"kept: VAD p {np.median(inside):.2f}"))
    return sorted(reasons)


def plot_timeline(
    samples: np.ndarray,
    sr: int,
    *,
    speech: Timeline,
    silences: SilenceResult | Timeline,
    fillers: LabelledEvents | Timeline,
    threshold_db: float | None = None,
    profile: AudioProfile | None = None,
    min_silence_s: float = 0.3,
    vad_probabilities: tuple[np.ndarray, float] | None = None,
    vad_thresholds: tuple[float, float] | None = None,
) -> Figure:
    """Waveform, frame level and spectrogram of a mono segment with the decisions as spans.

    Parameters
    ----------
    samples, sr
        Mono float samples and their sample rate.
    speech
        Timeline from `detect_speech` (seconds from the first sample).
    silences
        A `SilenceResult` (its per-frame threshold, floor, speech level and the reason for every
        pause are drawn) or a bare silence `Timeline`.
    fillers
        `LabelledEvents` (labels drawn beside the spans) or a bare filler `Timeline`.
    threshold_db
        A fixed threshold (dBFS) to draw when ``silences`` carries no trace.
    profile
        When given, its noise floor is drawn as a dotted line.
    min_silence_s
        The shortest pause the silence decision considered (for the reasons).
    vad_probabilities, vad_thresholds
        The VAD's raw speech probability per frame and its hop (`speech_probabilities`), and the
        ``(threshold, neg_threshold)`` it entered and left speech at: drawn in a panel of their
        own, so a pause the VAD spans shows how sure the model was.
    """
    samples = check_samples(samples, sr)
    times = np.arange(len(samples)) / sr
    power, freqs = power_spectrogram(samples, sr, frame_s=0.032, hop_s=HOP_S)
    levels = band_levels_db(power, freqs)
    frame_times = (np.arange(len(levels)) + 0.5) * HOP_S
    filler_rows = fillers.intervals if isinstance(fillers, LabelledEvents) else fillers.array
    labels = fillers.labels if isinstance(fillers, LabelledEvents) else ()
    trace = silences.trace if isinstance(silences, SilenceResult) else None
    silence_timeline = silences.timeline if isinstance(silences, SilenceResult) else silences

    figure = Figure(figsize=(14, 7 if vad_probabilities is None else 8.5), layout="constrained")
    ratios = [1, 1, 2] if vad_probabilities is None else [1, 1, 0.7, 2]
    wave, level, *vad, spec = figure.subplots(len(ratios), 1, sharex=True, gridspec_kw={"height_ratios": ratios})
    wave.plot(times, samples, color="0.2", linewidth=0.4)
    wave.set_ylabel("amplitude")
    if trace is None:
        level.plot(frame_times, levels, color="0.2", linewidth=0.8, label="level (dBFS)")
        if threshold_db is not None:
            level.axhline(threshold_db, color="tab:blue", linestyle="--",
                          label=f"silence threshold {threshold_db:.1f} dBFS")
    else:
        trace_times = (np.arange(len(trace.level_db)) + 0.5) * trace.hop_s
        level.plot(trace_times, trace.level_db, color="0.2", linewidth=0.8, label="level > 300 Hz (dBFS)")
        level.plot(trace_times, trace.threshold_db, color="tab:blue", linestyle="--", label="silence threshold")
        level.plot(trace_times, trace.floor_db, color="tab:cyan", linewidth=0.6, label="local floor")
        level.plot(trace_times, trace.speech_level_db, color="tab:orange", linewidth=0.6, label="local speech level")
        for start, end, reason in pause_reasons(speech, silence_timeline, trace, min_silence_s=min_silence_s,
                                                vad_probabilities=vad_probabilities):
            colour = "tab:blue" if reason.startswith("cut") else "tab:red"
            level.text((start + end) / 2, 0.98, reason, rotation=90, fontsize="x-small", color=colour,
                       ha="center", va="top", transform=level.get_xaxis_transform(), clip_on=True)
    if profile is not None:
        level.axhline(profile.noise_floor_db, color="0.5", linestyle=":",
                      label=f"noise floor {profile.noise_floor_db:.1f} dBFS")
    level.set_ylabel("dBFS")
    level.legend(loc="lower right", fontsize="small")
    spec.pcolormesh(frame_times, freqs, 10 * np.log10(np.maximum(power, 1e-12)),
                    shading="auto", cmap="magma", vmin=float(np.max(levels)) - 90)
    spec.set_ylabel("Hz")
    spec.set_xlabel("seconds")
    if vad_probabilities is not None:
        _vad_panel(vad[0], *vad_probabilities, thresholds=vad_thresholds)
    for axes in (wave, level, *vad):
        _spans(axes, speech, SPAN_COLOURS["speech"], 0.15)
        _spans(axes, silence_timeline, SPAN_COLOURS["silence"], 0.25)
        _spans(axes, Timeline(filler_rows), SPAN_COLOURS["filler"], 0.35)
    for (start, end), label in zip(filler_rows, labels):
        spec.axvspan(start, end, ymin=0.93, ymax=1.0, color=SPAN_COLOURS["filler"])
        spec.text(start, freqs[-1] * 0.9, label, color="white", fontsize="small")
    for start, end in filler_rows:
        spec.axvline(start, color=SPAN_COLOURS["filler"], linewidth=0.8)
        spec.axvline(end, color=SPAN_COLOURS["filler"], linewidth=0.8)
    wave.legend(handles=[Patch(color=colour, alpha=0.4, label=name)
                         for name, colour in SPAN_COLOURS.items()],
                loc="upper right", fontsize="small", ncols=3)
    wave.set_xlim(0.0, len(samples) / sr)
    return figure
