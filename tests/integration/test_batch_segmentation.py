"""Library batches that cut at natural boundaries: `segmentation` auto (suggested clips) and windows
(edges snapped to pauses), for real: SeaweedFS, a Prefect server, ffmpeg, the clip-job subflows.
Every published clip's range starts and ends between the joined talk's words, its manifest says how
the range was chosen, and a clip job whose VAD is the analysis's cuts its speech from that analysis
(its published cut, read from the ``.otio``, enters no word)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from clipmill.analysis_slice import speech_in_range
from clipmill.artifacts.store import load
from clipmill.artifacts.suggestions import SourceAnalysisDocument, SuggestionDocument
from clipmill.contracts import checked_in_schema
from clipmill.timeline import Timeline
from clipmill.segment import LengthRange, suggest
from clipmill.segment_analysis import AnalysisSettings
from clipmill.sources import sha256_file
from clipmill.suggest import whole_source_analysis
from flows.clip_job import clip_job
from flows.library_batch import library_batch
from tests.quality.audio.talk import kept_from_otio
from tests.segment_media import joined_talk, talk_video

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

QUICK = {"remove_silence": False, "detect_faces": False, "preset": "ultrafast"}
TOLERANCE_S = 0.03


@pytest.fixture(scope="module")
def talk_library(shared_media, tmp_path_factory):
    folder = tmp_path_factory.mktemp("talk-library")
    words = joined_talk(shared_media, folder / "talk.wav", rounds=1)
    return talk_video(folder / "talk.wav", folder / "talk.mp4"), np.array([w[:2] for w in words])


def _published(store, summary: dict) -> list[dict]:
    assert summary["counts"]["failed"] == 0, summary["results"]
    return [json.loads(store.get_bytes(r["manifest_uri"].split("/", 3)[3])) for r in summary["results"]]


def _outside_words(manifests: list[dict], words: np.ndarray) -> None:
    for manifest in manifests:
        for edge in (manifest["request"]["start_s"], manifest["request"]["end_s"]):
            assert not ((words[:, 0] + TOLERANCE_S < edge) & (edge < words[:, 1] - TOLERANCE_S)).any(), edge


def _words_cut(clip_env, manifest: dict, words: np.ndarray, folder: Path) -> list[tuple[float, float]]:
    """Words of the range losing more than `TOLERANCE_S` in the published ``.otio``'s cut."""
    otio = clip_env.get_bytes(manifest["stages"]["timeline"]["key"])
    path = folder / f"{manifest['clip_id']}.otio"
    path.write_bytes(otio)
    start, end = manifest["request"]["start_s"], manifest["request"]["end_s"]
    removed = kept_from_otio(path).complement(start, end)
    inside = words[(words[:, 0] >= start) & (words[:, 1] <= end)]
    return [(a, b) for a, b in inside if Timeline([(a, b)]).intersect(removed).duration > TOLERANCE_S]


def test_auto_batches_cut_the_suggested_clips_and_say_why(clip_env, talk_library, tmp_path):
    video, words = talk_library
    prefix = f"library-auto/{uuid.uuid4().hex[:8]}/"
    clip_env.put_file(prefix + "talk.mp4", video, content_type="video/mp4")
    options = {**QUICK, "remove_silence": True, "export_otio": True}

    summary = library_batch(prefix=prefix, segmentation="auto", min_length_s=15.0, max_length_s=40.0, count=2,
                            options=options, max_concurrency=1)

    manifests = _published(clip_env, summary)
    assert len(manifests) == 2
    _outside_words(manifests, words)
    spans = sorted((m["request"]["start_s"], m["request"]["end_s"]) for m in manifests)
    assert spans[0][1] <= spans[1][0] and all(15 - 1e-3 <= b - a <= 40 + 1e-3 for a, b in spans)
    for manifest in manifests:
        selection = manifest["selection"]
        assert selection["policy"] == "auto" and 0 < selection["score"] <= 1
        assert {"speech_share", "dead_air_s", "start_pause_s"} <= set(selection["reasons"])
        suggestion = json.loads(clip_env.get_bytes(selection["suggestion_key"]))
        jsonschema.validate(suggestion, checked_in_schema(SuggestionDocument.contract))
        assert [manifest["request"]["start_s"], manifest["request"]["end_s"]] in [
            [c["start"], c["end"]] for c in suggestion["candidates"]]
        # the analysis heard energy, the clip jobs silero: they ran their own VAD on the range
        assert manifest["stages"]["speech"]["sliced_from"] is None
        assert manifest["stages"]["edit"]["removed_silence_s"] > 1.0
        assert _words_cut(clip_env, manifest, words, tmp_path) == []
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["clips-talk"])))
    table = next(a for a in artifacts if str(a.flow_run_id) == summary["flow_run_id"])
    assert [(row["start_s"], row["end_s"]) for row in json.loads(table.data)] == [
        (m["request"]["start_s"], m["request"]["end_s"]) for m in sorted(manifests, key=lambda m: -m["selection"]["score"])]


