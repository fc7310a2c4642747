"""Checked-in schemas match their models; the audit tables are built exactly; each broken rule is named."""

from __future__ import annotations

import copy
import json
import math
import tomllib
from datetime import datetime, timezone
from pathlib import PurePosixPath

import pandas as pd
import pytest
from pydantic import ValidationError

from clipmill.artifacts.document import CONTRACTS_DIR
from clipmill.artifacts.stages import TimelinesDocument
from clipmill.contracts import checked_in_schema, generated_schema, schema_files
from clipmill.errors import ContractViolation
from clipmill.quality.frames import (
    MANIFEST_COLUMNS, edit_plans_to_frame, manifests_to_frame, timelines_to_frame, tracks_to_frame,
)
from clipmill.quality.validate import validate_frame
from clipmill.quality.suites import SUITES_DIR, TABLE_COLUMNS, read_suite
from tests.unit.test_manifest_contract import _manifest


@pytest.mark.parametrize("filename", schema_files())
def test_checked_in_schema_matches_its_model(filename):
    assert (CONTRACTS_DIR / filename).is_file(), f"data_contracts/{filename} is missing"
    assert checked_in_schema(filename) == generated_schema(filename), (
        f"data_contracts/{filename} drifted from its model; regenerate every schema with "
        "python -c \"from clipmill.contracts import write_schemas; write_schemas()\" and commit them"
    )


def test_filler_lists_must_be_parallel():
    with pytest.raises(ValidationError, match="must have the same length"):
        TimelinesDocument(segment_duration_s=2.0, fillers=[(0.1, 0.2)], filler_labels=[], filler_confidence=[0.5])


def _document(**changes) -> dict:
    document = json.loads(_manifest().to_json())
    document["source"]["probe"] = {"fps": "25/1", "width": 360, "height": 288}
    for dotted, value in changes.items():
        target = document
        *path, last = dotted.split("__")
        for part in path:
            target = target[int(part) if part.isdigit() else part]
        target[last] = value
    return document


def test_manifests_to_frame_flattens_one_row_per_clip_exactly():
    planned = _document(clip_id="planned", stages={"edit": {"output_duration_s": 9.4}, "timelines": {"key": "t.json"}})
    frame = manifests_to_frame([_document(), planned])
    assert list(frame.columns) == MANIFEST_COLUMNS
    first = frame.iloc[0].to_dict()
    assert first["created_at"] == pd.Timestamp(datetime(2026, 11, 25, tzinfo=timezone.utc))
    expected = {
        "clip_id": "talk-0123456789ab", "job_id": "0" * 32, "schema_version": "1", "source_uri": "/m/talk.mp4",
        "source_sha256": "a" * 64, "source_fps": "25/1", "frame_s": 0.04, "source_width": 360.0,
        "source_height": 288.0, "request_start_s": 4.5, "request_end_s": 16.25, "requested_duration_s": 11.75,
        "planned_duration_s": 11.75, "reduction_pct": 0.0, "output_key": "clips/talk.mp4", "output_sha256": "b" * 64,
        "output_size_bytes": 5.0, "output_duration_s": 11.76, "video_codec": "h264", "audio_codec": "aac",
        "pix_fmt": "yuv420p", "output_width": 360.0, "output_height": 288.0, "output_fps": "25/1",
        "clipmill_version": "0.1.0", "tolerance_s": 0.041,
    }
    assert {k: first[k] for k in expected} == pytest.approx(expected)
    assert first["output_excess_s"] == pytest.approx(0.01) and first["duration_error_s"] == pytest.approx(0.01)
    assert all(pd.isna(first[c]) for c in ("timelines_key", "tracks_key", "schema_violations", "artifact_problems"))
    second = frame.iloc[1]
    assert second["planned_duration_s"] == 9.4
    assert second["reduction_pct"] == pytest.approx(100 * (11.75 - 9.4) / 11.75)
    assert second["duration_error_s"] == pytest.approx(11.76 - 9.4)
    assert second["timelines_key"] == "t.json"
    assert "stages/timelines" not in (second["schema_violations"] or "")


def test_manifests_to_frame_survives_missing_fields():
    frame = manifests_to_frame([{"clip_id": "broken"}])
    row = frame.iloc[0]
    assert row["clip_id"] == "broken" and math.isnan(row["frame_s"]) and pd.isna(row["output_sha256"])
    assert "'source' is a required property" in row["schema_violations"]


