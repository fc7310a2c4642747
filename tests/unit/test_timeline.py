"""Timeline algebra: exact expectations on small cases, then properties with hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clipmill.errors import InternalError
from clipmill.timeline import Interval, Timeline


def tl(*pairs: tuple[float, float]) -> Timeline:
    return Timeline(list(pairs))


# construction -----------------------------------------------------------------------------


def test_constructor_sorts_merges_overlaps_and_touching_and_drops_empty():
    timeline = tl((5, 6), (0, 1), (0.5, 2), (2, 3), (4, 4), (7, 9), (7.5, 8))
    assert timeline.to_list() == [[0, 3], [5, 6], [7, 9]]


def test_constructor_accepts_intervals_arrays_and_empty():
    assert Timeline([Interval(1, 2)]) == Timeline(np.array([[1.0, 2.0]]))
    assert len(Timeline()) == 0
    assert Timeline().array.shape == (0, 2)
    assert Timeline([]).duration == 0.0


@pytest.mark.parametrize("bad", [[(2, 1)], [(0, float("nan"))], [(0, float("inf"))]])
def test_constructor_rejects_reversed_and_non_finite(bad):
    with pytest.raises(InternalError):
        Timeline(bad)


def test_constructor_rejects_wrong_shape():
    with pytest.raises(InternalError, match=r"\(N, 2\)"):
        Timeline(np.zeros((3, 3)))


def test_interval_validates_and_has_duration():
    assert Interval(1.0, 2.5).duration == 1.5
    with pytest.raises(InternalError):
        Interval(2.0, 1.0)


def test_array_is_read_only():
    timeline = tl((0, 1))
    with pytest.raises(ValueError):
        timeline.array[0, 0] = 5


def test_iteration_indexing_len_and_roundtrip_through_list():
    timeline = tl((0, 1), (2, 3.5))
    assert list(timeline) == [Interval(0, 1), Interval(2, 3.5)]
    assert timeline[1] == Interval(2, 3.5)
    assert len(timeline) == 2
    assert Timeline.from_list(timeline.to_list()) == timeline
    assert timeline.duration == 2.5
    assert timeline.extent == Interval(0, 3.5)
    assert Timeline().extent is None


# set algebra ------------------------------------------------------------------------------


def test_union():
    assert tl((0, 1), (4, 5)).union(tl((0.5, 2), (6, 7))) == tl((0, 2), (4, 5), (6, 7))


def test_intersect():
    assert tl((0, 3), (4, 8)).intersect(tl((1, 5), (7, 10))) == tl((1, 3), (4, 5), (7, 8))
    assert tl((0, 1)).intersect(tl((1, 2))) == Timeline()


def test_subtract():
    assert tl((0, 10)).subtract(tl((2, 3), (5, 6))) == tl((0, 2), (3, 5), (6, 10))
    assert tl((0, 1)).subtract(tl((0, 1))) == Timeline()
    assert tl((0, 1)).subtract(Timeline()) == tl((0, 1))


def test_complement_and_invert():
    speech = tl((1, 2), (3, 4))
    assert speech.complement(0, 5) == tl((0, 1), (2, 3), (4, 5))
    assert speech.invert(1.5, 3.5) == tl((2, 3))
    assert Timeline().complement(0, 2) == tl((0, 2))


def test_clip_and_shift():
    assert tl((0, 2), (3, 5)).clip(1, 4) == tl((1, 2), (3, 4))
    assert tl((0, 2)).shift(10.0) == tl((10, 12))


def test_pad_merges_and_clips_to_span():
    assert tl((1, 2), (2.5, 3)).pad(0.1) == tl((0.9, 2.1), (2.4, 3.1))
    assert tl((1, 2), (2.5, 3)).pad(0.5, 0.0) == tl((0.5, 3))
    assert tl((0.05, 1), (2, 2.95)).pad(0.1, span=(0, 3)) == tl((0, 1.1), (1.9, 3))
    with pytest.raises(InternalError):
        tl((0, 1)).pad(-0.1)


def test_drop_shorter_keeps_exact_length():
    assert tl((0, 0.3), (1, 1.2), (2, 3)).drop_shorter(0.3) == tl((0, 0.3), (2, 3))


def test_merge_gaps():
    timeline = tl((0, 1), (1.2, 2), (3, 4), (4.5, 5))
    assert timeline.merge_gaps(0.2) == tl((0, 2), (3, 4), (4.5, 5))
    assert timeline.merge_gaps(0.5) == tl((0, 2), (3, 5))
    with pytest.raises(InternalError):
        timeline.merge_gaps(-1)


def test_contains_is_half_open():
    timeline = tl((1, 2))
    assert timeline.contains(np.array([0.99, 1.0, 1.5, 2.0])).tolist() == [False, True, True, False]
    assert Timeline().contains(np.array([0.0])).tolist() == [False]


# frame masks ------------------------------------------------------------------------------


def test_to_mask_uses_frame_centres():
    mask = tl((0.01, 0.035)).to_mask(0.01, 0.06)
    assert mask.tolist() == [False, True, True, False, False, False]


def test_from_mask():
    mask = np.array([0, 1, 1, 0, 1, 0, 0, 1], dtype=bool)
    assert Timeline.from_mask(mask, 0.5) == tl((0.5, 1.5), (2, 2.5), (3.5, 4))
    assert Timeline.from_mask(mask, 0.5, offset_s=1.0) == tl((1.5, 2.5), (3, 3.5), (4.5, 5))
    assert Timeline.from_mask(np.zeros(4, bool), 0.1) == Timeline()


def test_mask_round_trip_on_grid():
    mask = np.random.default_rng(0).random(500) > 0.5
    assert np.array_equal(Timeline.from_mask(mask, 0.01).to_mask(0.01, 5.0), mask)


def test_mask_rejects_bad_hop():
    with pytest.raises(InternalError):
        tl((0, 1)).to_mask(0.0, 1.0)
    with pytest.raises(InternalError):
        Timeline.from_mask(np.ones(3, bool), -0.1)


# properties -------------------------------------------------------------------------------

# bounds on a 1/64 s grid: sums and differences are exact in float64, so identities hold exactly
grid = st.integers(min_value=0, max_value=2000).map(lambda k: k / 64)
timelines = st.lists(st.tuples(grid, grid).map(sorted), max_size=12).map(Timeline)
PROPERTIES = settings(max_examples=150, deadline=None)


@PROPERTIES
@given(timelines)
def test_canonical_form_sorted_disjoint(a):
    array = a.array
    assert (array[:, 1] > array[:, 0]).all()
    assert (array[1:, 0] > array[:-1, 1]).all()


@PROPERTIES
@given(timelines, timelines)
def test_union_contains_both(a, b):
    union = a.union(b)
    assert union.intersect(a) == a
    assert union.intersect(b) == b


@PROPERTIES
@given(timelines, timelines)
def test_difference_is_disjoint_from_subtrahend(a, b):
    assert a.subtract(b).intersect(b) == Timeline()
    assert a.subtract(b).union(a.intersect(b)) == a


@PROPERTIES
@given(timelines, timelines)
def test_inclusion_exclusion_of_durations(a, b):
    assert a.union(b).duration + a.intersect(b).duration == pytest.approx(a.duration + b.duration)


@PROPERTIES
@given(timelines, timelines)
def test_operations_commute(a, b):
    assert a.union(b) == b.union(a)
    assert a.intersect(b) == b.intersect(a)


@PROPERTIES
@given(timelines)
def test_complement_partitions_the_span(a):
    span = Timeline([(0, 2000 / 64)])
    gaps = a.complement(0, 2000 / 64)
    assert gaps.intersect(a) == Timeline()
    assert gaps.union(a) == span


@PROPERTIES
@given(timelines, st.integers(0, 64).map(lambda k: k / 64))
def test_pad_is_superset_and_merge_gaps_is_superset(a, amount):
    assert a.pad(amount).intersect(a) == a
    merged = a.merge_gaps(amount)
    assert merged.intersect(a) == a
    assert len(merged) <= len(a)


@PROPERTIES
@given(timelines)
def test_mask_round_trip_agrees_with_contains(a):
    mask = a.to_mask(1 / 64, 2000 / 64)
    centres = (np.arange(len(mask)) + 0.5) / 64
    assert np.array_equal(mask, a.contains(centres))
    assert Timeline.from_mask(mask, 1 / 64) == a
