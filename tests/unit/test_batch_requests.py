"""Batch request logic: parsing CSV/JSONL, the window policy, bad rows as failures, batching."""

from __future__ import annotations

import json

import pytest

from clipmill.batch import (
    ListedVideo, RequestOutcome, batch_id, batches, expand_listing, is_video_key, parse_option_pairs, parse_requests,
    summarize, windows,
)
from clipmill.errors import InputError

CSV = """source,start,end,options
s3://media/a.mp4,0,10,
s3://media/a.mp4,10,20.5,"{""crf"": 28}"
# a comment row
s3://media/b.mp4,5,4,
s3://media/b.mp4,x,4,
s3://media/b.mp4,1,2,"{""crf"": 99}"
s3://media/b.mp4,1,2,"{""nope"": 1}"
s3://media/b.mp4,1
,1,2,
s3://media/a.mp4,0,10,
"""


def test_csv_rows_become_requests_or_failures_with_reasons():
    parsed = parse_requests(CSV, name="requests.csv")

    assert [(r.row, r.source, r.start_s, r.end_s, r.options) for r in parsed.requests] == [
        (2, "s3://media/a.mp4", 0.0, 10.0, {}),
        (3, "s3://media/a.mp4", 10.0, 20.5, {"crf": 28}),
    ]
    reasons = {f.row: f.reason for f in parsed.failures}
    assert set(reasons) == {5, 6, 7, 8, 9, 10}
    assert "must be before end" in reasons[5]
    assert "start must be a finite number" in reasons[6] and "'x'" in reasons[6]
    assert "crf" in reasons[7] and "99" in reasons[7]
    assert "nope: unknown option" in reasons[8]
    assert "expected 3 or 4 columns" in reasons[9]
    assert "source is required" in reasons[10]
    assert parsed.failures[0].text == "s3://media/b.mp4,5,4,"
    assert parsed.duplicates == 1


def test_jsonl_rows_with_defaults_and_bad_lines():
    lines = [
        json.dumps({"source": "a.mp4", "start": 1, "end": 2}),
        "",
        json.dumps({"source": "a.mp4", "start": 1, "end": 2, "options": {"crf": 30}}),
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"source": "a.mp4", "start": 1}),
        json.dumps({"source": "a.mp4", "start": 1, "end": 2, "speed": 3}),
        json.dumps({"source": "a.mp4", "start": 1, "end": 2, "options": "crf=3"}),
    ]
    parsed = parse_requests("\n".join(lines), name="r.jsonl", defaults={"crf": 23, "remove_silence": False})

    assert [(r.row, r.options) for r in parsed.requests] == [
        (1, {"crf": 23, "remove_silence": False}),
        (3, {"crf": 30, "remove_silence": False}),
    ]
    reasons = {f.row: f.reason for f in parsed.failures}
    assert "not valid JSON" in reasons[4]
    assert "expected a JSON object" in reasons[5]
    assert "end is required" in reasons[6]
    assert "unknown field(s) speed" in reasons[7]
    assert "options must be a JSON object" in reasons[8]


def test_the_format_comes_from_the_name_else_from_the_content():
    row = '{"source": "a.mp4", "start": 0, "end": 1}'
    assert len(parse_requests(row).requests) == 1
    assert len(parse_requests("a.mp4,0,1").requests) == 1
    assert parse_requests(row, name="x.csv").failures, "a .csv file is read as CSV whatever it holds"


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (45.0, [(0.0, 45.0)]),
        (60.0, [(0.0, 60.0)]),
        (150.0, [(0.0, 60.0), (60.0, 120.0), (120.0, 150.0)]),
        (120.5, [(0.0, 60.0), (60.0, 120.5)]),
        (121.0, [(0.0, 60.0), (60.0, 120.0), (120.0, 121.0)]),
    ],
)
def test_the_window_policy_covers_the_whole_video_once(duration, expected):
    assert windows(duration, window_s=60.0) == expected


def test_windows_reject_nonsense():
    with pytest.raises(InputError, match="window_s"):
        windows(10.0, window_s=0.0)
    with pytest.raises(InputError, match="duration"):
        windows(float("nan"), window_s=5.0)


def test_a_listing_expands_by_windows_and_keeps_unprobed_videos_as_failures():
    videos = [
        ListedVideo("s3://m/a.mp4", 25.0),
        ListedVideo("s3://m/b.mp4", None, "s3://m/b.mp4 is not readable media: moov atom not found"),
        ListedVideo("s3://m/c.mp4", 8.0),
    ]
    parsed = expand_listing(videos, window_s=10.0, defaults={"crf": 26})

    assert [(r.row, r.source, r.start_s, r.end_s) for r in parsed.requests] == [
        (1, "s3://m/a.mp4", 0.0, 10.0), (1, "s3://m/a.mp4", 10.0, 20.0), (1, "s3://m/a.mp4", 20.0, 25.0),
        (3, "s3://m/c.mp4", 0.0, 8.0),
    ]
    assert all(r.options == {"crf": 26} for r in parsed.requests)
    assert [(f.row, f.text) for f in parsed.failures] == [(2, "s3://m/b.mp4")]
    assert "moov atom" in parsed.failures[0].reason


def test_video_keys_are_recognised_by_extension():
    assert is_video_key("lib/Talk.MP4") and is_video_key("a/b.mkv")
    assert not is_video_key("lib/notes.txt") and not is_video_key("lib/mp4")


def test_batches_slice_in_order_and_refuse_zero():
    assert [list(b) for b in batches(list(range(7)), 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batches([], 3)) == []
    with pytest.raises(InputError, match="batch_size"):
        list(batches([1], 0))


def test_batch_and_request_ids_are_stable_and_order_free():
    first = parse_requests("a.mp4,0,1\nb.mp4,1,2").requests
    again = parse_requests("b.mp4,1,2\na.mp4,0,1").requests
    assert batch_id(first, origin="requests:r.csv") == batch_id(again, origin="requests:r.csv")
    assert batch_id(first, origin="requests:r.csv") != batch_id(first, origin="requests:s.csv")
    assert first[0].request_id == again[1].request_id != first[1].request_id


def test_option_pairs():
    assert parse_option_pairs(["crf=23", " clip_name = intro "]) == {"crf": "23", "clip_name": "intro"}
    with pytest.raises(InputError, match="name=value"):
        parse_option_pairs(["crf"])


def test_summary_counts_outcomes_in_row_order():
    parsed = parse_requests("a.mp4,0,1\na.mp4,2,1\nb.mp4,1,2")
    good, other = parsed.requests
    outcomes = [
        RequestOutcome.of_clip(other, {"reused": True, "clip_id": "b"}, seconds=0.5, flow_run_id="r2"),
        RequestOutcome.of_row(parsed.failures[0]),
        RequestOutcome.of_clip(good, {"reused": False, "clip_id": "a"}, seconds=1.0, flow_run_id="r1"),
    ]
    summary = summarize("abc", origin="requests:x", outcomes=outcomes, duplicates=2, wall_s=3.0)

    assert summary["counts"] == {"requests": 3, "published": 1, "reused": 1, "failed": 1, "duplicates": 2}
    assert [(r["row"], r["status"]) for r in summary["results"]] == [(1, "published"), (2, "failed"), (3, "reused")]
    assert summary["clips_per_min"] == 40.0
    assert json.loads(json.dumps(summary)) == summary
