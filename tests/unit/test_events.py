"""Labelled events: sorted, never merged (touching fillers stay two), their union for the edit."""

from __future__ import annotations

import pytest

from clipmill.errors import InternalError
from clipmill.events import LabelledEvent, LabelledEvents

UM = LabelledEvent(1.0, 1.2, "um", 0.9)
UH = LabelledEvent(1.2, 1.4, "uh", 0.8)


def test_touching_events_stay_apart_and_merge_only_in_the_timeline():
    events = LabelledEvents([UH, UM])
    assert list(events) == [UM, UH] and events.labels == ("um", "uh")
    assert events.intervals.tolist() == [[1.0, 1.2], [1.2, 1.4]]
    assert events.timeline.to_list() == [[1.0, 1.4]]
    assert events.label_counts() == {"um": 1, "uh": 1}


def test_json_rows_keep_the_fillers_shape_and_read_back():
    events = LabelledEvents([UM, LabelledEvent(2.0, 2.3, "um", 0.71234)])
    rows = events.to_list()
    assert rows == [{"start": 1.0, "end": 1.2, "label": "um", "confidence": 0.9},
                    {"start": 2.0, "end": 2.3, "label": "um", "confidence": 0.712}]
    assert LabelledEvents.from_list(rows) == LabelledEvents([UM, LabelledEvent(2.0, 2.3, "um", 0.712)])


def test_exclusive_keeps_the_most_confident_of_overlapping_candidates():
    events = LabelledEvents.exclusive([(1.0, 1.4, "uh", 0.9), (1.2, 1.5, "um", 0.6), (0.2, 0.5, "um", 0.7),
                                       (1.4, 1.6, "er", 0.5)])
    assert [(e.start, e.end, e.label) for e in events] == [(0.2, 0.5, "um"), (1.0, 1.4, "uh"), (1.4, 1.6, "er")]


def test_combined_and_shifted_events_drop_and_merge_nothing():
    combined = LabelledEvents([UH]).combined(LabelledEvents([UM, LabelledEvent(1.1, 1.3, "um")]))
    assert len(combined) == 3 and combined[0] == UM
    assert combined.shift(10.0)[0] == LabelledEvent(11.0, 11.2, "um", 0.9)


@pytest.mark.parametrize(("start", "end", "confidence"), [(1.0, 1.0, 0.5), (1.0, 0.9, 0.5), (1.0, 1.2, 1.5)])
def test_an_empty_or_overconfident_event_is_a_bug(start, end, confidence):
    with pytest.raises(InternalError):
        LabelledEvent(start, end, "um", confidence)