def test_derived_columns_compare_each_row_with_its_predecessor():
    timelines = timelines_to_frame({"c": {"segment_duration_s": 2.0, "speech": [[0.1, 0.5], [0.4, 0.8]],
                                          "silences": [[1.0, 1.5]], "fillers": [[0.2, 0.3]],
                                          "filler_labels": ["um"], "filler_confidence": [0.7]}})
    assert timelines[["kind", "index", "start_s", "end_s"]].values.tolist() == [
        ["speech", 0, 0.1, 0.5], ["speech", 1, 0.4, 0.8], ["silence", 0, 1.0, 1.5], ["filler", 0, 0.2, 0.3]]
    assert timelines["prev_end_s"].tolist()[1] == 0.5 and timelines["prev_end_s"].isna().tolist() == [True, False, True, True]
    assert timelines["speech_silence_excess_s"].iloc[0] == pytest.approx(0.4 + 0.4 + 0.5 - 2.0)
    assert timelines["label"].tolist()[3] == "um" and timelines["confidence"].tolist()[3] == 0.7
    tracks = tracks_to_frame({"c": [{"track_id": 1, "t": 0.0}, {"track_id": 2, "t": 0.5}, {"track_id": 1, "t": 0.2}]},
                             {"c": (360, 288)})
    assert tracks["dt_s"].fillna(-1).tolist() == pytest.approx([-1, -1, 0.2])
    assert tracks["frame_width"].tolist() == [360.0] * 3


def _checks(result) -> dict[str, list[str]]:
    return {f.check: list(f.clip_ids) for f in result.failures}


def test_clean_manifests_pass_the_suite():
    assert validate_frame(manifests_to_frame([_document(), _document(clip_id="other")]), "manifests").success


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"outputs__0__duration_s": -1.0}, "durations_positive"),
        ({"outputs__0__sha256": "XYZ"}, "sha256_format"),
        ({"outputs__0__video_codec": "hevc"}, "video_codec_allowed"),
        ({"outputs__0__pix_fmt": "yuv444p"}, "pix_fmt_allowed"),
        ({"outputs__0__audio_codec": "opus"}, "audio_codec_allowed"),
        ({"versions": {"ffmpeg": "5.1"}}, "clipmill_version_present"),
        ({"outputs__0__duration_s": 11.9}, "output_not_longer_than_request"),
        ({"outputs__0__duration_s": 11.6}, "output_duration_matches_plan"),
        ({"stages": {"edit": {"output_duration_s": 13.0}}}, "reduction_pct_in_range"),
        ({"job_id": "short"}, "manifest_schema_valid"),
    ],
)
def test_each_broken_manifest_rule_is_named_with_its_clip(changes, check):
    frame = manifests_to_frame([_document(), _document(clip_id="bad", **changes)])
    assert _checks(validate_frame(frame, "manifests")).get(check) == ["bad"]


def test_audio_codec_may_be_absent():
    frame = manifests_to_frame([_document(outputs__0__audio_codec=None)])
    assert "audio_codec_allowed" not in _checks(validate_frame(frame, "manifests"))


def test_broken_timelines_are_named_with_the_failing_rows():
    good = {"segment_duration_s": 2.0, "speech": [[0.1, 0.5], [0.6, 0.8]], "silences": [[0.8, 1.5]],
            "fillers": [[0.2, 0.3]], "filler_labels": ["um"], "filler_confidence": [0.9]}
    bad = copy.deepcopy(good) | {"speech": [[0.1, 0.5], [0.4, 0.8]], "silences": [[0.9, 1.2], [0.8, 2.5]]}
    result = validate_frame(timelines_to_frame({"good": good, "bad": bad}), "timelines")
    checks = _checks(result)
    assert checks == {"timeline_non_overlapping": ["bad"], "timeline_sorted": ["bad"],
                      "timeline_inside_segment": ["bad"], "speech_plus_silence_fits": ["bad"]}
    overlap = next(f for f in result.failures if f.check == "timeline_non_overlapping")
    assert {"clip_id": "bad", "kind": "speech", "index": 1} in [
        {k: row[k] for k in ("clip_id", "kind", "index")} for row in overlap.rows]


def test_broken_tracks_are_named():
    box = {"x1": 10.0, "y1": 10.0, "x2": 50.0, "y2": 60.0, "confidence": 0.9}
    good = [{"track_id": 1, "t": 0.0, **box}, {"track_id": 1, "t": 0.2, **box}, {"track_id": 2, "t": 0.2, **box}]
    cases = {
        "track_box_inside_frame": [{"track_id": 1, "t": 0.0, **box, "x2": 400.0}],
        "track_times_increasing": [{"track_id": 1, "t": 0.4, **box}, {"track_id": 1, "t": 0.4, **box}],
        "track_ids_stable": [{"track_id": 1, "t": 0.0, **box}, {"track_id": 1, "t": 9.0, **box}],
        "track_confidence_in_range": [{"track_id": 1, "t": 0.0, **box, "confidence": 1.5}],
        "track_box_non_empty": [{"track_id": 1, "t": 0.0, **box, "x2": 5.0}],
    }
    tracks = {"good": good, **cases}
    frame = tracks_to_frame(tracks, {clip: (360, 288) for clip in tracks})
    assert _checks(validate_frame(frame, "tracks")) == {check: [check] for check in cases}


