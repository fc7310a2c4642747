"""Transcript parsing and checks: exact cues from SRT, WebVTT and JSON words; bad files name their line."""

from __future__ import annotations

import json

import pytest

from clipmill.captions.parse import parse_transcript
from clipmill.captions.transcript import check_fits
from clipmill.errors import InputError

SRT = b"1\n00:00:01,000 --> 00:00:02,500\n<i>hello</i>\nthere\n\n2\n00:00:03,000 --> 00:00:04,000\nworld\n"
VTT = b"WEBVTT\n\n00:00:01.250 --> 00:00:02.000\nhi <00:00:01.500>there\n\nNOTE a comment\n\n00:00:03.000 --> 00:00:04.500\n<v Bob>you\n"


def test_srt_cues_with_markup_removed():
    transcript = parse_transcript(SRT, "talk.srt")
    assert [(c.start, c.end, c.text, c.line) for c in transcript.cues] == [
        (1.0, 2.5, "hello there", 2), (3.0, 4.0, "world", 7)]
    assert not transcript.words_known


def test_vtt_cues_with_milliseconds():
    transcript = parse_transcript(VTT, "talk.vtt")
    assert [(c.start, c.end, c.text, c.line) for c in transcript.cues] == [
        (1.25, 2.0, "hi there", 3), (3.0, 4.5, "you", 8)]


def test_json_words_are_timed_words_and_fillers():
    data = json.dumps([{"start": 0.5, "end": 0.9, "word": "set"}, {"start": 1.0, "end": 1.2, "word": "Um,"},
                       {"start": 1.3, "end": 1.6, "word": "white"}]).encode()
    transcript = parse_transcript(data, "talk.json")
    assert transcript.words_known and [w.text for w in transcript.words] == ["set", "Um,", "white"]
    assert transcript.fillers().to_list() == [{"start": 1.0, "end": 1.2, "label": "um", "confidence": 1.0}]
    assert transcript.spoken(without_fillers=True).to_list() == [[0.5, 0.9], [1.3, 1.6]]


def test_utf16_with_bom_and_utf8_bom_are_read():
    assert parse_transcript(SRT.decode().encode("utf-16"), "a.srt").cues[1].text == "world"
    assert parse_transcript(b"\xef\xbb\xbf" + SRT, "a.srt").cues[0].text == "hello there"


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"1\n00:00:01,000 --> 00:00:02,000\nhello\n\n2\n00:00:0x,000 --> 00:00:03,000\nworld\n", "a.srt", "line 5: cannot read"),
    (b"1\n00:00:01,000 --> 00:00:02,000\nh\xe9llo\n", "a.srt", "line 3: byte 0xe9 is not utf-8"),
    (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi\n\n00:00:03.000 --> 00:00:0x.000\nyou\n", "a.vtt", "line 6: not a WebVTT cue timing"),
    (b"00:00:01.000 --> 00:00:02.000\nhi\n", "a.vtt", "line 1: not a WebVTT file"),
    (b'[\n {"start": 0.5, "end": 0.9, "word": "set"},\n {"start": 1.0, "end": "x", "word": "um"}\n]', "a.json", "line 3: start and end"),
    (b'[\n {"start": 0.5, "end": 0.9, "word": "set"}\n {"start": 1.0}]', "a.json", "line 3: expected ','"),
    (b"   \n", "a.srt", "is empty"),
])
def test_malformed_transcripts_name_the_line(data, name, message):
    with pytest.raises(InputError, match=message):
        parse_transcript(data, name)


def test_cue_past_the_source_end_is_refused_a_rounded_one_is_clamped():
    transcript = parse_transcript(SRT, "talk.srt")
    assert check_fits(transcript, name="talk.srt", duration_s=3.8).cues[-1].end == 3.8
    with pytest.raises(InputError, match=r"line 7: cue 3.000-4.000 s lies past the end of the source \(3.000 s\)"):
        check_fits(transcript, name="talk.srt", duration_s=3.0)


def test_overlapping_garbage_is_refused_a_small_overlap_trimmed():
    small = b"1\n00:00:01,000 --> 00:00:02,050\na\n\n2\n00:00:02,000 --> 00:00:03,000\nb\n"
    assert [c.end for c in check_fits(parse_transcript(small, "s.srt"), name="s.srt", duration_s=9).cues] == [2.0, 3.0]
    big = b"1\n00:00:01,000 --> 00:00:04,000\na\n\n2\n00:00:02,000 --> 00:00:03,000\nb\n"
    with pytest.raises(InputError, match="line 6: 2.000-3.000 s overlaps line 2"):
        check_fits(parse_transcript(big, "b.srt"), name="b.srt", duration_s=9)


def test_clipped_to_the_range_on_its_own_timeline():
    data = json.dumps([{"start": 0.5, "end": 0.9, "word": "a"}, {"start": 2.0, "end": 2.4, "word": "b"},
                       {"start": 3.9, "end": 4.2, "word": "c"}]).encode()
    clipped = parse_transcript(data, "w.json").clipped(1.0, 4.0)
    assert [(round(w.start, 6), round(w.end, 6), w.text) for w in clipped.words] == [(1.0, 1.4, "b"), (2.9, 3.0, "c")]
