"""A built manifest validates, and validation names what is wrong (the schema's drift test is in test_contracts)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from clipmill.errors import ContractViolation
from clipmill.manifest import (
    OutputFile, RequestSection, SourceSection, build_manifest, check_consistency, validate_manifest,
)


def _manifest(duration_s: float = 11.76):
    return build_manifest(
        clip_id="talk-0123456789ab", job_id="0" * 32, created_at=datetime(2026, 11, 25, tzinfo=timezone.utc),
        flow_run_id=None,
        source=SourceSection(uri="/m/talk.mp4", sha256="a" * 64, size_bytes=10, probe={"duration_s": 33.0}),
        request=RequestSection(start_s=4.5, end_s=16.25, options={"crf": 20}),
        output=OutputFile(
            key="clips/talk.mp4", uri="s3://b/clips/talk.mp4", sha256="b" * 64, size_bytes=5, duration_s=duration_s,
            video_codec="h264", audio_codec="aac", pix_fmt="yuv420p", width=360, height=288, fps="25/1",
        ),
        versions={"clipmill": "0.1.0"}, timings_s={"extract": 0.123456},
    )


def test_a_built_manifest_validates():
    manifest = _manifest()
    validate_manifest(json.loads(manifest.to_json()))
    assert manifest.timings_s == {"extract": 0.1235}


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        (("outputs", 0, "sha256"), "not-a-hash", "outputs/0/sha256"),
        (("outputs", 0, "duration_s"), -1.0, "outputs/0/duration_s"),
        (("outputs", 0, "video_codec"), "mpeg4", "outputs/0/video_codec"),
        (("job_id",), "short", "job_id"),
        (("request", "start_s"), -3, "request/start_s"),
    ],
)
def test_broken_manifests_are_rejected_naming_the_field(path, value, needle):
    document = json.loads(_manifest().to_json())
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(ContractViolation) as error:
        validate_manifest(document)
    assert needle in str(error.value)


def test_missing_required_section_is_rejected():
    document = json.loads(_manifest().to_json())
    del document["source"]
    with pytest.raises(ContractViolation, match="'source' is a required property"):
        validate_manifest(document)


def test_clip_duration_must_match_the_request_within_a_frame():
    check_consistency(_manifest(11.76), frame_s=0.04)
    with pytest.raises(ContractViolation, match="differs from the requested 11.750 s"):
        check_consistency(_manifest(11.85), frame_s=0.04)
