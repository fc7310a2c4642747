"""The clip job flow end to end on a real Prefect server, real ffmpeg and a real S3 store."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
from pathlib import Path

import pytest

from clipmill import process_clip
from clipmill.errors import InputError, StorageError
from clipmill.manifest import validate_manifest
from flows.clip_job import clip_job
from tests import media_factory


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ffprobe_duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True, check=True, text=True,
    ).stdout
    return float(out)


def published(store) -> set[str]:
    return set(store.list("clips/"))


def test_clip_job_publishes_a_clip_and_a_valid_manifest(clip_env, workdir):
    source = workdir / "grid_concat_11speakers_33s.mp4"
    before = sha256(source)
    result = process_clip(str(source), start=4.5, end=16.25, out_dir=workdir / "out")

    assert result.clip_path.is_file() and result.manifest_path.is_file()
    document = json.loads(result.manifest_path.read_text())
    edit = document["stages"]["edit"]
    assert ffprobe_duration(result.clip_path) == pytest.approx(edit["output_duration_s"], abs=0.04 + 1e-6)
    assert edit["source_duration_s"] == 11.75 and edit["removed_silence_s"] > 0.5
    assert edit["output_duration_s"] == pytest.approx(11.75 - edit["removed_silence_s"], abs=0.04 + 1e-6)
    validate_manifest(document)
    assert document["outputs"][0]["sha256"] == sha256(result.clip_path)
    assert document["source"]["sha256"] == before == sha256(source)
    assert document["request"] == {"start_s": 4.5, "end_s": 16.25, "options": document["request"]["options"]}
    assert set(document["timings_s"]) >= {"probe", "extract_wait", "render", "speech", "silences", "fillers"}
    stages = document["stages"]
    assert 30 < stages["speech"]["share_pct"] < 90, stages["speech"]
    assert stages["silences"]["count"] >= 2, "the sample has pauses between GRID sentences"
    for stage in ("profile", "speech", "silences", "fillers"):
        assert clip_env.exists(stages[stage]["key"])
    assert document["flow_run_id"]
    # the sample's frames can be cut in place: faces read the source itself, so no intermediate segment is stored
    assert not clip_env.exists(document["stages"]["speech"]["key"].replace("speech.json", "segment.mp4"))
    assert {f"clips/{result.clip_id}.mp4", f"clips/{result.clip_id}.json"} <= published(clip_env)
    assert not result.reused


def test_rerunning_the_same_job_reuses_the_published_clip(clip_env, workdir):
    source = str(workdir / "grid_concat_11speakers_33s.mp4")
    first = process_clip(source, start=1.0, end=3.0, out_dir=workdir / "a", crf=28)
    again = process_clip(source, start=1.0, end=3.0, out_dir=workdir / "b", crf="28")
    assert again.reused and again.manifest.job_id == first.manifest.job_id
    assert sha256(again.clip_path) == sha256(first.clip_path)


def test_changing_only_edit_options_reuses_the_analysis(clip_env, workdir):
    source = str(workdir / "grid_concat_11speakers_33s.mp4")
    cut = process_clip(source, start=3.0, end=9.0, out_dir=workdir / "a")
    kept = process_clip(source, start=3.0, end=9.0, out_dir=workdir / "b", remove_silence=False)
    assert kept.manifest.job_id != cut.manifest.job_id
    assert kept.manifest.stages["speech"]["key"] == cut.manifest.stages["speech"]["key"]
    assert kept.manifest.stages["edit"]["removed_silence_s"] == 0.0
    assert kept.duration_s == pytest.approx(6.0, abs=0.04 + 1e-6)
    assert kept.duration_s - cut.duration_s > 0.5, "cutting the pauses shortens the clip"


def test_video_without_audio_still_makes_a_clip(clip_env, workdir, sample_video):
    silent = media_factory.without_audio(sample_video, workdir / "silent.mp4")
    result = process_clip(str(silent), start=0.5, end=4.5, out_dir=workdir / "out")
    assert result.manifest.clip.audio_codec is None
    assert result.manifest.stages["audio"] == {"status": "no audio track"}
    assert result.manifest.stages["edit"]["segments"] == 1
    assert result.duration_s == pytest.approx(4.0, abs=0.04 + 1e-6)


def test_object_store_source(clip_env, workdir, sample_video):
    clip_env.put_file("inbox/talk one.mp4", sample_video, content_type="video/mp4")
    uri = f"s3://{clip_env.bucket}/inbox/talk one.mp4"
    result = process_clip(uri, start=10.0, end=12.0, out_dir=workdir / "out", clip_name="talk-one")
    assert result.clip_id == "talk-one"
    assert result.manifest.source.uri == uri
    assert result.manifest.source.sha256 == sha256(sample_video)


def _fails(source: str, start, end, options=None):
    """Run the flow expecting failure: returns (exception, final state) of the failed flow run."""
    state = clip_job(source, start, end, options, return_state=True)
    assert state.is_failed(), f"flow run ended {state.type}, expected FAILED"
    return state.result(raise_on_failure=False), state


BAD_REQUESTS = {
    "missing file": (lambda d, s: str(d / "nope.mp4"), 1, 2, None, InputError, "does not exist"),
    "random bytes": (lambda d, s: str(media_factory.random_bytes(d / "noise.mp4")), 1, 2, None, InputError,
                     "is not readable media"),
    "index cut off": (lambda d, s: str(media_factory.truncated(s, d / "cut.mp4", fraction=0.5, faststart=False)),
                      1, 2, None, InputError, "corrupt, truncated or not media"),
    "data cut off": (lambda d, s: str(media_factory.truncated(s, d / "cut2.mp4", fraction=0.4, faststart=True)),
                     20, 30, None, InputError, "is truncated: its data ends at 12.5 s of 33.0 s"),
    "audio only": (lambda d, s: str(media_factory.audio_only(s, d / "a.wav")), 1, 2, None, InputError,
                   "has no video stream"),
    "start after end": (lambda d, s: str(s), 9, 3, None, InputError, "start (9.0 s) must be before end (3.0 s)"),
    "start equals end": (lambda d, s: str(s), 5, 5, None, InputError, "start (5.0 s) must be before end (5.0 s)"),
    "negative start": (lambda d, s: str(s), -2, 3, None, InputError, "start must be >= 0 s (got -2.0)"),
    "nan end": (lambda d, s: str(s), 1, math.nan, None, InputError, "end must be a finite number of seconds"),
    "end past duration": (lambda d, s: str(s), 10, 99, None, InputError,
                          "end (99.0 s) is past the end of the source (33.000 s)"),
    "unknown option": (lambda d, s: str(s), 1, 2, {"bogus": 1}, InputError, "bogus: unknown option (got 1)"),
    "bad option value": (lambda d, s: str(s), 1, 2, {"crf": 99}, InputError, "crf"),
    "http source": (lambda d, s: "http://127.0.0.1:1/a.mp4", 1, 2, None, InputError, "unsupported source"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS), ids=list(BAD_REQUESTS))
def test_bad_input_fails_the_run_clearly_and_publishes_nothing(case, clip_env, workdir, sample_video):
    make_source, start, end, options, error_class, message = BAD_REQUESTS[case]
    source = make_source(workdir, workdir / sample_video.name)
    local = Path(source)
    fingerprint = sha256(local) if local.is_file() else None
    before = published(clip_env)

    error, state = _fails(source, start, end, options)

    assert isinstance(error, error_class), f"{type(error).__name__}: {error}"
    assert message in str(error)
    assert message in state.message or message in str(error)
    assert published(clip_env) == before
    if fingerprint:
        assert sha256(local) == fingerprint


def test_unreachable_object_store_fails_clearly(clip_env, workdir, monkeypatch):
    before = published(clip_env)
    monkeypatch.setenv("CLIPMILL_STORAGE__ENDPOINT", "127.0.0.1:9")
    monkeypatch.setenv("CLIPMILL_STORAGE__CONNECT_TIMEOUT_S", "1")
    error, _ = _fails(str(workdir / "grid_concat_11speakers_33s.mp4"), 1, 2)
    assert isinstance(error, StorageError)
    assert "object store unreachable at http://127.0.0.1:9" in str(error)
    monkeypatch.undo()
    assert published(clip_env) == before
