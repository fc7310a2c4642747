"""`clipmill analyze`: one JSON object, times on the source's timeline, audio-only sources accepted."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from clipmill.cli.commands import app
from tests import media_factory

runner = CliRunner()


def _analyze(*args: str):
    return runner.invoke(app, ["analyze", *args])


def test_analyze_prints_the_stable_json_shape_on_the_source_timeline(sample_video):
    result = _analyze(str(sample_video), "--start", "4.5", "--end", "16.25", "--vad", "energy")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"profile", "speech", "silences", "fillers"}
    assert {"noise_floor_db", "snr_db", "loudness_db", "clipping_ratio"} <= set(document["profile"])
    for kind in ("speech", "silences"):
        assert document[kind], f"no {kind} found in 11.75 s of GRID sentences"
        for start, end in document[kind]:
            assert 4.5 <= start < end <= 16.25
    for event in document["fillers"]:
        assert set(event) == {"start", "end", "label", "confidence"}
        assert 4.5 <= event["start"] < event["end"] <= 16.25
    speech = document["speech"]
    assert all(a[1] <= b[0] for a, b in zip(speech, speech[1:]))


def test_analyze_accepts_audio_only_files(tmp_path, sample_video):
    wav = media_factory.audio_only(sample_video, tmp_path / "speech.wav")
    result = _analyze(str(wav), "--vad", "webrtc")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["speech"]


def test_analyze_without_audio_exits_nonzero_saying_so(tmp_path, sample_video):
    silent = media_factory.without_audio(sample_video, tmp_path / "silent.mp4")
    result = _analyze(str(silent))
    assert result.exit_code == 2
    assert "has no audio track" in result.stderr


def test_analyze_rejects_an_unknown_backend_by_name(sample_video):
    result = _analyze(str(sample_video), "--vad", "magic")
    assert result.exit_code == 2
    assert "vad_backend" in result.stderr and "'magic'" in result.stderr
