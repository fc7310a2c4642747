"""`clipmill suggest` on real speech: the word-aligned recordings joined into one talk, and the real
720p videos joined end to end. Every clip edge must lie outside every word (±30 ms), every length
within the bounds, no two suggested clips may overlap, and the window policy's snapped edges obey
the same rule. The analysis is stored by content in a real SeaweedFS store and reused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from typer.testing import CliRunner

from clipmill import media
from clipmill.audio.profile import compute_profile
from clipmill.audio.vad import detect_speech
from clipmill.artifacts.suggestions import SourceAnalysisDocument
from clipmill.batch import windows
from clipmill.cli.commands import app
from clipmill.contracts import checked_in_schema
from clipmill.segment import LengthRange, find_boundaries, propose, snap_windows
from clipmill.segment_analysis import AnalysisSettings
from clipmill.suggest import whole_source_analysis
from tests.segment_media import joined_talk, joined_video

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TOLERANCE_S = 0.03
REPO = Path(__file__).resolve().parents[2]


def suggest_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed `clipmill` command, as a user runs it (this checkout first on the path)."""
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    command = [str(Path(sys.executable).with_name("clipmill")), "suggest", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=240, check=False)


def suggest_here(*args: str) -> subprocess.CompletedProcess[str]:
    """The same command in this process (the imports are paid once), with the same result fields."""
    result = CliRunner().invoke(app, ["suggest", *args])
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def inside_words(times: list[float], words: np.ndarray) -> list[float]:
    """The times that fall inside a word by more than the tolerance."""
    return [t for t in times if ((words[:, 0] + TOLERANCE_S < t) & (t < words[:, 1] - TOLERANCE_S)).any()]


def check_candidates(candidates: list[dict], length: LengthRange, words: np.ndarray) -> None:
    edges = [c[k] for c in candidates for k in ("start", "end")]
    assert inside_words(edges, words) == []
    for c in candidates:
        assert length.min_s - 1e-3 <= c["end"] - c["start"] <= length.max_s + 1e-3
    spans = sorted((c["start"], c["end"]) for c in candidates)
    assert all(a[1] <= b[0] + 1e-9 for a, b in zip(spans, spans[1:])), spans


