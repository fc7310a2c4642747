"""The acoustic filler backend's decision: committed model, pYIN skipping, split-run joining."""

from __future__ import annotations

import numpy as np

from clipmill.audio.filler_backends.acoustic import (
    FEATURE_NAMES,
    FillerCandidate,
    filler_events,
    load,
)


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
        features = rng.uniform([0.15, 0, 0, 0, 0, 6, 0, -30], [1.5, 1, 5, 12, 30, 60, 60, 0])
        unknown = features.copy()
        unknown[[FEATURE_NAMES.index("voiced_ratio"), FEATURE_NAMES.index("pitch_std_st")]] = np.nan
        if model.probability(features) >= model.threshold:
            assert model.could_pass(unknown)