def test_identity_joined_tracks_may_rejoin_after_a_gap_others_may_not():
    rows = [{"track_id": 3, "t": 6.0, "x1": 1, "y1": 1, "x2": 9, "y2": 9, "confidence": 0.9},
            {"track_id": 3, "t": 21.0, "x1": 1, "y1": 1, "x2": 9, "y2": 9, "confidence": 0.9}]
    frame = tracks_to_frame({"joined": rows, "plain": rows}, {"joined": (360, 288), "plain": (360, 288)},
                            {"joined": True})
    gaps = frame.groupby("clip_id")["id_gap_s"].max()
    assert math.isnan(gaps["joined"]) and gaps["plain"] == 15.0
    failed = {f.check: f.clip_ids for f in validate_frame(frame, "tracks").failures}
    assert failed == {"track_ids_stable": ("plain",)}


def test_float_noise_in_the_requested_range_is_not_a_negative_reduction():
    document = {"request": {"start_s": 0.1, "end_s": 0.3}, "stages": {"edit": {"output_duration_s": 0.2}},
                "outputs": [{"duration_s": 0.2}], "source": {"probe": {"fps": "25/1"}}}
    assert 0.3 - 0.1 < 0.2
    assert manifests_to_frame([document])["reduction_pct"].iloc[0] == 0.0


def test_broken_edit_plans_are_named():
    # [start_frame, end_frame, output_frames] at 10 fps: 0-1 s, then 1.2-2.6 s at twice the speed
    good = {"fps": "10/1", "source_duration_s": 3.0, "output_duration_s": 1.7, "segments": [[0, 10, 10], [12, 26, 7]]}
    cases = {
        "edit_segment_positive": {"segments": [[0, 10, 10], [12, 12, 1]], "output_duration_s": 1.1},
        "edit_segment_inside_source": {"segments": [[0, 10, 10], [12, 35, 23]], "output_duration_s": 3.3},
        "edit_segments_in_order": {"segments": [[0, 10, 10], [8, 15, 7]], "output_duration_s": 1.7},
        "edit_speed_in_range": {"segments": [[0, 10, 10], [10, 30, 1]], "output_duration_s": 1.1},
        "edit_output_duration_adds_up": {"output_duration_s": 1.9},
    }
    frame = edit_plans_to_frame({"good": good, **{check: good | change for check, change in cases.items()}})
    assert frame[frame.clip_id == "good"]["prev_src_end_s"].fillna(-1).tolist() == [-1, 1.0]
    assert _checks(validate_frame(frame, "edit_plans")) == {check: [check] for check in cases}


def test_every_suite_file_reads_and_refers_only_to_its_tables_columns():
    assert sorted(path.stem for path in SUITES_DIR.glob("*.json")) == sorted(TABLE_COLUMNS)
    for name in TABLE_COLUMNS:
        assert read_suite(name).expectations


def test_a_suite_file_with_a_wrong_column_or_type_is_refused_by_name(tmp_path):
    suite = json.loads((SUITES_DIR / "tracks.json").read_text())
    suite["expectations"][1]["kwargs"]["column"] = "y_one"
    (tmp_path / "tracks.json").write_text(json.dumps(suite))
    with pytest.raises(ContractViolation, match=r"tracks\.json expectation 1 \(track_box_inside_frame\) names "
                                                r"columns its table does not have: \['y_one'\]"):
        read_suite("tracks", tmp_path)
    suite["expectations"][1] = {**suite["expectations"][0], "type": "expect_column_values_to_be_purple"}
    (tmp_path / "tracks.json").write_text(json.dumps(suite))
    with pytest.raises(ContractViolation, match=r"tracks\.json expectation 1 .* is not a valid Great Expectations"):
        read_suite("tracks", tmp_path)


def test_every_contract_file_ships_as_package_data():
    """A non-editable install (a wheel) carries what `package-data` names: every contract file must match."""
    patterns = tomllib.loads((CONTRACTS_DIR.parent / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["data_contracts"]
    files = [PurePosixPath(path.relative_to(CONTRACTS_DIR).as_posix()) for path in CONTRACTS_DIR.rglob("*")
             if path.is_file() and path.suffix == ".json"]
    assert files and [f for f in files if not any(f.match(pattern) for pattern in patterns)] == []
