"""The clip finder on synthetic analyses: edges in pauses, lengths in bounds, no overlaps, readable scores."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from clipmill.artifacts.suggestions import SourceAnalysisDocument
from clipmill.errors import InputError
from clipmill.segment import (
    FaceSamples, LengthRange, SourceAnalysis, find_boundaries, parse_length, propose, select, snap_windows, suggest,
)
from clipmill.segment_analysis import from_document, measure_audio, to_document
from clipmill.timeline import Timeline


def talk(speech: list[tuple[float, float]], duration_s: float, *, padding_s: float = 0.1, **extra) -> SourceAnalysis:
    """An analysis whose pauses are the gaps between `speech`, shrunk by `padding_s`, cut in their middle."""
    timeline = Timeline.from_list(speech)
    gaps = timeline.complement(0.0, duration_s)
    pauses = Timeline.from_list([[a + (padding_s if a > 0 else 0), b - (padding_s if b < duration_s else 0)]
                                 for a, b in gaps.to_list() if b - a > 2 * padding_s])
    hop = 0.1
    n = int(np.ceil(duration_s / hop))
    level = np.where(timeline.to_mask(hop, n * hop)[:n], -20.0, -60.0)
    fields = dict(
        duration_s=duration_s, speech=timeline, pauses=pauses, pause_cut_s=pauses.array.mean(axis=1),
        pause_gap_s=np.array([gaps.array[np.searchsorted(gaps.array[:, 0], m, side="right") - 1] @ [-1, 1]
                              for m in pauses.array.mean(axis=1)]),
        pitch_fall_st=np.full(len(pauses), np.nan), pitch_before_hz=np.full(len(pauses), np.nan),
        pitch_after_hz=np.full(len(pauses), np.nan), hop_s=hop, level_db=level, syllables=np.zeros(n, int),
    )
    return SourceAnalysis(**{**fields, **extra})


def regular_talk(duration_s: float = 300.0, seed: int = 0) -> SourceAnalysis:
    """Phrases of 2-9 s separated by pauses of 0.2-3 s."""
    rng = np.random.default_rng(seed)
    spans, t = [], 1.0
    while t < duration_s - 10:
        length = rng.uniform(2, 9)
        spans.append((t, t + length))
        t += length + rng.choice([0.2, 0.4, 0.8, 1.5, 3.0])
    return talk(spans, duration_s)


@pytest.mark.parametrize("text,expected", [("20-60", (20, 60)), ("5.5-5.5", (5.5, 5.5)), (" 10 - 30 ", (10, 30))])
def test_parse_length(text, expected):
    length = parse_length(text)
    assert (length.min_s, length.max_s) == expected


@pytest.mark.parametrize("text,needle", [("60-20", "greater than MAX"), ("a-b", "'a-b'"), ("30", "'30'"),
                                         ("0-10", "0 < MIN"), ("nan-10", "0 < MIN")])
def test_parse_length_refuses(text, needle):
    with pytest.raises(InputError, match=needle):
        parse_length(text)


def test_every_candidate_starts_and_ends_in_a_pause_within_the_bounds():
    analysis = regular_talk()
    length = LengthRange(20, 60)
    candidates = propose(analysis, length)
    assert len(candidates) > 50
    speech = analysis.speech
    for candidate in candidates:
        assert length.min_s - 1e-6 <= candidate.end_s - candidate.start_s <= length.max_s + 1e-6
        assert not speech.contains(np.array([candidate.start_s, candidate.end_s])).any()
        assert candidate.reasons["start_pause_s"] >= 0.5 and candidate.reasons["end_pause_s"] >= 0.5
    scores = [c.score for c in candidates]
    assert scores == sorted(scores, reverse=True) and 0 <= min(scores) and max(scores) <= 1


def test_selection_does_not_overlap_and_keeps_the_best():
    candidates = propose(regular_talk(), LengthRange(20, 60))
    chosen = select(candidates, 5)
    assert len(chosen) == 5 and chosen[0] == candidates[0]
    spans = sorted((c.start_s, c.end_s) for c in chosen)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))


def test_short_hesitations_are_never_clip_edges():
    analysis = talk([(1, 10), (10.3, 20), (20.45, 30), (31, 40)], 41.0)
    assert find_boundaries(analysis).times_s.round(2).tolist() == [0.45, 30.5, 40.55]


def test_dead_air_and_speech_share_lower_the_score():
    lively = talk([(1, 30), (31, 45)], 46.0)
    sparse = talk([(1, 12), (17, 30), (31, 45)], 46.0)
    [best_lively] = select(propose(lively, LengthRange(40, 46)), 1)
    [best_sparse] = select(propose(sparse, LengthRange(40, 46)), 1)
    assert best_sparse.reasons["dead_air_s"] == pytest.approx(5.0)
    assert best_lively.reasons["speech_share"] > best_sparse.reasons["speech_share"]
    assert best_lively.score > best_sparse.score


def test_cuts_and_one_face_are_reasons():
    base = [(1, 20), (21, 40), (41, 60), (61, 80)]
    cuts = talk(base, 81.0, cuts_s=np.array([40.5]))
    boundaries = find_boundaries(cuts)
    assert boundaries.on_cut.tolist() == [False, False, True, False, False]
    face_times = np.arange(0, 81.0)
    faces = FaceSamples(face_times, np.ones(81, int), face_times < 40.5)
    first, second = (c for c in propose(talk(base, 81.0, faces=faces), LengthRange(39.5, 40.5))
                     if round(c.start_s, 2) in (0.45, 40.5))
    assert {round(first.start_s, 2), round(second.start_s, 2)} == {0.45, 40.5}
    on_one_face = first if first.start_s < 1 else second
    assert on_one_face.reasons["one_face_share"] == 1.0 and on_one_face.score > (second if on_one_face is first else first).score


def test_a_source_shorter_than_the_minimum_is_bad_input():
    with pytest.raises(InputError, match="shorter than the shortest clip"):
        suggest(talk([(1, 10)], 12.0), LengthRange(20, 60))


def test_no_pause_no_candidate():
    assert propose(talk([(0, 100)], 100.0), LengthRange(20, 60)) == []


def test_window_edges_snap_to_the_nearest_pause():
    analysis = talk([(1, 58), (59.5, 118), (121, 170)], 171.0)
    bounds = find_boundaries(analysis)
    snapped = snap_windows(171.0, [0.0, 60.0, 120.0, 171.0], bounds, max_shift_s=30)
    assert snapped == [0.0, pytest.approx(58.75), pytest.approx(119.5), 171.0]
    assert snap_windows(171.0, [0.0, 60.0, 120.0, 171.0], bounds, max_shift_s=0.5) == [0.0, 60.0, pytest.approx(119.5), 171.0]


def test_analysis_documents_round_trip():
    faces = FaceSamples(np.array([0.0, 1.0]), np.array([1, 2]), np.array([True, False]))
    analysis = talk([(1, 20), (21, 40)], 41.0, faces=faces, cuts_s=np.array([20.5]))
    written = SourceAnalysisDocument.model_validate(to_document(analysis)).to_json()
    stored = SourceAnalysisDocument.model_validate_json(written)
    again = from_document(stored.model_dump())
    assert again.speech == analysis.speech and again.pauses == analysis.pauses
    assert again.faces is not None and again.faces.dominant.tolist() == [True, False]
    assert [c.to_json() for c in propose(again)] == [c.to_json() for c in propose(analysis)]
    with pytest.raises(ValidationError, match="hop_s"):
        SourceAnalysisDocument.model_validate({**to_document(analysis), "hop_s": 0})


def test_measure_audio_finds_the_pause_between_two_tones():
    sr = 16_000
    t = np.arange(int(sr * 30)) / sr
    voiced = sum(0.05 / k * np.sin(2 * np.pi * 150 * k * t) for k in range(1, 16)) * (1 + 0.8 * np.sin(2 * np.pi * 4 * t))
    gate = ((t > 1) & (t < 13)) | ((t > 15) & (t < 29))
    rng = np.random.default_rng(1)
    samples = (voiced * gate + 0.001 * rng.standard_normal(len(t))).astype(np.float32)
    from clipmill.segment_analysis import AnalysisSettings

    analysis = measure_audio(samples, sr, settings=AnalysisSettings(vad_backend="energy"))
    bounds = find_boundaries(analysis)
    inner = bounds.times_s[(bounds.times_s > 5) & (bounds.times_s < 25)]
    assert len(inner) == 1 and 13.1 < inner[0] < 14.9
    assert bounds.pause_s[(bounds.times_s > 5) & (bounds.times_s < 25)][0] == pytest.approx(2.0, abs=0.15)


def test_segmentation_policies_plan_ranges_with_how_they_were_chosen():
    from clipmill.batch import ListedVideo, expand_listing
    from clipmill.segment_policy import Segmentation, snapped_windows, suggested_ranges
    from clipmill.suggest import suggestion_document

    analysis = talk([(1, 58), (59.5, 118), (121, 170)], 171.0)
    ranges = snapped_windows(171.0, 60.0, analysis, analysis_key="analyses/x/y.json")
    assert [(r.start_s, r.end_s) for r in ranges] == [(0.0, 58.75), (58.75, 119.5), (119.5, 171.0)]
    assert all(r.selection == {"policy": "windows", "snapped": True, "analysis_key": "analyses/x/y.json"} for r in ranges)
    plain = snapped_windows(171.0, 60.0, None, analysis_key=None)
    assert [(r.start_s, r.end_s, r.selection["snapped"]) for r in plain] == [
        (0.0, 60.0, False), (60.0, 120.0, False), (120.0, 171.0, False)]
    document = suggestion_document("s3://b/talk.mp4", analysis, suggest(analysis, LengthRange(40, 70), 2),
                                   length=LengthRange(40, 70), count=2, analysis_key="analyses/x/y.json")
    auto = suggested_ranges(document, suggestion_key="suggestions/x/z.json")
    video = ListedVideo("s3://b/talk.mp4", 171.0, ranges=tuple((r.start_s, r.end_s, r.selection) for r in auto))
    [request, *_] = expand_listing([video], window_s=60.0).requests
    assert request.selection["policy"] == "auto" and request.selection["suggestion_key"] == "suggestions/x/z.json"
    assert request.selection["score"] == document.candidates[0].score
    assert request.selection["analysis_key"] == "analyses/x/y.json"
    for bad in ({"mode": "scenes"}, {"count": 0}, {"window_s": -1.0}):
        with pytest.raises(InputError):
            Segmentation(**bad)


def test_long_sources_are_measured_in_chunks_and_joined():
    from clipmill.segment_analysis import AnalysisSettings, measure_long_audio

    sr = 16_000
    t = np.arange(int(sr * 40)) / sr
    voiced = sum(0.05 / k * np.sin(2 * np.pi * 150 * k * t) for k in range(1, 16)) * (1 + 0.8 * np.sin(2 * np.pi * 4 * t))
    gate = ((t > 1) & (t < 9)) | ((t > 11) & (t < 19)) | ((t > 21.5) & (t < 29)) | ((t > 31) & (t < 39))
    samples = (voiced * gate + 0.001 * np.random.default_rng(2).standard_normal(len(t))).astype(np.float32)
    settings = AnalysisSettings(vad_backend="energy")
    whole = measure_long_audio(samples, sr, settings=settings)
    chunked = measure_long_audio(samples, sr, settings=settings, chunk_s=20.0)
    assert len(chunked.level_db) == len(whole.level_db) and chunked.duration_s == whole.duration_s
    inner = lambda a: sorted(round(x) for x in find_boundaries(a).times_s if 5 < x < 35)  # noqa: E731
    assert inner(whole) == [10, 20, 30]
    assert inner(chunked) == [10, 30], "the pause the chunk edge at 20 s cut is dropped, not halved"
    assert len(chunked.pauses) == len(chunked.pause_cut_s) == len(chunked.pause_gap_s) == len(chunked.pitch_fall_st)


def test_the_suggestion_document_prints_the_stable_shape_and_refuses_unknown_reasons():
    from clipmill.artifacts.suggestions import SuggestionDocument
    from clipmill.suggest import suggestion_document

    faces = FaceSamples(np.arange(0.0, 171.0), np.ones(171, int), np.ones(171, bool))
    for analysis in (talk([(1, 58), (59.5, 118), (121, 170)], 171.0), talk([(1, 58), (59.5, 118)], 120.0, faces=faces)):
        candidates = suggest(analysis, LengthRange(40, 70), 2)
        document = suggestion_document("talk.mp4", analysis, candidates, length=LengthRange(40, 70), count=2,
                                       analysis_key="analyses/x/y.json")
        printed = document.printed()
        assert list(printed) == ["source", "duration_s", "candidates"]
        assert printed["candidates"] == [c.to_json() for c in candidates], "the same keys, values and order as before"
        assert SuggestionDocument.model_validate_json(document.to_json()) == document
    assert printed["candidates"][0]["reasons"]["one_face_share"] == 1.0
    reasons = {**candidates[0].to_json()["reasons"], "charisma": 1.0}
    with pytest.raises(ValidationError, match="charisma"):
        SuggestionDocument.model_validate({**document.model_dump(), "candidates": [{**candidates[0].to_json(), "reasons": reasons}]})
