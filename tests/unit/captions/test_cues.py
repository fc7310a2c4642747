"""Cues re-timed through an edit plan and laid out in lines; SRT/WebVTT/ASS text out."""

from __future__ import annotations

import json

import pytest
import srt

from clipmill.captions.ass import burn_document, font_size, margins
from clipmill.captions.cues import CaptionLayout, caption_cues, layout_for, map_span, wrap
from clipmill.captions.formats import to_srt, to_vtt
from clipmill.captions.parse import parse_transcript
from clipmill.edit.edl import EditPlan, EditSegment, plan_edit
from clipmill.timebase import FrameRate
from clipmill.timeline import Timeline

#: 0-1.5 s, then 2.5-4.5 s at twice the speed (at 10 fps).
PLAN = EditPlan(segments=(EditSegment(0, 15), EditSegment(25, 45, 2)), rate=FrameRate(10), source_duration_s=5.0)


def test_map_span_drops_cut_pieces_and_compresses_sped_up_ones():
    assert map_span(PLAN, 0.5, 1.0) == (0.5, 1.0)
    assert map_span(PLAN, 1.0, 3.5) == (1.0, 2.0)  # the cut 1.5-2.5 closes up; 2.5-3.5 plays in 0.5 s
    assert map_span(PLAN, 1.6, 2.4) is None
    assert map_span(PLAN, 4.0, 5.0) == (2.25, 2.5)


def test_cues_without_words_keep_their_text_and_split_by_length():
    data = b"1\n00:00:01,000 --> 00:00:03,500\none two three four five six seven eight nine ten\n\n" \
           b"2\n00:00:01,600 --> 00:00:02,400\nin the cut\n"
    cues = caption_cues(parse_transcript(data, "a.srt"), PLAN, CaptionLayout(max_line_chars=12, max_lines=2))
    assert [c.lines for c in cues] == [("one two", "three four"), ("five six", "seven eight"), ("nine ten",)]
    assert cues[0].start == 1.0 and cues[-1].end == 2.0
    assert all(a.end == b.start for a, b in zip(cues, cues[1:]))


def test_cues_from_words_lose_the_removed_words_and_break_at_sentences_and_pauses():
    words = [(0.1, 0.4, "Hello"), (0.5, 0.9, "there."), (1.0, 1.3, "um"), (1.6, 2.0, "cut"), (2.5, 2.9, "fast"),
             (3.1, 3.3, "and"), (4.0, 4.4, "after")]
    data = json.dumps([{"start": a, "end": b, "word": w} for a, b, w in words]).encode()
    cues = caption_cues(parse_transcript(data, "w.json"), PLAN, layout_for(1920, 1080))
    assert [(round(c.start, 6), round(c.end, 6), c.text) for c in cues] == [
        (0.1, 0.9, "Hello there."), (1.0, 1.9, "um fast and"), (2.25, 2.45, "after")]
    assert [w.text for w in cues[1].words] == ["um", "fast", "and"]


def test_a_word_mostly_cut_leaves_the_captions():
    data = json.dumps([{"start": 1.2, "end": 1.7, "word": "uh"}, {"start": 1.45, "end": 1.65, "word": "x"},
                       {"start": 2.2, "end": 3.0, "word": "so"}]).encode()
    transcript = parse_transcript(data, "w.json")
    cues = caption_cues(transcript, PLAN, layout_for(1920, 1080))
    assert [c.text for c in cues] == ["uh so"]  # "uh" keeps 0.3 of 0.5 s, "x" 0.05 of 0.2 s


def test_layout_narrow_frames_short_lines():
    assert [layout_for(w, h).max_line_chars for w, h in ((1080, 1920), (1080, 1080), (1920, 1080))] == [24, 32, 42]
    assert wrap("a bb ccc dddd eeeee ffffff".split(), 12) == ["a bb ccc", "dddd eeeee", "ffffff"]
    assert wrap("one two three four five".split(), 20) == ["one two three", "four five"]


def test_words_are_never_cut_into_and_cuts_stay_on_the_frame_grid():
    plan = plan_edit(4.0, rate=FrameRate(25), speech=Timeline([(0, 1)]), silences=Timeline([(1.0, 3.0)]),
                     words=Timeline([(0.2, 1.013), (2.5, 2.9)]))
    assert [(s.start_frame, s.end_frame) for s in plan.segments] == [(0, 26), (62, 73), (75, 100)]


def test_srt_and_vtt_text_round_trip():
    cues = caption_cues(parse_transcript(b"1\n00:00:00,500 --> 00:00:01,250\nhi there\n", "a.srt"), PLAN,
                        CaptionLayout(max_line_chars=5))
    assert [(s.start.total_seconds(), s.end.total_seconds(), s.content) for s in srt.parse(to_srt(cues))] == [
        (0.5, 1.25, "hi\nthere")]
    assert to_vtt(cues) == "WEBVTT\n\n00:00:00.500 --> 00:00:01.250\nhi\nthere\n"


@pytest.mark.parametrize(("width", "height"), [(1080, 1920), (1920, 1080)])
def test_burn_style_keeps_lines_inside_the_safe_area(width, height):
    layout = layout_for(width, height)
    left, right, bottom = margins(width, height)
    size = font_size(width, height, layout)
    assert layout.max_line_chars * 0.62 * size <= width - left - right
    assert bottom >= (0.2 * height if height > width else 0.05 * height)
    text = burn_document(caption_cues(parse_transcript(b'[{"start": 0.1, "end": 0.4, "word": "a{b}"},'
                                                       b' {"start": 0.5, "end": 0.9, "word": "c"}]', "w.json"),
                                      PLAN, layout), width=width, height=height, layout=layout, highlight=True)
    assert f"PlayResX: {width}" in text and "{\\c&H00DDFF&}a(b){\\r} c" in text and "a(b) {\\c&H00DDFF&}c{\\r}" in text
