"""Silence detection: pauses without speech whose level stays under a threshold set from both ends.

A pause is a gap in the speech timeline where the level above 300 Hz (so mains hum and low
thumps in a noisy room do not count as sound, while fricatives do) also stays under the threshold: a cough or a
door slam that the VAD calls non-speech is not a silence. The adaptive threshold sits a fraction
of the way from the local noise floor to the local speech level (both read from the level
distribution in a sliding window, so a recording that changes room keeps its own threshold), and
never closer than ``min_margin_db`` to the floor. The level is median-smoothed and thresholded
with hysteresis, so one louder frame (a click, a breath peak) does not split a pause. The VAD
stays authoritative: nothing within ``padding_s`` of speech (or of any sound louder than the
threshold, in case the VAD missed a quiet word) is ever reported. Pauses shorter than
``min_silence_s`` are natural rhythm and are never reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter

from clipmill.audio.profile import (
    LEVEL_FLOOR_DB,
    AudioProfile,
    band_levels_db,
    check_samples,
    shared_spectrogram,
)
from clipmill.audio.vad_backends import hysteresis
from clipmill.errors import InputError, InternalError
from clipmill.timeline import Timeline

__all__ = ["SILENCE_BAND_HZ", "SilenceResult", "SilenceTrace", "audible_frames", "detect_silences", "level_threshold"]

logger = logging.getLogger(__name__)

HOP_S = 0.010
FRAME_S = 0.032
#: percentiles of the windowed level distribution read as floor and as speech level
FLOOR_PERCENTILE = 10.0
SPEECH_PERCENTILE = 95.0
#: the windowed percentiles are computed every STEP_S and interpolated between
STEP_S = 0.5
#: windows per vectorised percentile call (bounds the copy: 512 windows of 16 s are 6.5 MB)
_PERCENTILE_BLOCK = 512
#: with less than this between the floor and the speech level, level cannot tell a quiet word
#: from a pause: nothing there is quiet
MIN_RANGE_DB = 13.0
#: the band whose level decides silence: above mains hum and room thumps, fricatives included
SILENCE_BAND_HZ = (300.0, float("inf"))


@dataclass(frozen=True)
class SilenceTrace:
    """Per-frame evidence behind the silences (10 ms frames centred on ``(i + 0.5) * hop_s``).

    Attributes
    ----------
    level_db
        Smoothed speech-band level, the quantity compared with the threshold.
    threshold_db, floor_db, speech_level_db
        The threshold and the two ends of the level distribution it was placed between.
    quiet
        Frames counted as quiet after hysteresis.
    """

    hop_s: float
    level_db: np.ndarray
    threshold_db: np.ndarray
    floor_db: np.ndarray
    speech_level_db: np.ndarray
    quiet: np.ndarray


@dataclass(frozen=True)
class SilenceResult:
    """Silences found in a segment.

    Attributes
    ----------
    timeline
        The silences (seconds), already shrunk by the padding kept around speech.
    levels_db
        Mean level (dBFS) inside each silence, parallel to ``timeline``.
    threshold_db
        The level threshold applied (dBFS): the fixed one, or the median of the adaptive one.
    adaptive
        Whether the threshold came from the level distribution (True) or was fixed by the caller.
    trace
        The per-frame levels and thresholds (for plots; not stored).
    """

    timeline: Timeline
    levels_db: np.ndarray
    threshold_db: float
    adaptive: bool
    trace: SilenceTrace | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict: intervals, per-interval levels, threshold."""
        return {
            "silences": self.timeline.to_list(),
            "levels_db": [round(float(level), 2) for level in self.levels_db],
            "threshold_db": round(self.threshold_db, 2),
            "adaptive": self.adaptive,
        }


