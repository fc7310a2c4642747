"""The vectorised paths of the long-audio analysis give exactly what the one-at-a-time ones gave."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from clipmill.audio.silence import STEP_S, _windowed_percentile
from clipmill.segment_analysis import PITCH_SR, _pitch_filter


def _one_window_at_a_time(levels: np.ndarray, percentile: float, window_s: float, hop_s: float) -> np.ndarray:
    step = max(1, round(STEP_S / hop_s))
    half = max(1, round(window_s / hop_s / 2))
    centres = np.arange(0, len(levels), step)
    values = [np.percentile(levels[max(0, centre - half) : centre + half], percentile) for centre in centres]
    return np.interp(np.arange(len(levels)), centres, values)


@pytest.mark.parametrize("frames", [1, 37, 799, 800, 801, 5000, 123_457])
@pytest.mark.parametrize("percentile, window_s", [(10.0, 8.0), (90.0, 16.0)])
def test_windowed_percentile_matches_each_window_on_its_own(frames, percentile, window_s):
    levels = np.random.default_rng(frames).normal(-45.0, 12.0, frames)
    expected = _one_window_at_a_time(levels, percentile, window_s, 0.01)
    np.testing.assert_array_equal(_windowed_percentile(levels, percentile, window_s, 0.01), expected)


@pytest.mark.parametrize("sr", [16000, 44100, 48000])
def test_the_pitch_filter_is_the_one_resample_poly_designs(sr):
    piece = np.random.default_rng(sr).normal(0.0, 0.1, sr // 2).astype(np.float32)
    expected = scipy.signal.resample_poly(piece, PITCH_SR, sr)
    got = scipy.signal.resample_poly(piece, PITCH_SR, sr, window=_pitch_filter(sr).astype(piece.dtype))
    np.testing.assert_array_equal(got, expected)
