"""Finding the clips in a long source: ranges between pauses, scored by features a person can read.

    whole-source `SourceAnalysis` (speech, pauses, loudness, pitch at pause edges, shot cuts,
    faces, words when known)
      → `find_boundaries`: one cut point in the middle of every pause, with what makes it a good cut
      → `propose`: every pair of boundaries whose distance lies in ``[min_s, max_s]``, scored by
        named features (`WEIGHTS`); the score is their weighted mean in [0, 1]
      → `select`: the best candidates that do not overlap

A clip therefore never starts or ends inside speech: both edges lie in a pause the silence
detector found, which already keeps ``padding_s`` away from every word. The window policy of
library batches uses the same boundaries (`snap_windows`). Everything here is pure numpy; the
adapter that measures a source is `clipmill.segment_analysis`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clipmill.errors import InputError
from clipmill.timeline import Timeline

__all__ = [
    "WEIGHTS", "Boundaries", "Candidate", "FaceSamples", "LengthRange", "SourceAnalysis", "find_boundaries",
    "parse_length", "propose", "select", "snap_windows", "suggest",
]

#: how much each feature's goodness (in [0, 1]) weighs in a candidate's score
WEIGHTS: dict[str, float] = {
    "speech_share": 2.0,
    "dead_air_s": 1.0,
    "speaking_rate": 0.5,
    "energy_db": 0.5,
    "dynamics_db": 0.25,
    "one_face_share": 1.0,
    "start_pause_s": 1.0,
    "end_pause_s": 1.0,
    "starts_on_cut": 0.5,
    "ends_on_cut": 0.5,
    "speaker_change_at_start": 0.5,
    "speaker_change_at_end": 0.5,
    "ends_falling": 0.75,
}
GOOD_PAUSE_S = 1.5          # a pause this long (or longer) is as good a place to cut as any
TOLERATED_DEAD_AIR_S = 0.7  # internal pauses up to this are rhythm, not dead air
SYLLABLES_PER_S = 4.5       # a clear, lively speaking rate
WORDS_PER_S = 2.7
FALLING_ST = -1.0           # pitch change over the last phrase (semitones) that counts as a falling end
SPEAKER_CHANGE_ST = 4.0     # median-pitch jump across a pause that suggests another speaker
CUT_TOLERANCE_S = 0.5       # a shot cut this close to a pause belongs to it
MIN_BOUNDARY_GAP_S = 0.5    # shorter gaps in speech are hesitations inside a phrase: never a clip edge


@dataclass(frozen=True)
class LengthRange:
    """Bounds on a clip's length in seconds, ``min_s <= length <= max_s``."""

    min_s: float = 20.0
    max_s: float = 60.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min_s) and math.isfinite(self.max_s) and 0 < self.min_s <= self.max_s):
            raise InputError(
                f"clip length must be MIN-MAX seconds with 0 < MIN <= MAX (got {self.min_s:g}-{self.max_s:g})"
            )

    def __str__(self) -> str:
        return f"{self.min_s:g}-{self.max_s:g}"


def parse_length(text: str) -> LengthRange:
    """``"20-60"`` → ``LengthRange(20, 60)``; anything else is an `InputError` naming the value."""
    low, sep, high = str(text).partition("-")
    try:
        if not sep:
            raise ValueError
        bounds = float(low), float(high)
    except ValueError:
        raise InputError(f"--length must look like MIN-MAX in seconds, e.g. 20-60 (got {text!r})") from None
    if bounds[0] > bounds[1]:
        raise InputError(f"--length {text!r}: MIN ({bounds[0]:g} s) is greater than MAX ({bounds[1]:g} s)")
    return LengthRange(*bounds)


@dataclass(frozen=True)
class FaceSamples:
    """Faces on screen at sampled times: how many, and whether one face dominates the frame."""

    times_s: np.ndarray
    counts: np.ndarray
    dominant: np.ndarray  # one face, or one face at least twice the area of the next


