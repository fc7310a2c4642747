"""The audit flow and `clipmill audit` on real clips in a real store, clean and hand-broken."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from clipmill import process_clip
from clipmill.cli.audit import audit as audit_command
from clipmill.quality.results import AuditFailed
from flows.audit import audit

CLEAN, BROKEN = "audit-clean/", "audit-broken/"
BOX = {"x1": 40.0, "y1": 30.0, "x2": 160.0, "y2": 170.0, "confidence": 0.9}
GOOD_TIMELINES = {"segment_duration_s": 1.0, "speech": [[0.1, 0.6]], "silences": [[0.6, 1.0]],
                  "fillers": [[0.2, 0.3]], "filler_labels": ["um"], "filler_confidence": [0.8]}


def _put_json(store, key: str, document: dict) -> None:
    store.put_bytes(key, json.dumps(document).encode(), content_type="application/json")


def _tracks_parquet(rows: list[dict]) -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame(rows).to_parquet(buffer, index=False)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def batches(seaweed, prefect_server, sample_video, tmp_path_factory):
    """Two real 1 s clips published under audit-clean/ (one with timelines and tracks), and five
    hand-broken copies plus one untouched control under audit-broken/."""
    store = seaweed
    out = tmp_path_factory.mktemp("audit-clips")
    clips = [process_clip(str(sample_video), start=start, end=start + 1.0, out_dir=out, clip_name=f"audit-{i}")
             for i, start in enumerate((2.0, 6.0))]
    first, second = (json.loads(c.manifest_path.read_text()) for c in clips)
    _put_json(store, "audit-artifacts/clean/timelines.json", GOOD_TIMELINES)
    store.put_bytes("audit-artifacts/clean/tracks.parquet", _tracks_parquet(
        [{"track_id": 1, "t": 0.0, **BOX}, {"track_id": 1, "t": 0.2, **BOX}, {"track_id": 2, "t": 0.4, **BOX}]))
    # keep the edit summary: the audit compares the clip's duration with the planned one
    first["stages"] = {"edit": first["stages"]["edit"],
                       "timelines": {"key": "audit-artifacts/clean/timelines.json"},
                       "tracks": {"key": "audit-artifacts/clean/tracks.parquet"}}
    for document in (first, second):
        _put_json(store, f"{CLEAN}{document['clip_id']}.json", document)

    def broken(clip_id: str, *, output: bytes | None = None, **changes) -> None:
        document = json.loads(json.dumps(first)) | {"clip_id": clip_id} | changes
        if output is not None:
            key = f"audit-media/{clip_id}.mp4"
            store.put_bytes(key, output, content_type="video/mp4")
            document["outputs"][0]["key"] = key
        _put_json(store, f"{BROKEN}{clip_id}.json", document)

    clip_bytes = clips[0].clip_path.read_bytes()
    broken("control")
    broken("wrong-sha", output=clips[1].clip_path.read_bytes())
    broken("truncated", output=clip_bytes[: len(clip_bytes) // 2])
    negative = json.loads(json.dumps(first["outputs"]))
    negative[0]["duration_s"] = -1.0
    broken("negative-duration", outputs=negative)
    _put_json(store, "audit-artifacts/overlap/timelines.json", GOOD_TIMELINES | {"speech": [[0.1, 0.5], [0.4, 0.6]]})
    broken("overlapping-timeline", stages=first["stages"] | {"timelines": {"key": "audit-artifacts/overlap/timelines.json"}})
    store.put_bytes("audit-artifacts/outside/tracks.parquet",
                    _tracks_parquet([{"track_id": 1, "t": 0.0, **BOX}, {"track_id": 1, "t": 0.2, **BOX, "x2": 400.0}]))
    broken("box-outside-frame", stages=first["stages"] | {"tracks": {"key": "audit-artifacts/outside/tracks.parquet"}})
    return store


EXPECTED = {
    "wrong-sha": "output_sha256_matches",
    "truncated": "output_size_matches",
    "negative-duration": "durations_positive",
    "overlapping-timeline": "timeline_non_overlapping",
    "box-outside-frame": "track_box_inside_frame",
}


def test_a_clean_batch_passes(batches):
    summary = audit(prefix=CLEAN, sample=5)
    assert summary["clips"] == 2 and summary["failed"] == 0 and summary["failures"] == []
    assert summary["sampled"] == ["audit-0", "audit-1"]
    html = batches.get_bytes(summary["report_key"]).decode()
    assert summary["report_key"].startswith("audits/") and "PASS" in html


def test_each_hand_broken_clip_is_flagged_by_the_right_expectation(batches):
    state = audit(prefix=BROKEN, sample=10, return_state=True)
    assert state.is_failed()
    error = state.result(raise_on_failure=False)
    assert isinstance(error, AuditFailed), error
    failed = error.summary["failed_clips"]
    assert set(failed) == set(EXPECTED), failed
    for clip_id, check in EXPECTED.items():
        assert check in failed[clip_id], f"{clip_id}: {failed[clip_id]}"
    assert "output_sha256_matches" not in failed["negative-duration"]
    html = batches.get_bytes(error.summary["report_key"]).decode()
    for clip_id, check in EXPECTED.items():
        assert clip_id in html and check in html
    assert "control" not in str(failed) and "FAIL: 5 of 6 clips" in html


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(audit_command)
    return app


def test_cli_exits_1_on_failures_and_writes_report_and_export(batches, tmp_path):
    report, export = tmp_path / "report.html", tmp_path / "manifests.parquet"
    result = CliRunner().invoke(_cli(), ["--prefix", BROKEN, "--sample", "0", "--report", str(report),
                                         "--export", str(export)])
    assert result.exit_code == 1, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line == {"clips": 6, "failed": 3, "report": str(report), "export": str(export)}
    assert "track_box_inside_frame" in report.read_text()
    exported = pd.read_parquet(export)
    assert sorted(exported["clip_id"]) == sorted(["control", *EXPECTED])
    assert json.loads(exported.set_index("clip_id").loc["control", "manifest_json"])["clip_id"] == "control"


def test_cli_since_filters_and_exits_0(batches, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(_cli(), ["--prefix", BROKEN, "--since", "2999-01-01"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["clips"] == 0 and line["failed"] == 0 and line["export"] is None
    assert Path(line["report"]) == tmp_path / "audit-report.html" and Path(line["report"]).is_file()
