"""Stage documents: one definition of the track row, exact conversions, the manifest's stage summaries."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pyarrow.parquet as pq
import pytest

from clipmill.artifacts.document import parse
from clipmill.artifacts.results import AudioStages, JobStages, StageResult
from clipmill.artifacts.stages import EditPlanDocument, FramingDocument, TrackRow, TrackRowsDocument
from clipmill.edit.edl import EditPlan, EditSegment
from clipmill.errors import ContractViolation
from clipmill.timebase import FrameRate
from clipmill.vision.chunks import TABLE_COLUMNS, table_to_tracks, tracks_to_table
from clipmill.vision.faces_io import write_tracks
from clipmill.vision.framing import FramingPath
from clipmill.vision.tracking import Track

TRACKS = [
    Track(1, [0.0, 0.04, 0.08], [[10, 20, 50, 70]] * 3, [0.9, 0.5, 0.8], [True, False, True]),
    Track(4, [0.5], [[1.5, 2.5, 30.25, 40.75]], [1.0]),
]


def test_the_track_row_contract_is_derived_from_the_track_table():
    assert list(TrackRow.model_fields) == list(TABLE_COLUMNS)
    table = tracks_to_table(TRACKS)
    assert list(table) == list(TABLE_COLUMNS)
    assert {name: column.dtype for name, column in table.items()} == {n: np.dtype(t) for n, t in TABLE_COLUMNS.items()}
    rows = [{name: column[i].item() for name, column in table.items()} for i in range(len(table["t"]))]
    document = TrackRowsDocument(rows=rows)
    back = table_to_tracks({name: np.array([getattr(row, name) for row in document.rows]) for name in TABLE_COLUMNS})
    for before, after in zip(TRACKS, back, strict=True):
        assert after.id == before.id
        np.testing.assert_array_equal(after.times, before.times)
        np.testing.assert_array_equal(after.xyxy, before.xyxy)
        np.testing.assert_array_equal(after.confidence, before.confidence)
        np.testing.assert_array_equal(after.observed, before.observed)


def test_the_stored_track_file_has_exactly_the_table_columns(tmp_path):
    schema = pq.read_schema(write_tracks(TRACKS, tmp_path / "tracks.parquet"))
    assert schema.names == list(TABLE_COLUMNS)


def test_a_track_row_outside_its_rules_is_named():
    with pytest.raises(ContractViolation, match=r"^t\.parquet breaks data_contracts/tracks\.schema\.json: "
                                                r"rows\.0\.confidence: Input should be less than or equal to 1"):
        parse(TrackRowsDocument, {"rows": [{"track_id": 1, "t": 0.0, "x1": 0, "y1": 0, "x2": 1, "y2": 1,
                                            "confidence": 1.5}]}, where="t.parquet")


def _plan() -> EditPlan:
    return EditPlan(segments=(EditSegment(0, 36), EditSegment(45, 75, 2)), rate=FrameRate.parse("30000/1001"),
                    source_duration_s=3.0, removed_silence_frames=9, sped_up_silence_frames=30)


def test_the_edit_plan_document_is_the_plan_and_its_summary_the_manifests():
    plan = _plan()
    document = parse(EditPlanDocument, EditPlanDocument.of(plan).to_json(), where="edl.json")
    assert document.plan() == plan
    assert document.schema_version == "2" and document.segments == [(0, 36, 36), (45, 75, 15)]
    assert document.manifest_summary() == {
        "fps": "30000/1001", "source_duration_s": 3.0, "output_frames": 51, "output_duration_s": 1.7017,
        "reduction_pct": round(100 * (1 - 51 * 1.001 / 30 / 3), 3), "removed_silence_s": 0.3,
        "sped_up_silence_s": 1.001, "removed_filler_s": 0.0, "segments": 2,
    }


def _path(*, composite: bool) -> FramingPath:
    sizes = {"w": np.array([100, 90]), "h": np.array([178, 160]), "source_width": 640, "source_height": 360} if composite else {}
    return FramingPath(aspect="9:16", fps="25/1", crop_width=100, crop_height=178, out_width=608, out_height=1080,
                       x=np.array([3, 4]), y=np.array([0, -2]), subject_inside_share=1.0, tracked_frames=2, jerk=0.5,
                       **sizes)


@pytest.mark.parametrize("composite", [False, True])
def test_the_framing_document_is_the_path_and_keeps_its_shape(composite):
    path = _path(composite=composite)
    document = parse(FramingDocument, FramingDocument.of(path).to_json(), where="framing.json")
    assert document.path().to_dict() == path.to_dict()
    stored = document.model_dump(exclude_none=True, exclude={"schema_version"})
    assert stored == path.to_dict(), "the stored document has the shape framing.json always had"
    assert document.manifest_summary() == {k: v for k, v in path.to_dict().items() if k not in ("x", "y", "w", "h")}
    assert float(Fraction(document.fps)) == 25.0


def test_job_stages_give_the_manifest_its_stages_in_order():
    result = StageResult("k", {"n": 1})
    audio = AudioStages(profile=result, speech=result, silences=result, fillers=result, timelines=StageResult("t"))
    stages = JobStages(audio=audio, edit=StageResult("e", {"segments": 2}), timeline=StageResult("o")).to_manifest()
    assert list(stages) == ["profile", "speech", "silences", "fillers", "timelines", "edit", "timeline"]
    assert stages["timelines"] == {"key": "t"} and stages["edit"] == {"key": "e", "segments": 2}
    assert JobStages(tracks=result, edit=result).to_manifest() == {
        "audio": {"status": "no audio track"}, "tracks": {"key": "k", "n": 1}, "edit": {"key": "k", "n": 1}}


def test_a_version_1_edit_plan_in_seconds_reads_on_the_frame_grid():
    stored = {"schema_version": "1", "fps": "2997/100", "source_duration_s": 5.0, "output_duration_s": 4.0,
              "reduction_pct": 20.0, "removed_silence_s": 0.133467, "sped_up_silence_s": 1.001, "removed_filler_s": 0.0,
              "segments": [[0.0, 1.368035, 1.0], [1.501502, 3.53687, 1.0], [3.53687, 4.537871, 2.0]]}
    document = parse(EditPlanDocument, stored, where="old/edl.json")
    assert document.schema_version == "2" and document.segments == [(0, 41, 41), (45, 106, 61), (106, 136, 15)]
    assert (document.removed_silence_frames, document.sped_up_silence_frames, document.output_frames) == (4, 30, 117)
    with pytest.raises(ContractViolation, match=r"old/edl\.json breaks .*segments"):
        parse(EditPlanDocument, {**stored, "segments": [[0.0, 1.0, 0.0]]}, where="old/edl.json")
