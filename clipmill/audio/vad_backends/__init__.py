"""VAD backends.

Each module has ``load(config)`` (cached per process; raises `ModelUnavailable` naming what is
missing) and either ``activity(samples, sr, model, *, config, profile, spectrogram) -> (mask, hop_s)``,
a boolean speech decision per backend frame, or ``probabilities(samples, sr, model) -> (scores,
hop_s)``, a speech probability per frame that `clipmill.audio.vad` thresholds with `hysteresis`.
Post-processing shared by all of them lives in `clipmill.audio.vad`.
"""

from __future__ import annotations

import numpy as np


def hysteresis(scores: np.ndarray, on: float, off: float) -> np.ndarray:
    """Boolean mask: True from a score >= ``on`` until a score < ``off`` (two-threshold trigger)."""
    above_on = scores >= on
    above_off = scores >= off
    # index of the most recent frame that was decisive (above `on` or below `off`)
    decisive = above_on | ~above_off
    last = np.where(decisive, np.arange(len(scores)), -1)
    last = np.maximum.accumulate(last) if len(scores) else last
    return np.where(last >= 0, above_on[np.clip(last, 0, None)], False)
