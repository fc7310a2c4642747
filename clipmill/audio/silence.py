"""Silence detection: pauses without speech whose level stays under an adaptive threshold.

A pause is a gap in the speech timeline where the level is also under the threshold (so a cough or
a door slam that the VAD calls non-speech is not a silence). Pauses shorter than ``min_silence_s``
are natural rhythm and are never reported; ``padding_s`` of every pause is kept next to the speech
around it, so cutting the reported silences never clips a word.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from clipmill.audio.profile import (
    LEVEL_FLOOR_DB,
    AudioProfile,
    band_levels_db,
    check_samples,
    shared_spectrogram,
)
from clipmill.errors import InputError
from clipmill.timeline import Timeline

__all__ = ["SilenceResult", "detect_silences"]

logger = logging.getLogger(__name__)

HOP_S = 0.010
FRAME_S = 0.032


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
        The level threshold that was applied (dBFS).
    adaptive
        Whether ``threshold_db`` came from the noise floor (True) or was fixed by the caller.
    """

    timeline: Timeline
    levels_db: np.ndarray
    threshold_db: float
    adaptive: bool

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict: intervals, per-interval levels, threshold."""
        return {
            "silences": self.timeline.to_list(),
            "levels_db": [round(float(level), 2) for level in self.levels_db],
            "threshold_db": round(self.threshold_db, 2),
            "adaptive": self.adaptive,
        }


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
    margin_db: float = 10.0,
    spectrogram: tuple[np.ndarray, np.ndarray] | None = None,
) -> SilenceResult:
    """Find the pauses worth cutting in a mono segment.

    Parameters
    ----------
    samples, sr
        Mono float samples and their sample rate.
    speech
        Speech timeline from `clipmill.audio.vad.detect_speech`.
    profile
        The segment's `AudioProfile` (supplies the noise floor).
    min_silence_s
        Pauses (gap between speech, before padding) shorter than this are never reported.
    padding_s
        Time kept next to speech on each side of a pause.
    threshold_db
        Fixed level threshold in dBFS, used when ``adaptive_threshold`` is False.
    adaptive_threshold
        Use ``profile.noise_floor_db + margin_db`` as the threshold instead of ``threshold_db``.
    margin_db
        Distance above the noise floor that still counts as silent (adaptive mode).
    spectrogram
        The 32 ms / 10 ms `power_spectrogram` of ``samples`` when already computed.
    """
    samples = check_samples(samples, sr)
    if min_silence_s < 0:
        raise InputError(f"min_silence_s must be non-negative, got {min_silence_s}")
    if padding_s < 0:
        raise InputError(f"padding_s must be non-negative, got {padding_s}")
    if profile.sample_rate != sr:
        raise InputError(
            f"profile was computed at {profile.sample_rate} Hz but samples are at {sr} Hz"
        )
    total_s = len(samples) / sr
    threshold = profile.noise_floor_db + margin_db if adaptive_threshold else threshold_db

    power, freqs = shared_spectrogram(samples, sr, spectrogram, frame_s=FRAME_S, hop_s=HOP_S)
    levels = band_levels_db(power, freqs)
    quiet = Timeline.from_mask(levels < threshold, HOP_S).clip(0.0, total_s)
    pauses = speech.complement(0.0, total_s).intersect(quiet).drop_shorter(min_silence_s)
    silences = pauses.subtract(speech.pad(padding_s))

    frame_power = power.sum(axis=0)
    frame_times = (np.arange(len(frame_power)) + 0.5) * HOP_S
    # frames centred in [start, end): one contiguous index range per silence
    bounds = np.searchsorted(frame_times, silences.array.reshape(-1), side="left").reshape(-1, 2)
    mean_levels = np.array([_mean_db(frame_power[first:last]) for first, last in bounds])
    logger.debug(
        "silences: %d (%.2f s) under %.1f dBFS", len(silences), silences.duration, threshold
    )
    return SilenceResult(
        timeline=silences, levels_db=mean_levels, threshold_db=threshold,
        adaptive=adaptive_threshold,
    )


def _mean_db(power: np.ndarray) -> float:
    if power.size == 0:
        return LEVEL_FLOOR_DB
    return max(float(10.0 * np.log10(max(np.mean(power), 1e-30))), LEVEL_FLOOR_DB)