def _windowed_percentile(levels: np.ndarray, percentile: float, window_s: float, hop_s: float) -> np.ndarray:
    """Per frame, a percentile of the levels in a ``window_s`` window centred on it (every `STEP_S`,
    interpolated between). Windows that lie whole inside `levels` are computed together, in blocks of
    `_PERCENTILE_BLOCK` (the same values as one at a time, in a fraction of the time on long audio)."""
    step = max(1, round(STEP_S / hop_s))
    half = max(1, round(window_s / hop_s / 2))
    centres = np.arange(0, len(levels), step)
    values = np.empty(len(centres))
    whole = np.flatnonzero((centres >= half) & (centres + half <= len(levels)))
    for k in np.setdiff1d(np.arange(len(centres)), whole):
        values[k] = np.percentile(levels[max(0, centres[k] - half) : centres[k] + half], percentile)
    if len(whole):
        windows = np.lib.stride_tricks.sliding_window_view(levels, 2 * half)
        for block in range(0, len(whole), _PERCENTILE_BLOCK):
            rows = whole[block : block + _PERCENTILE_BLOCK]
            values[rows] = np.percentile(windows[centres[rows] - half], percentile, axis=1)
    return np.interp(np.arange(len(levels)), centres, values)


def level_threshold(
    levels_db: np.ndarray, *, hop_s: float = HOP_S, ratio: float = 0.3, min_margin_db: float = 6.0,
    window_s: float = 8.0, speech_window_s: float = 16.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame ``(threshold, floor, speech level)`` from the level distribution around each frame.

    The floor is the low percentile in a ``window_s`` window (never below the segment's own), the
    speech level the high percentile in a longer ``speech_window_s`` one (so the middle of a long
    pause still knows how loud the talk is); the threshold is
    ``floor + max(min_margin_db, ratio * (speech - floor))``. Where the speech stands less than
    `MIN_RANGE_DB` over the floor, level cannot tell a quiet word from a pause (a talk buried in
    noise): nothing there counts as quiet.
    """
    floor = np.maximum(_windowed_percentile(levels_db, FLOOR_PERCENTILE, window_s, hop_s),
                       np.percentile(levels_db, FLOOR_PERCENTILE))
    speech = np.maximum(_windowed_percentile(levels_db, SPEECH_PERCENTILE, speech_window_s, hop_s), floor)
    threshold = floor + np.maximum(min_margin_db, ratio * (speech - floor))
    threshold[speech - floor < MIN_RANGE_DB] = LEVEL_FLOOR_DB
    return threshold, floor, speech


def audible_frames(power: np.ndarray, freqs: np.ndarray, *, hop_s: float = HOP_S, **threshold: float) -> np.ndarray:
    """Frames whose `SILENCE_BAND_HZ` level is above the adaptive `level_threshold`."""
    levels = band_levels_db(power, freqs, SILENCE_BAND_HZ)
    return levels > level_threshold(levels, hop_s=hop_s, **threshold)[0]


def detect_silences(
    samples: np.ndarray,
    sr: int,
    *,
    speech: Timeline,
    profile: AudioProfile,
    min_silence_s: float = 0.3,
    padding_s: float = 0.1,
    threshold_db: float = -35.0,
    adaptive_threshold: bool = True,
    threshold_ratio: float = 0.3,
    min_margin_db: float = 2.0,
    hysteresis_db: float = 3.0,
    smooth_s: float = 0.05,
    max_click_s: float = 0.06,
    edge_db: float = 3.0,
    window_s: float = 8.0,
    spectrogram: tuple[np.ndarray, np.ndarray] | None = None,
) -> SilenceResult:
    """Find the pauses worth cutting in a mono segment.

    Parameters
    ----------
    samples, sr
        Mono float samples and their sample rate.
    speech
        Speech timeline from `clipmill.audio.vad.detect_speech`; never cut into.
    profile
        The segment's `AudioProfile` (checked for the sample rate).
    min_silence_s
        Pauses (gap between speech, before padding) shorter than this are never reported.
    padding_s
        Time kept next to speech on each side of a pause.
    threshold_db
        Fixed speech-band threshold in dBFS, used when ``adaptive_threshold`` is False.
    adaptive_threshold
        Place the threshold between the local floor and speech level (see `level_threshold`).
    threshold_ratio, min_margin_db, window_s
        Adaptive threshold: how far from the floor towards the speech level, the least distance
        from the floor, the length of the window the two are read in.
    hysteresis_db
        A stretch stops being quiet only where the level rises this far above the threshold.
    smooth_s
        Length of the median filter over the level.
    max_click_s
        Sounds this short between two quiet stretches (a click, a tap) do not split the pause;
        a short word the VAD found still does.
    edge_db
        A pause ends where the level last stays ``edge_db`` under the threshold: a word that
        fades in (an /l/, a quiet vowel) is not cut while it is still under the threshold.
    spectrogram
        The 32 ms / 10 ms `power_spectrogram` of ``samples`` when already computed.
    """
    samples = check_samples(samples, sr)
    if min_silence_s < 0:
        raise InputError(f"min_silence_s must be non-negative, got {min_silence_s}")
    if padding_s < 0:
        raise InputError(f"padding_s must be non-negative, got {padding_s}")
    if profile.sample_rate != sr:
        raise InternalError(
            f"profile was computed at {profile.sample_rate} Hz but samples are at {sr} Hz"
        )
    total_s = len(samples) / sr
    power, freqs = shared_spectrogram(samples, sr, spectrogram, frame_s=FRAME_S, hop_s=HOP_S)
    raw = band_levels_db(power, freqs, SILENCE_BAND_HZ)
    levels = median_filter(raw, size=max(1, round(smooth_s / HOP_S)), mode="nearest")
    if adaptive_threshold:
        threshold, floor, speech_level = level_threshold(
            raw, ratio=threshold_ratio, min_margin_db=min_margin_db, window_s=window_s
        )
    else:
        threshold = np.full(len(levels), threshold_db)
        floor = speech_level = np.full(len(levels), np.nan)
    quiet = ~hysteresis(levels, threshold + hysteresis_db, threshold)
    quiet_runs = _tightened(
        Timeline.from_mask(quiet, HOP_S).clip(0.0, total_s).merge_gaps(max_click_s),
        levels < threshold - edge_db,
    )
    pauses = speech.complement(0.0, total_s).intersect(quiet_runs).drop_shorter(min_silence_s)
    # padding next to speech and next to any sound: a word the VAD missed keeps its edges too
    sound = quiet_runs.complement(0.0, total_s)
    silences = pauses.subtract(speech.union(sound).pad(padding_s))

    frame_power = power.sum(axis=0)
    frame_times = (np.arange(len(frame_power)) + 0.5) * HOP_S
    # frames centred in [start, end): one contiguous index range per silence
    bounds = np.searchsorted(frame_times, silences.array.reshape(-1), side="left").reshape(-1, 2)
    mean_levels = np.array([_mean_db(frame_power[first:last]) for first, last in bounds])
    summary_threshold = float(np.median(threshold)) if adaptive_threshold else float(threshold_db)
    logger.debug(
        "silences: %d (%.2f s) under %.1f dBFS (median)", len(silences), silences.duration, summary_threshold
    )
    trace = SilenceTrace(hop_s=HOP_S, level_db=levels, threshold_db=threshold, floor_db=floor,
                         speech_level_db=speech_level, quiet=quiet)
    return SilenceResult(
        timeline=silences, levels_db=mean_levels, threshold_db=summary_threshold,
        adaptive=adaptive_threshold, trace=trace,
    )


def _tightened(runs: Timeline, deep: np.ndarray) -> Timeline:
    """Each run shrunk to its first and last ``deep`` frame (dropped when it has none)."""
    kept = []
    for start, end in runs.array:
        first, last = round(start / HOP_S), round(end / HOP_S)
        (inside,) = np.nonzero(deep[first:last])
        if inside.size:
            kept.append(((first + inside[0]) * HOP_S, min(end, (first + inside[-1] + 1) * HOP_S)))
    return Timeline(kept)


def _mean_db(power: np.ndarray) -> float:
    if power.size == 0:
        return LEVEL_FLOOR_DB
    return max(float(10.0 * np.log10(max(np.mean(power), 1e-30))), LEVEL_FLOOR_DB)
