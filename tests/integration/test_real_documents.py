"""The documents a real clip job stores match the checked-in contracts, and broken ones are named.

The schema-drift test (tests/unit/test_contracts.py) ties each schema file to its model; this one
ties the files to what a run really writes: a clip job with faces, a 9:16 crop and captions from a
transcript on the sample, every document it links from its manifest read back from the store and
validated with ``jsonschema`` against ``data_contracts/`` (not with the models), every contract file
used once.
"""

from __future__ import annotations

import io
import json

import jsonschema
import pandas as pd
import pytest

from clipmill import process_clip
from clipmill.artifacts.stages import EditPlanDocument, ProfileDocument
from clipmill.artifacts.store import cached, load, save
from clipmill.contracts import checked_in_schema, schema_files
from clipmill.errors import ContractViolation

#: Manifest stage -> the contract of the document its key points at.
STAGE_CONTRACTS = {
    "profile": "profile.schema.json",
    "speech": "speech.schema.json",
    "silences": "silences.schema.json",
    "fillers": "fillers.schema.json",
    "timelines": "timelines.schema.json",
    "edit": "edit_plan.schema.json",
    "framing": "framing.schema.json",
    "transcript": "transcript.schema.json",
    "captions": "captions.schema.json",
}
#: What the manifest's stages record, stage by stage: the shape other tools read, kept as it was.
STAGE_FIELDS = {
    "profile": {"noise_floor_db", "snr_db", "loudness_db", "clipping_ratio"},
    "speech": {"count", "total_s", "share_pct", "backend", "sliced_from"},
    "silences": {"count", "total_s", "share_pct", "threshold_db"},
    "fillers": {"count", "total_s", "labels", "backend"},
    "timelines": set(),
    "transcript": {"uri", "sha256", "cues", "format", "words_known", "cues_in_range", "words_in_range",
                   "fillers_in_range"},
    "tracks": {"n_tracks", "n_frames", "dominant_track_id"},
    "edit": {"fps", "source_duration_s", "output_duration_s", "output_frames", "reduction_pct", "removed_silence_s",
             "sped_up_silence_s", "removed_filler_s", "segments"},
    "framing": {"aspect", "fps", "crop_width", "crop_height", "out_width", "out_height", "subject_inside_share",
                "tracked_frames", "no_face_share", "worst_outside_frames", "worst_outside_s", "n_shots", "jerk"},
    "captions": {"format", "burned", "cues", "max_line_chars", "sidecar_key", "published_key"},
}
#: Two cues over the range the job cuts (GRID sentences, words untimed).
TRANSCRIPT = "1\n00:00:04,600 --> 00:00:05,900\nbin blue at f two now\n\n2\n00:00:06,100 --> 00:00:07,400\nlay red by g five soon\n"


def violations(document: dict, contract: str) -> list[str]:
    """What is wrong with `document` by the checked-in `contract` (validated with jsonschema, not the model)."""
    validator = jsonschema.Draft202012Validator(checked_in_schema(contract))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(document)]


def test_every_document_of_a_real_job_matches_its_checked_in_contract(clip_env, workdir):
    transcript = workdir / "talk.srt"
    transcript.write_text(TRANSCRIPT)
    result = process_clip(str(workdir / "grid_concat_11speakers_33s.mp4"), start=4.5, end=7.5,
                          out_dir=workdir / "out", reframe="9:16", transcript=str(transcript), captions="srt")
    manifest = json.loads(result.manifest_path.read_text())
    stages = manifest["stages"]
    assert list(stages) == list(STAGE_FIELDS)
    assert {stage: set(entry) - {"key"} for stage, entry in stages.items()} == STAGE_FIELDS
    documents = {"manifest.schema.json": manifest}
    for stage, contract in STAGE_CONTRACTS.items():
        documents[contract] = json.loads(clip_env.get_bytes(stages[stage]["key"]))
    tracks_key = stages["tracks"]["key"]
    documents["tracks_summary.schema.json"] = json.loads(clip_env.get_bytes(tracks_key.replace(".parquet", ".json")))
    rows = pd.read_parquet(io.BytesIO(clip_env.get_bytes(tracks_key))).to_dict("records")
    documents["tracks.schema.json"] = {"rows": rows}

    # segment-decode.json is written only for a damaged source (test_bad_media checks a real one), a
    # source's analysis and its suggestions only for suggestions (test_suggest checks real ones)
    unwritten = {"segment_decode.schema.json", "source_analysis.schema.json", "suggestions.schema.json"}
    assert sorted(documents) == sorted(set(schema_files()) - unwritten)
    assert rows and documents["framing.schema.json"]["x"], "the job found a face and framed it"
    assert documents["captions.schema.json"]["cues"], "the job captioned the clip"
    broken = {contract: found for contract, document in documents.items() if (found := violations(document, contract))}
    assert not broken, broken


def test_a_stored_document_that_breaks_its_contract_is_named_by_key_and_field(seaweed):
    key = "documents-test/edl.json"
    plan = {"schema_version": "2", "fps": "25/1", "source_duration_s": 2.0, "output_frames": 50, "output_duration_s": 2.0,
            "reduction_pct": 0.0, "removed_silence_frames": 0, "sped_up_silence_frames": 0, "removed_filler_frames": 0,
            "segments": [[0, 50, 0]]}
    seaweed.put_bytes(key, json.dumps(plan).encode())
    with pytest.raises(ContractViolation) as error:
        load(seaweed, key, EditPlanDocument)
    assert str(error.value).startswith(f"{key} breaks data_contracts/edit_plan.schema.json: segments.0.2: ")

    unreadable = EditPlanDocument.model_construct(**{**plan, "segments": [(0, 50, 50)], "fps": "fast"})
    with pytest.raises(ContractViolation, match=r"other\.json breaks .*: fps: String should match pattern"):
        save(seaweed, "documents-test/other.json", unreadable)
    assert not seaweed.exists("documents-test/other.json"), "nothing is written that would not read back"


def test_a_cached_stage_computes_once(seaweed):
    key, made = "documents-test/profile.json", []
    document = {"sample_rate": 16000, "duration_s": 1.0, "noise_floor_db": -60.0, "noise_floor_band_db": {"low": -70.0},
                "speech_band_energy_db": -30.0, "speech_level_db": -20.0, "snr_db": 40.0, "spectral_flatness": 0.1,
                "loudness_db": -25.0, "clipping_ratio": 0.0, "frame_s": 0.032, "hop_s": 0.01, "percentiles": [10, 95]}

    def make() -> ProfileDocument:
        made.append(1)
        return ProfileDocument.model_validate(document)

    first = cached(seaweed, key, ProfileDocument, make)
    again = cached(seaweed, key, ProfileDocument, make)
    assert made == [1] and again == first and again.snr_db == 40.0