@dataclass(frozen=True)
class SourceAnalysis:
    """What `propose` needs to know about a whole source; times in seconds from its start.

    Attributes
    ----------
    speech, pauses
        Speech, and the pauses between it (already kept ``padding_s`` away from speech).
    pause_cut_s, pause_gap_s
        Per pause: its quietest moment (where a clip edge goes), and the whole gap between the
        speech around it.
    pitch_fall_st, pitch_before_hz, pitch_after_hz
        Per pause: pitch change over the last phrase before it (semitones, negative = falling),
        median pitch of the speech just before and just after it (NaN where unvoiced).
    hop_s, level_db, syllables
        An envelope at ``hop_s``: speech-band level (dBFS) and syllable nuclei per hop.
    cuts_s
        Shot cuts (video path); empty when not measured.
    faces
        Sampled faces (video path); None when not measured.
    words
        ``(W, 2)`` word times when a transcript is known; None otherwise.
    """

    duration_s: float
    speech: Timeline
    pauses: Timeline
    pause_cut_s: np.ndarray
    pause_gap_s: np.ndarray
    pitch_fall_st: np.ndarray
    pitch_before_hz: np.ndarray
    pitch_after_hz: np.ndarray
    hop_s: float
    level_db: np.ndarray
    syllables: np.ndarray
    cuts_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    faces: FaceSamples | None = None
    words: np.ndarray | None = None


@dataclass(frozen=True)
class Boundaries:
    """Places a clip may start or end, with what makes each a good one (parallel arrays)."""

    times_s: np.ndarray
    pause_s: np.ndarray
    on_cut: np.ndarray
    speaker_change: np.ndarray
    falling: np.ndarray

    def __len__(self) -> int:
        return len(self.times_s)


@dataclass(frozen=True)
class Candidate:
    """A proposed clip ``[start_s, end_s)``, its score in [0, 1] and the features behind it."""

    start_s: float
    end_s: float
    score: float
    reasons: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"start": round(self.start_s, 3), "end": round(self.end_s, 3), "score": round(self.score, 4),
                "reasons": self.reasons}


def find_boundaries(analysis: SourceAnalysis) -> Boundaries:
    """The quietest moment of the longest pause in every gap of at least ``MIN_BOUNDARY_GAP_S``,
    plus the source's own edges where no speech touches them.

    A source edge counts when the speech starts (or ends) at least a pause's padding away from it;
    its ``pause_s`` is that lead-in (or tail).
    """
    gap = np.asarray(analysis.pause_gap_s, float)
    keep = (gap >= MIN_BOUNDARY_GAP_S) & _longest_in_gap(analysis)
    times, gap = np.asarray(analysis.pause_cut_s, float)[keep], gap[keep]
    falling = np.asarray(analysis.pitch_fall_st, float)[keep] <= FALLING_ST
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.asarray(analysis.pitch_after_hz, float) / np.asarray(analysis.pitch_before_hz, float)
        jump = np.abs(12 * np.log2(ratio[keep]))
    change = np.nan_to_num(jump, nan=0.0) >= SPEAKER_CHANGE_ST
    extent = analysis.speech.extent
    lead = extent.start if extent is not None else analysis.duration_s
    tail = analysis.duration_s - extent.end if extent is not None else analysis.duration_s
    pauses = analysis.pauses.array
    edge_margin = 0.05
    if lead >= edge_margin and not (len(pauses) and pauses[0, 0] <= edge_margin):
        times, gap = np.r_[0.0, times], np.r_[lead, gap]
        falling, change = np.r_[False, falling], np.r_[False, change]
    if tail >= edge_margin and not (len(pauses) and pauses[-1, 1] >= analysis.duration_s - edge_margin):
        times, gap = np.r_[times, analysis.duration_s], np.r_[gap, tail]
        falling, change = np.r_[falling, True], np.r_[change, False]
    cuts = np.sort(np.asarray(analysis.cuts_s, float))
    on_cut = np.zeros(len(times), bool)
    if len(cuts):
        nearest = np.clip(np.searchsorted(cuts, times), 1, len(cuts)) - 1
        distance = np.minimum(np.abs(cuts[nearest] - times), np.abs(cuts[np.minimum(nearest + 1, len(cuts) - 1)] - times))
        on_cut = distance <= np.maximum(CUT_TOLERANCE_S, gap / 2)
    return Boundaries(times_s=times, pause_s=gap, on_cut=on_cut, speaker_change=change, falling=falling)


def _longest_in_gap(analysis: SourceAnalysis) -> np.ndarray:
    """Which pauses are the longest of the gap in the speech that holds them (one edge per gap)."""
    gaps = analysis.speech.complement(0.0, analysis.duration_s).array
    pauses = analysis.pauses.array
    if not len(pauses) or not len(gaps):
        return np.ones(len(pauses), bool)
    owner = np.searchsorted(gaps[:, 0], pauses.mean(axis=1), side="right")
    length = pauses[:, 1] - pauses[:, 0]
    keep = np.zeros(len(pauses), bool)
    for gap in np.unique(owner):
        members = np.flatnonzero(owner == gap)
        keep[members[np.argmax(length[members])]] = True
    return keep


