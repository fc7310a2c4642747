"""The acoustic filler backend's decision: committed model, pYIN skipping, split-run joining."""

from __future__ import annotations

import numpy as np
import pytest

from clipmill.audio.filler_backends.acoustic import (
    FEATURE_NAMES,
    FillerCandidate,
    candidates,
    filler_events,
    load,
)
from clipmill.audio.fillers import FillerConfig
from clipmill.audio.profile import SPEECH_BAND_HZ, band_levels_db, compute_profile, power_spectrogram
from clipmill.timeline import Timeline


def candidate(start: float, end: float) -> FillerCandidate:
    return FillerCandidate(start, end, np.zeros(len(FEATURE_NAMES)), nasal_after=False)


def test_a_vowel_split_by_one_frame_is_one_event_but_fillers_in_a_row_stay_two():
    found = [candidate(1.0, 1.3), candidate(1.305, 1.6), candidate(1.65, 1.9)]
    events = filler_events(found, np.array([0.9, 0.95, 0.9]), threshold=0.85)
    assert [(start, end) for start, end, *_ in events] == [(1.0, 1.6), (1.65, 1.9)]
    assert events[0][3] == 0.95


def test_skipping_pyin_never_drops_a_candidate_the_model_would_keep():
    model = load(None)
    rng = np.random.default_rng(0)
    for _ in range(500):
        features = rng.uniform([0.15, 0, 0, 0, 0, 6, 0, -30, 0], [1.5, 1, 5, 12, 30, 60, 60, 0, 1])
        unknown = features.copy()
        unknown[[FEATURE_NAMES.index("voiced_ratio"), FEATURE_NAMES.index("pitch_std_st")]] = np.nan
        if model.probability(features) >= model.threshold:
            assert model.could_pass(unknown)


def test_a_pause_dip_ends_at_the_rooms_floor_not_in_digital_silence():
    """A vowel followed by zero samples (a file's padded end) is no more a pause-bounded filler
    than one followed by room tone: its dip is read down to the noise floor, never below."""
    sr = 16_000
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(3 * sr) * 10 ** (-60 / 20)).astype(np.float32)
    t = np.arange(int(0.4 * sr)) / sr
    vowel = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 20))
    x[sr : sr + len(t)] += (0.05 * vowel).astype(np.float32)
    x[int(0.5 * sr) : int(0.8 * sr)] += (0.3 * np.sin(2 * np.pi * 200 * t[: int(0.3 * sr)])).astype(np.float32)
    x[int(1.4 * sr) : int(1.7 * sr)] = 0.0
    profile = compute_profile(x, sr)
    floor = profile.noise_floor_band_db["speech"]
    found = candidates(x, sr, speech=Timeline([(0.5, 2.5)]), profile=profile, config=FillerConfig())
    (held,) = [c for c in found if 1.0 <= c.start < c.end <= 1.45]
    power, freqs = power_spectrogram(x, sr)
    level = float(np.mean(band_levels_db(power, freqs, SPEECH_BAND_HZ)[round(held.start / 0.01) : round(held.end / 0.01)]))
    assert held.features[FEATURE_NAMES.index("dip_db")] == pytest.approx(level - floor, abs=0.01)


def _held_vowel_feature(second_formant_hz: float, name: str) -> float:
    """A feature of the candidate on a held 120 Hz vowel whose harmonics near ``second_formant_hz``
    are boosted, between a louder tone and a pause, over -60 dBFS noise."""
    sr = 16_000
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(3 * sr) * 10 ** (-60 / 20)).astype(np.float32)
    t = np.arange(int(0.4 * sr)) / sr
    gain = lambda k: 20.0 if abs(120 * k - second_formant_hz) < 130 else 1.0  # noqa: E731
    vowel = sum(gain(k) * np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 29))
    x[sr : sr + len(t)] += (0.02 * vowel).astype(np.float32)
    x[int(0.5 * sr) : int(0.8 * sr)] += (0.3 * np.sin(2 * np.pi * 200 * t[: int(0.3 * sr)])).astype(np.float32)
    profile = compute_profile(x, sr)
    found = candidates(x, sr, speech=Timeline([(0.5, 2.5)]), profile=profile, config=FillerConfig())
    (held,) = [c for c in found if 0.95 <= c.start < c.end <= 1.45]
    return float(held.features[FEATURE_NAMES.index(name)])


def test_a_front_vowel_has_its_power_where_no_fillers_second_formant_lies():
    """"uh"/"um" are mid-central vowels (F2 near 1.2 kHz); the end of "intensity" is an /i/ (F2 near
    2.3 kHz): `upper_band_share` tells them apart, whatever the loudness."""
    central, front = _held_vowel_feature(1200.0, "upper_band_share"), _held_vowel_feature(2300.0, "upper_band_share")
    assert central < 0.2 < 0.5 < front