def test_window_batches_move_their_edges_into_pauses_and_reuse_the_analysis(clip_env, talk_library):
    video, words = talk_library
    prefix = f"library-windows/{uuid.uuid4().hex[:8]}/"
    clip_env.put_file(prefix + "talk.mp4", video, content_type="video/mp4")
    analyses_before = set(clip_env.list("analyses/"))

    summary = library_batch(prefix=prefix, window_s=35.0, options=QUICK, max_concurrency=1)

    manifests = _published(clip_env, summary)
    assert len(manifests) == 2
    _outside_words(manifests, words)
    inner = sorted(m["request"]["start_s"] for m in manifests)[1]
    assert inner != 35.0 and abs(inner - 35.0) < 35.0 / 2
    assert all(m["selection"]["policy"] == "windows" and m["selection"]["snapped"] for m in manifests)
    key = manifests[0]["selection"]["analysis_key"]
    assert key in analyses_before or not analyses_before, "the analysis the auto batch stored is reused"


def test_a_clip_job_cuts_its_speech_from_an_analysis_that_heard_its_vad(clip_env, talk_library, tmp_path):
    video, words = talk_library
    stored = whole_source_analysis(clip_env, video, sha256_file(video)[0], AnalysisSettings(vad_backend="silero"))
    best = suggest(stored.analysis, LengthRange(15, 25), 1)[0]
    selection = {"policy": "auto", "score": best.score, "reasons": best.reasons, "analysis_key": stored.key}

    published = clip_job(str(video), best.start_s, best.end_s, {**QUICK, "remove_silence": True, "export_otio": True},
                         selection=selection)

    manifest = json.loads(clip_env.get_bytes(published["manifest_uri"].split("/", 3)[3]))
    _outside_words([manifest], words)
    assert manifest["selection"]["analysis_key"] == manifest["stages"]["speech"]["sliced_from"] == stored.key
    speech = json.loads(clip_env.get_bytes(manifest["stages"]["speech"]["key"]))
    analysis = load(clip_env, stored.key, SourceAnalysisDocument)
    sliced = speech_in_range(analysis, best.start_s, speech["duration_s"]).array
    kept = np.array(speech["intervals"])
    assert kept.shape == sliced.shape and np.allclose(kept, sliced, atol=1e-5), "the analysis's speech, not a VAD run"
    assert manifest["stages"]["edit"]["removed_silence_s"] > 1.0
    assert _words_cut(clip_env, manifest, words, tmp_path) == []


def test_batch_auto_refuses_a_bad_length_before_anything_starts():
    import typer
    from typer.testing import CliRunner

    from clipmill.cli.orchestrate import batch

    app = typer.Typer()
    app.command()(batch)
    result = CliRunner().invoke(app, ["library/", "--auto", "--length", "60-20"])
    assert result.exit_code == 2 and "MIN (60 s) is greater than MAX (20 s)" in result.stderr
