"""Timeline picture for tuning: waveform and spectrogram with the analysis decisions drawn on top.

Speech, silences and fillers are coloured spans, the silence threshold is a line on the level
curve, so a user can see why a pause was or was not cut. No file I/O: the caller saves the figure.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from clipmill.audio.fillers import FillerResult
from clipmill.audio.profile import AudioProfile, band_levels_db, check_samples, power_spectrogram
from clipmill.timeline import Timeline

__all__ = ["plot_timeline"]

HOP_S = 0.010
SPAN_COLOURS = {"speech": "tab:green", "silence": "tab:blue", "filler": "tab:red"}


def _spans(axes, timeline: Timeline, colour: str, alpha: float) -> None:
    for start, end in timeline.array:
        axes.axvspan(start, end, color=colour, alpha=alpha, linewidth=0)


def plot_timeline(
    samples: np.ndarray,
    sr: int,
    *,
    speech: Timeline,
    silences: Timeline,
    fillers: FillerResult | Timeline,
    threshold_db: float | None = None,
    profile: AudioProfile | None = None,
) -> Figure:
    """Waveform, frame level and spectrogram of a mono segment with the decisions as spans.

    Parameters
    ----------
    samples, sr
        Mono float samples and their sample rate.
    speech, silences
        Timelines from `detect_speech` and `detect_silences` (seconds from the first sample).
    fillers
        A `FillerResult` (labels drawn beside the spans) or a bare filler `Timeline`.
    threshold_db
        The silence threshold (dBFS), drawn as a line over the 10 ms frame level.
    profile
        When given, its noise floor is drawn as a dotted line.
    """
    samples = check_samples(samples, sr)
    times = np.arange(len(samples)) / sr
    power, freqs = power_spectrogram(samples, sr, frame_s=0.032, hop_s=HOP_S)
    levels = band_levels_db(power, freqs)
    frame_times = (np.arange(len(levels)) + 0.5) * HOP_S
    filler_timeline = fillers.timeline if isinstance(fillers, FillerResult) else fillers
    labels = fillers.labels if isinstance(fillers, FillerResult) else ()

    figure = Figure(figsize=(14, 7), layout="constrained")
    wave, level, spec = figure.subplots(
        3, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1, 2]}
    )
    wave.plot(times, samples, color="0.2", linewidth=0.4)
    wave.set_ylabel("amplitude")
    level.plot(frame_times, levels, color="0.2", linewidth=0.8, label="level (dBFS)")
    if threshold_db is not None:
        level.axhline(threshold_db, color="tab:blue", linestyle="--",
                      label=f"silence threshold {threshold_db:.1f} dBFS")
    if profile is not None:
        level.axhline(profile.noise_floor_db, color="0.5", linestyle=":",
                      label=f"noise floor {profile.noise_floor_db:.1f} dBFS")
    level.set_ylabel("dBFS")
    level.legend(loc="lower right", fontsize="small")
    spec.pcolormesh(frame_times, freqs, 10 * np.log10(np.maximum(power, 1e-12)),
                    shading="auto", cmap="magma", vmin=float(np.max(levels)) - 90)
    spec.set_ylabel("Hz")
    spec.set_xlabel("seconds")
    for axes in (wave, level):
        _spans(axes, speech, SPAN_COLOURS["speech"], 0.15)
        _spans(axes, silences, SPAN_COLOURS["silence"], 0.25)
        _spans(axes, filler_timeline, SPAN_COLOURS["filler"], 0.35)
    for (start, end), label in zip(filler_timeline.array, labels):
        spec.axvspan(start, end, ymin=0.93, ymax=1.0, color=SPAN_COLOURS["filler"])
        spec.text(start, freqs[-1] * 0.9, label, color="white", fontsize="small")
    for start, end in filler_timeline.array:
        spec.axvline(start, color=SPAN_COLOURS["filler"], linewidth=0.8)
        spec.axvline(end, color=SPAN_COLOURS["filler"], linewidth=0.8)
    wave.legend(handles=[Patch(color=colour, alpha=0.4, label=name)
                         for name, colour in SPAN_COLOURS.items()],
                loc="upper right", fontsize="small", ncols=3)
    wave.set_xlim(0.0, len(samples) / sr)
    return figure