def propose(analysis: SourceAnalysis, length: LengthRange = LengthRange()) -> list[Candidate]:
    """Every range between two boundaries whose length lies in `length`, scored; best first."""
    bounds = find_boundaries(analysis)
    times = bounds.times_s
    first = np.searchsorted(times, times + length.min_s - 1e-9, side="left")
    last = np.searchsorted(times, times + length.max_s + 1e-9, side="right")
    counts = np.maximum(last - first, 0)
    if not counts.sum():
        return []
    i = np.repeat(np.arange(len(times)), counts)
    j = np.concatenate([np.arange(a, b) for a, b in zip(first, last) if b > a])
    features = _features(analysis, bounds, i, j)
    scores = _score(features)
    order = np.argsort(-scores, kind="stable")
    return [
        Candidate(float(times[i[k]]), float(times[j[k]]), float(scores[k]),
                  {name: _readable(values[k]) for name, values in features.items()})
        for k in order
    ]


def select(candidates: list[Candidate], count: int) -> list[Candidate]:
    """The `count` best candidates that do not overlap, in order of score (greedy)."""
    if count < 1:
        raise InputError(f"--count must be at least 1 (got {count!r})")
    chosen: list[Candidate] = []
    for candidate in sorted(candidates, key=lambda c: -c.score):
        if all(candidate.end_s <= other.start_s or candidate.start_s >= other.end_s for other in chosen):
            chosen.append(candidate)
            if len(chosen) == count:
                break
    return chosen


def suggest(analysis: SourceAnalysis, length: LengthRange = LengthRange(), count: int = 5) -> list[Candidate]:
    """`select` over `propose`; a source shorter than ``length.min_s`` is an `InputError`."""
    if analysis.duration_s < length.min_s:
        raise InputError(
            f"the source lasts {analysis.duration_s:.2f} s, shorter than the shortest clip asked for "
            f"({length.min_s:g} s): give a smaller --length"
        )
    return select(propose(analysis, length), count)


def snap_windows(
    duration_s: float, edges: list[float], boundaries: Boundaries, *, max_shift_s: float = math.inf,
    min_window_s: float = 1.0,
) -> list[float]:
    """Move each inner window edge to the nearest boundary within `max_shift_s` (else leave it).

    `edges` are the window policy's ``[0, e1, …, duration]``. Snapped edges stay increasing with at
    least `min_window_s` between them: an edge that would land on (or too near) its predecessor or
    the end is dropped, merging two windows. Without any boundary the edges stay where they are.
    """
    times = boundaries.times_s
    snapped = [edges[0]]
    for edge in edges[1:-1]:
        if len(times):
            nearest = float(times[np.argmin(np.abs(times - edge))])
            edge = nearest if abs(nearest - edge) <= max_shift_s else edge
        if edge >= snapped[-1] + min_window_s and edge <= duration_s - min_window_s:
            snapped.append(edge)
    return snapped + [edges[-1]]