@pytest.fixture(scope="module")
def talk(shared_media: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("talk")
    words = joined_talk(shared_media, folder / "talk.wav")
    return folder / "talk.wav", np.array([w[:2] for w in words])


@pytest.fixture(scope="module")
def real_video(shared_media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return joined_video(shared_media, tmp_path_factory.mktemp("real") / "real.mp4", repeats=2)


def test_suggested_clips_of_the_joined_talk_start_and_end_between_words(seaweed, talk):
    path, words = talk
    result = suggest_here(str(path), "--json", "--count", "10")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"source", "duration_s", "candidates"}
    assert document["duration_s"] == pytest.approx(media.probe_audio(path).duration_s, abs=0.01)
    candidates = document["candidates"]
    assert len(candidates) >= 3
    assert all(set(c) == {"start", "end", "score", "reasons"} for c in candidates)
    assert {"speech_share", "dead_air_s", "speaking_rate", "energy_db", "start_pause_s", "ends_falling"} <= set(
        candidates[0]["reasons"])
    check_candidates(candidates, LengthRange(20, 60), words)


def test_no_proposed_edge_and_no_snapped_window_edge_falls_inside_a_word(seaweed, talk):
    path, words = talk
    analysis = whole_source_analysis(seaweed, path, _sha256(path), AnalysisSettings()).analysis
    for length in (LengthRange(20, 60), LengthRange(10, 30)):
        every = [c.to_json() for c in propose(analysis, length)]
        assert len(every) >= 5
        edges = [c[k] for c in every for k in ("start", "end")]
        assert inside_words(edges, words) == []
        assert all(length.min_s - 1e-3 <= c["end"] - c["start"] <= length.max_s + 1e-3 for c in every)
    bounds = find_boundaries(analysis)
    for window_s in (20.0, 30.0, 45.0):
        plain = [a for a, _ in windows(analysis.duration_s, window_s=window_s)] + [analysis.duration_s]
        snapped = snap_windows(analysis.duration_s, plain, bounds)
        assert inside_words(plain[1:-1], words), "the plain windows should cut words, or this test shows nothing"
        assert inside_words(snapped[1:-1], words) == []
        assert snapped == sorted(set(snapped))


def test_the_analysis_is_stored_by_content_and_reused(seaweed, talk, tmp_path):
    path, _ = talk
    renamed = tmp_path / "renamed-talk.wav"
    renamed.write_bytes(path.read_bytes())
    first = suggest_here(str(path), "--count", "2")
    again = suggest_here(str(renamed), "--count", "2", "--plot", str(tmp_path / "plot.png"))
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert "analysis reused" in again.stderr
    assert again.stdout.splitlines() == first.stdout.splitlines() and again.stdout.startswith("1. ")
    assert (tmp_path / "plot.png").stat().st_size > 10_000


def test_real_videos_joined_cut_between_words_and_on_their_shot_cuts(seaweed, real_video, shared_media):
    length = LengthRange(10, 30)
    result = suggest_here(str(real_video), "--json", "--count", "5", "--video", "--length", str(length))
    assert result.returncode == 0, result.stderr
    candidates = json.loads(result.stdout)["candidates"]
    assert len(candidates) >= 2
    assert all(0.9 <= c["reasons"]["one_face_share"] <= 1.0 for c in candidates)
    # No word labels for these videos: the words are the speech an independent VAD (webrtc) hears
    samples = media.decode_audio(real_video, has_audio=True)
    speech = detect_speech(samples, media.ANALYSIS_SAMPLE_RATE, backend="webrtc",
                           profile=compute_profile(samples, media.ANALYSIS_SAMPLE_RATE))
    check_candidates(candidates, length, speech.array)
    labels = json.loads((shared_media / "video/real/obama_wa_01-03_cuts.labels.json").read_text())
    stored = whole_source_analysis(seaweed, real_video, _sha256(real_video), AnalysisSettings(video=True))
    assert stored.reused
    # the stored analysis (shot cuts and faces measured) is the checked-in contract, read with jsonschema
    schema = checked_in_schema(SourceAnalysisDocument.contract)
    jsonschema.validate(json.loads(seaweed.get_bytes(stored.key)), schema, cls=jsonschema.Draft202012Validator)
    found = np.asarray(stored.analysis.cuts_s)
    first, second = (media.probe(shared_media / f"video/real/{name}.mp4").duration_s
                     for name in ("obama_wa_01-03_cuts", "obama_wa_06"))
    expected = [k * (first + second) + cut for k in range(2) for cut in [*labels["cuts_s"], first]]
    for cut in expected:  # sampled at 2 Hz: a cut is placed to within one sample period (0.5 s)
        assert np.min(np.abs(found - cut)) <= 0.5, (cut, found)


@pytest.mark.parametrize("args,needle", [
    (["--length", "60-20"], "MIN (60 s) is greater than MAX (20 s)"),
    (["--length", "ten-twenty"], "'ten-twenty'"),
    (["--length", "5"], "'5'"),
])
def test_bad_lengths_exit_2_with_one_line(seaweed, talk, args, needle):
    result = suggest_here(str(talk[0]), *args)
    assert result.returncode == 2 and needle in result.stderr
    assert result.stderr.strip().count("\n") == 0 and result.stdout == ""


def test_a_source_shorter_than_the_minimum_exits_2(seaweed, shared_media):
    short = shared_media / "video/real/obama_wa_06.mp4"
    result = suggest_cli(str(short))  # as a user runs it: the exit code of the real process
    assert result.returncode == 2, result.stderr
    assert "lasts 4.2" in result.stderr and "shorter than the shortest clip asked for (20 s)" in result.stderr
    assert not list(seaweed.list(f"analyses/{_sha256(short)}/")), "nothing is measured or stored for a bad request"


def _sha256(path: Path) -> str:
    from clipmill.sources import sha256_file

    return sha256_file(path)[0]
