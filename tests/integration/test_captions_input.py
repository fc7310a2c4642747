"""Bad transcripts are refused with exit 2 and a line that names the file's line; nothing is published.

Malformed SRT and a wrong encoding are caught by `clipmill run` before any server starts (CliRunner,
no store); a transcript whose cues lie past the source's end needs the probe, so it fails the flow
run (in-process, on the session's Prefect server and store) before anything is extracted.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from clipmill import process_clip
from clipmill.cli.commands import app
from clipmill.errors import InputError, ModelUnavailable

runner = CliRunner()
GOOD_CUE = "1\n00:00:01,000 --> 00:00:02,000\nhello\n\n"


@pytest.mark.parametrize(("content", "message"), [
    ((GOOD_CUE + "2\n00:00:0x,000 --> 00:00:03,000\nworld\n").encode(), "line 5: cannot read the SRT cue"),
    ((GOOD_CUE + "2\n00:00:03,000 --> 00:00:04,000\nd\xe9j\xe0 vu\n").encode("latin-1"), "line 7: byte 0xe9 is not utf-8"),
])
def test_malformed_or_wrongly_encoded_srt_exits_2_before_any_server(workdir, content, message):
    transcript = workdir / "talk.srt"
    transcript.write_bytes(content)
    result = runner.invoke(app, [
        "run", str(workdir / "grid_concat_11speakers_33s.mp4"), "--start", "3", "--end", "9",
        "--transcript", str(transcript), "--captions", "srt", "--out", str(workdir / "out"),
    ])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "talk.srt" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (workdir / "out").exists()
    assert transcript.read_bytes() == content


def test_captions_without_a_transcript_exit_2(workdir):
    result = runner.invoke(app, ["run", str(workdir / "grid_concat_11speakers_33s.mp4"), "--captions", "burn"])
    assert result.exit_code == 2 and "needs a transcript" in result.stderr


def test_cues_past_the_source_end_fail_the_run_and_publish_nothing(clip_env, workdir):
    transcript = workdir / "other.srt"
    transcript.write_text(GOOD_CUE + "2\n00:00:40,000 --> 00:00:42,500\nfrom a longer recording\n")
    with pytest.raises(InputError, match=r"other.srt' line 6: cue 40.000-42.500 s lies past the end of the source \(33"):
        process_clip(str(workdir / "grid_concat_11speakers_33s.mp4"), start=3, end=9, out_dir=workdir / "out",
                     transcript=str(transcript), captions="srt", detect_faces=False, preset="ultrafast",
                     clip_name="past-the-end")
    assert list(clip_env.list("clips/past-the-end")) == []


def test_transcription_without_a_local_model_names_the_setting(clip_env, workdir, monkeypatch):
    monkeypatch.delenv("CLIPMILL_WHISPER_MODEL", raising=False)
    with pytest.raises(ModelUnavailable, match="transcription=whisper needs a local Whisper-class model: set the "
                                               "environment variable CLIPMILL_WHISPER_MODEL"):
        process_clip(str(workdir / "grid_concat_11speakers_33s.mp4"), start=3, end=5, out_dir=workdir / "out",
                     transcription="whisper", captions="srt", detect_faces=False, clip_name="no-whisper")
    assert list(clip_env.list("clips/no-whisper")) == []


def test_srt_cues_become_a_vtt_beside_the_clip_through_sped_up_pauses(clip_env, workdir):
    import webvtt

    transcript = workdir / "talk.srt"
    transcript.write_text("1\n00:00:03,500 --> 00:00:05,000\nfirst words\n\n2\n00:00:06,000 --> 00:00:06,800\nsecond words\n")
    result = process_clip(str(workdir / "grid_concat_11speakers_33s.mp4"), start=3, end=7, out_dir=workdir / "out",
                          transcript=str(transcript), captions="vtt", speed_up_silence=True, remove_silence=False,
                          detect_faces=False, preset="ultrafast", clip_name="srt-to-vtt", export_otio=True)
    assert result.captions_path.name == "srt-to-vtt.vtt"
    assert result.manifest.stages["captions"]["published_key"] == "clips/srt-to-vtt.vtt"
    assert clip_env.exists("clips/srt-to-vtt.vtt")
    cues = list(webvtt.read(str(result.captions_path)))
    assert [c.text for c in cues] == ["first words", "second words"]
    times = [(c.start_in_seconds + int(c.start[-3:]) / 1000, c.end_in_seconds + int(c.end[-3:]) / 1000) for c in cues]
    assert 0 < times[0][0] <= 0.5 and times[0][1] < times[1][0] < times[1][1] <= result.duration_s + 1e-3
    edit = result.manifest.stages["edit"]
    assert edit["sped_up_silence_s"] > 0 and result.manifest.clip.duration_s < 7 - 3  # the clip, shorter than its range
    expected = [(_played_at(result.timeline_path, a), _played_at(result.timeline_path, b))
                for a, b in ((3.5, 5.0), (6.0, 6.8))]
    frame_s = 1 / 25
    assert all(abs(got - want) <= frame_s for pair, wanted in zip(times, expected) for got, want in zip(pair, wanted)), \
        (times, expected)


def _played_at(otio_path, source_s: float) -> float:
    """Where the published .otio plays source second `source_s`: its clip's record time plus the
    distance into the clip divided by the clip's time warp."""
    import opentimelineio as otio

    timeline = otio.adapters.read_from_file(str(otio_path))
    record = 0.0
    for clip in timeline.video_tracks()[0].find_clips():
        scalar = clip.effects[0].time_scalar if clip.effects else 1.0
        start = clip.source_range.start_time.to_seconds()
        played = clip.source_range.duration.to_seconds()
        if start - 1e-6 <= source_s <= start + played * scalar + 1e-6:
            return record + (source_s - start) / scalar
        record += played
    raise AssertionError(f"{source_s} s is cut")
