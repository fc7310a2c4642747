"""Property tests: any options dict validates or raises InputError; Timeline algebra laws."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clipmill.config import ClipOptions, effective_options
from clipmill.errors import InputError
from clipmill.timeline import Timeline

values = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
names = st.one_of(st.sampled_from(sorted(ClipOptions.model_fields)), st.text(max_size=12))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(names, values, max_size=6))
def test_any_options_dict_validates_or_raises_input_error(options):
    try:
        chosen = effective_options(ClipOptions(), options)
    except InputError as error:
        assert "invalid clip options" in str(error)
        return
    assert isinstance(chosen, ClipOptions)
    assert 1.0 < chosen.speed_factor <= 16.0 and math.isfinite(chosen.min_silence_s)


bounds = st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 2))
timelines = st.lists(st.tuples(bounds, bounds), max_size=6).map(
    lambda pairs: Timeline.from_list([(min(a, b), max(a, b)) for a, b in pairs if a != b])
)


@settings(max_examples=200, deadline=None)
@given(timelines, timelines)
def test_timeline_set_algebra_laws(a, b):
    union, inter, diff = a.union(b), a.intersect(b), a.subtract(b)
    assert union.duration <= a.duration + b.duration + 1e-9
    assert math.isclose(union.duration, a.duration + b.duration - inter.duration, abs_tol=1e-6)
    assert math.isclose(diff.duration + inter.duration, a.duration, abs_tol=1e-6)
    assert math.isclose(diff.intersect(b).duration, 0.0, abs_tol=1e-9)
    for t in (union, inter, diff):
        arr = t.array
        assert np.all(arr[:, 0] < arr[:, 1]) and np.all(arr[1:, 0] > arr[:-1, 1] - 1e-12)
