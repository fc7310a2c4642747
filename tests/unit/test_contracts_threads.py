"""Two clips validated at the same moment from two threads each get their own verdict.

A library batch runs `max_concurrency` clip jobs as threads of one process, so two
``validate-contracts`` tasks can run Great Expectations at once. Real GE, real suites, real
documents: a clean clip and a broken one validated side by side, started together on a barrier,
must each report exactly what they report alone.
"""

from __future__ import annotations

import threading

from clipmill.artifacts.stages import TimelinesDocument
from clipmill.quality.frames import manifests_to_frame, timelines_to_frame, tracks_to_frame
from clipmill.quality.results import QualityReport
from clipmill.quality.validate import validate_frames
from tests.unit.test_contracts import _document

ITERATIONS = 2
BOX = {"x1": 10.0, "y1": 10.0, "x2": 50.0, "y2": 60.0, "confidence": 0.9}


def _clip_tables(clip_id: str, *, broken: bool) -> dict:
    """The tables `tasks.validate.validate_contracts` builds for one clip: manifest, timelines, tracks."""
    manifest = _document(clip_id=clip_id, **({"outputs__0__video_codec": "hevc"} if broken else {}))
    speech = [(0.1, 0.5), (0.4, 0.8)] if broken else [(0.1, 0.5), (0.6, 0.8), (1.0, 1.4)]
    timelines = TimelinesDocument(segment_duration_s=2.0, speech=speech, silences=[(0.8, 1.0)])
    tracks = [{"track_id": 1, "t": round(0.2 * i, 1), **BOX} for i in range(8 if broken else 5)]
    if broken:
        tracks[3] = {**tracks[3], "x2": 400.0}
    return {
        "manifests": manifests_to_frame([manifest]),
        "timelines": timelines_to_frame({clip_id: timelines.model_dump()}),
        "tracks": tracks_to_frame({clip_id: tracks}, {clip_id: (360, 288)}),
    }


def _verdict(report: QualityReport) -> list[tuple]:
    """What a report says, without timings: each failure's suite, check, clips and failing rows."""
    return sorted((f.suite, f.check, f.clip_ids, f.unexpected_count, repr(f.rows), f.error) for f in report.failures)


def test_two_clips_validated_at_once_each_get_their_own_result():
    clips = {"clean": _clip_tables("talk-clean", broken=False), "broken": _clip_tables("talk-broken", broken=True)}
    alone = {name: _verdict(validate_frames(tables)) for name, tables in clips.items()}
    assert alone["clean"] == []
    assert {(suite, check) for suite, check, clip_ids, *_ in alone["broken"]} == {
        ("manifests", "video_codec_allowed"), ("manifests", "manifest_schema_valid"), ("timelines", "timeline_non_overlapping"),
        ("tracks", "track_box_inside_frame"),
    }
    assert {clip_ids for _, _, clip_ids, *_ in alone["broken"]} == {("talk-broken",)}

    mixed_up = []
    for iteration in range(ITERATIONS):
        barrier = threading.Barrier(len(clips))
        together: dict[str, list[tuple] | BaseException] = {}

        def validate(name: str) -> None:
            barrier.wait()
            try:
                together[name] = _verdict(validate_frames(clips[name]))
            except Exception as exc:  # a crash inside GE is a wrong result too: record it, fail below
                together[name] = exc

        threads = [threading.Thread(target=validate, args=(name,)) for name in clips]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        mixed_up += [(iteration, name, got) for name, got in together.items() if got != alone[name]]
    assert not mixed_up, f"{len(mixed_up)} of {ITERATIONS * len(clips)} concurrent validations differ from alone: " \
        f"{mixed_up[:2]}"