def _features(analysis: SourceAnalysis, bounds: Boundaries, i: np.ndarray, j: np.ndarray) -> dict[str, np.ndarray]:
    times = bounds.times_s
    start, end = times[i], times[j]
    length = end - start
    speech_s = _covered(analysis.speech, end) - _covered(analysis.speech, start)
    hop = analysis.hop_s
    level = np.asarray(analysis.level_db, float)
    in_speech = analysis.speech.to_mask(hop, len(level) * hop)[: len(level)].astype(float)
    prefix = {
        name: np.r_[0.0, np.cumsum(values)]
        for name, values in (("n", in_speech), ("sum", level * in_speech), ("sq", level**2 * in_speech),
                             ("syl", np.asarray(analysis.syllables, float)))
    }
    a = np.clip(np.floor(start / hop).astype(int), 0, len(level))
    b = np.clip(np.ceil(end / hop).astype(int), 0, len(level))
    n = np.maximum(prefix["n"][b] - prefix["n"][a], 1.0)
    mean = (prefix["sum"][b] - prefix["sum"][a]) / n
    spread = np.sqrt(np.maximum((prefix["sq"][b] - prefix["sq"][a]) / n - mean**2, 0.0))
    speech_level = level[in_speech > 0]
    reference = float(np.median(speech_level)) if speech_level.size else 0.0
    if analysis.words is not None:
        mids = np.sort(np.asarray(analysis.words, float).reshape(-1, 2).mean(axis=1))
        rate = (np.searchsorted(mids, end) - np.searchsorted(mids, start)) / np.maximum(speech_s, 1e-6)
    else:
        rate = (prefix["syl"][b] - prefix["syl"][a]) / np.maximum(speech_s, 1e-6)
    features = {
        "length_s": length,
        "speech_share": speech_s / length,
        "dead_air_s": _range_max(bounds.pause_s, i + 1, j),
        "speaking_rate": rate,
        "energy_db": mean - reference,
        "dynamics_db": spread,
        "start_pause_s": bounds.pause_s[i],
        "end_pause_s": bounds.pause_s[j],
        "starts_on_cut": bounds.on_cut[i],
        "ends_on_cut": bounds.on_cut[j],
        "speaker_change_at_start": bounds.speaker_change[i],
        "speaker_change_at_end": bounds.speaker_change[j],
        "ends_falling": bounds.falling[j],
    }
    if analysis.faces is not None and len(analysis.faces.times_s):
        face_times = np.asarray(analysis.faces.times_s, float)
        dominant = np.r_[0.0, np.cumsum(np.asarray(analysis.faces.dominant, float))]
        fa, fb = np.searchsorted(face_times, start), np.searchsorted(face_times, end)
        features["one_face_share"] = (dominant[fb] - dominant[fa]) / np.maximum(fb - fa, 1)
    features["rate_unit"] = np.full(len(i), "words/s" if analysis.words is not None else "syllables/s")
    return features


def _score(features: dict[str, np.ndarray]) -> np.ndarray:
    """Weighted mean of each feature's goodness in [0, 1]; features that were not measured are left out."""
    target = WORDS_PER_S if features["rate_unit"][0] == "words/s" else SYLLABLES_PER_S
    goodness = {
        "speech_share": features["speech_share"],
        "dead_air_s": 1 - np.clip((features["dead_air_s"] - TOLERATED_DEAD_AIR_S) / 3.0, 0, 1),
        "speaking_rate": 1 - np.clip(np.abs(features["speaking_rate"] - target) / target, 0, 1),
        "energy_db": np.clip((features["energy_db"] + 6.0) / 12.0, 0, 1),
        "dynamics_db": np.clip(features["dynamics_db"] / 10.0, 0, 1),
        "start_pause_s": np.clip(features["start_pause_s"] / GOOD_PAUSE_S, 0, 1),
        "end_pause_s": np.clip(features["end_pause_s"] / GOOD_PAUSE_S, 0, 1),
        **{name: features[name].astype(float) for name in (
            "starts_on_cut", "ends_on_cut", "speaker_change_at_start", "speaker_change_at_end", "ends_falling")},
    }
    if "one_face_share" in features:
        goodness["one_face_share"] = features["one_face_share"]
    total = sum(WEIGHTS[name] for name in goodness)
    return sum(WEIGHTS[name] * values for name, values in goodness.items()) / total


def _covered(timeline: Timeline, t: np.ndarray) -> np.ndarray:
    """Seconds of `timeline` before each time in `t`."""
    spans = timeline.array
    if not len(spans):
        return np.zeros_like(t, dtype=float)
    before = np.r_[0.0, np.cumsum(spans[:, 1] - spans[:, 0])]
    k = np.searchsorted(spans[:, 0], t, side="right")
    inside = np.clip(t - spans[np.maximum(k - 1, 0), 0], 0, spans[np.maximum(k - 1, 0), 1] - spans[np.maximum(k - 1, 0), 0])
    return before[np.maximum(k - 1, 0)] + np.where(k > 0, inside, 0.0)


def _range_max(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``max(values[lo:hi])`` for every pair (0 for an empty range), by a sparse table."""
    values = np.asarray(values, float)
    table = [values]
    while (1 << len(table)) <= len(values):
        previous, step = table[-1], 1 << (len(table) - 1)
        table.append(np.maximum(previous[:-step], previous[step:]))
    span = np.maximum(hi - lo, 1)
    level = np.floor(np.log2(span)).astype(int)
    out = np.zeros(len(lo))
    for k in np.unique(level):
        rows = np.flatnonzero((level == k) & (hi > lo))
        if rows.size:
            out[rows] = np.maximum(table[k][lo[rows]], table[k][hi[rows] - (1 << k)])
    return out


def _readable(value: Any) -> Any:
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.floating, float)):
        return round(float(value), 3)
    return value.item() if hasattr(value, "item") else value
