"""The ffmpeg adapter on real media: probe, frame-accurate extraction, audio and frame decoding."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from clipmill import media
from clipmill.errors import InputError, InternalError, ToolError
from tests import media_factory


def stream_durations(path: Path) -> dict[str, float]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,duration", "-of", "json", str(path)],
        capture_output=True, check=True,
    ).stdout
    return {s["codec_type"]: float(s["duration"]) for s in json.loads(out)["streams"]}


def test_probe_reads_the_sample(sample_video):
    info = media.probe(sample_video)
    assert (info.width, info.height, info.fps, info.rotation) == (360, 288, "25/1", 0)
    assert info.duration_s == pytest.approx(33.0, abs=0.05)
    assert info.has_audio and info.audio_codec == "aac"
    assert info.frame_s == pytest.approx(0.04)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.mp4", "does not exist"),
        (lambda d: media_factory.empty(d / "empty.mp4"), r"is empty \(0 bytes\)"),
        (lambda d: media_factory.random_bytes(d / "noise.mp4"), "is not readable media"),
    ],
)
def test_probe_rejects_what_is_not_a_video(tmp_path, make, message):
    with pytest.raises(InputError, match=message):
        media.probe(make(tmp_path))


def test_probe_rejects_audio_only_files(tmp_path, sample_video):
    wav = media_factory.audio_only(sample_video, tmp_path / "speech.wav")
    with pytest.raises(InputError, match=r"has no video stream to cut: it holds audio \(pcm_s16le\); it is an audio file"):
        media.probe(wav)


def test_probe_rejects_an_mp4_whose_index_was_cut_off(tmp_path, sample_video):
    broken = media_factory.truncated(sample_video, tmp_path / "cut.mp4", fraction=0.5, faststart=False)
    with pytest.raises(InputError, match="corrupt, truncated or not media"):
        media.probe(broken)


@pytest.mark.parametrize(("start", "end"), [(4.5, 16.25), (0.0, 3.0), (30.02, 33.0), (7.13, 7.29)])
def test_extraction_is_frame_accurate_and_keeps_av_in_sync(tmp_path, sample_video, start, end):
    info = media.probe(sample_video)
    out = tmp_path / "segment.mp4"
    result = media.extract_segment(sample_video, out, info=info, start_s=start, end_s=end)
    assert abs(result.duration_s - (end - start)) <= info.frame_s
    durations = stream_durations(out)
    assert abs(durations["video"] - (end - start)) <= info.frame_s
    assert abs(durations["audio"] - durations["video"]) <= info.frame_s


def test_extraction_on_a_2997_fps_source_stays_on_the_frame_grid(tmp_path):
    source = media_factory.ntsc_test_pattern(tmp_path / "ntsc.mp4")
    info = media.probe(source)
    assert info.fps == "30000/1001"
    out = tmp_path / "segment.mp4"
    result = media.extract_segment(source, out, info=info, start_s=1.001, end_s=5.5)
    assert result.fps == "30000/1001"
    assert abs(result.duration_s - 4.499) <= info.frame_s


def test_extraction_of_a_truncated_range_is_an_input_error(tmp_path, sample_video):
    broken = media_factory.truncated(sample_video, tmp_path / "cut.mp4", fraction=0.5, faststart=True)
    info = media.probe(broken)
    with pytest.raises(InputError, match="truncated or corrupt in that range"):
        media.extract_segment(broken, tmp_path / "seg.mp4", info=info, start_s=20.0, end_s=30.0)


def test_video_without_audio_extracts_video_only(tmp_path, sample_video):
    silent = media_factory.without_audio(sample_video, tmp_path / "silent.mp4")
    info = media.probe(silent)
    assert not info.has_audio
    result = media.extract_segment(silent, tmp_path / "seg.mp4", info=info, start_s=1.0, end_s=4.0)
    assert not result.has_audio
    with pytest.raises(InputError, match="has no audio track"):
        media.decode_audio(silent, has_audio=False)


def test_decode_audio_gives_16k_mono_float(sample_video):
    samples = media.decode_audio(sample_video, has_audio=True)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) / 16000 == pytest.approx(33.0, abs=0.05)
    assert 0.01 < float(np.abs(samples).max()) <= 1.0


def test_streamed_audio_is_the_decoded_audio_in_pieces(sample_video):
    whole = media.decode_audio(sample_video, has_audio=True)
    pieces = list(media.stream_audio(sample_video, has_audio=True, chunk_samples=16000 * 10))
    assert [len(p) for p in pieces[:-1]] == [160_000] * 3 and 0 < len(pieces[-1]) < 160_000
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    with pytest.raises(InputError, match="has no audio track"):
        next(media.stream_audio(sample_video, has_audio=False, chunk_samples=16000))


def test_a_streamed_decode_that_fails_says_so_and_an_early_close_stops_ffmpeg(tmp_path, sample_video):
    import psutil

    broken = tmp_path / "noise.mp4"
    broken.write_bytes(np.random.default_rng(0).bytes(200_000))
    with pytest.raises(ToolError, match="decoding audio of noise.mp4 failed"):
        list(media.stream_audio(broken, has_audio=True, chunk_samples=16000))
    iterator = media.stream_audio(sample_video, has_audio=True, chunk_samples=16000)
    assert len(next(iterator)) == 16000
    iterator.close()
    ffmpegs = [p for p in psutil.Process().children(recursive=True) if p.name() == "ffmpeg"]
    assert not ffmpegs, "closing the iterator stops the decoder"


def test_the_suggestion_analysis_of_a_streamed_source_is_that_of_the_decoded_one(sample_video):
    from clipmill.segment_analysis import AnalysisSettings, chunk_length, measure_chunks, measure_long_audio, to_document

    settings = AnalysisSettings()
    whole = measure_long_audio(media.decode_audio(sample_video, has_audio=True), 16000, settings=settings, chunk_s=10.0)
    pieces = media.stream_audio(sample_video, has_audio=True, chunk_samples=chunk_length(16000, settings=settings, chunk_s=10.0))
    assert to_document(measure_chunks(pieces, 16000, settings=settings)) == to_document(whole)


def test_frame_chunks_are_bounded_and_timed(sample_video):
    chunks = list(media.iter_frame_chunks(sample_video, fps=5, size=(96, 72), chunk_frames=16, start_s=2.0, duration_s=6.0))
    assert [len(c) for c in chunks] == [16, 14]
    assert all(c.frames.shape[1:] == (72, 96, 3) and c.frames.dtype == np.uint8 for c in chunks)
    times = np.concatenate([c.times_s for c in chunks])
    np.testing.assert_allclose(times, 2.0 + np.arange(30) / 5)
    assert chunks[0].frames.std() > 10  # real picture content, not a blank frame


def test_grey_frames_are_the_luma_of_the_same_frames(sample_video):
    kwargs = {"fps": 5, "size": (96, 72), "chunk_frames": 8, "start_s": 2.0, "duration_s": 1.6}
    rgb = next(media.iter_frame_chunks(sample_video, **kwargs)).frames.astype(np.float64)
    grey = next(media.iter_frame_chunks(sample_video, pix_fmt="gray", **kwargs)).frames
    assert grey.shape == (8, 72, 96) and grey.dtype == np.uint8
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    assert np.corrcoef(luma.ravel(), grey.ravel().astype(np.float64))[0, 1] > 0.99
    with pytest.raises(InternalError, match="pix_fmt"):
        next(media.iter_frame_chunks(sample_video, pix_fmt="bgr24", **kwargs))


def test_yuv420p_frames_are_the_planes_of_the_same_frames(sample_video):
    import cv2

    kwargs = {"fps": 5, "size": (96, 72), "chunk_frames": 8, "start_s": 2.0, "duration_s": 1.6}
    rgb = next(media.iter_frame_chunks(sample_video, **kwargs)).frames
    i420 = next(media.iter_frame_chunks(sample_video, pix_fmt="yuv420p", **kwargs)).frames
    assert i420.shape == (8, 108, 96) and i420.dtype == np.uint8
    converted = np.stack([cv2.cvtColor(frame, cv2.COLOR_YUV2RGB_I420) for frame in i420])
    assert np.abs(converted.astype(np.int16) - rgb).mean() < 3  # ffmpeg's and OpenCV's BT.601, within rounding
    with pytest.raises(InternalError, match="even size"):
        next(media.iter_frame_chunks(sample_video, pix_fmt="yuv420p", **{**kwargs, "size": (95, 72)}))


def test_closing_the_frame_iterator_early_stops_ffmpeg(sample_video):
    iterator = media.iter_frame_chunks(sample_video, fps=25, size=(64, 48), chunk_frames=4)
    first = next(iterator)
    iterator.close()
    assert len(first) == 4


def test_a_resumed_reader_gives_the_frames_a_fresh_seek_gives(sample_video):
    from clipmill.media.frames import FrameReader, ReaderShelf

    kwargs = {"fps": 25, "size": (96, 72), "pix_fmt": "yuv420p"}
    reader = FrameReader(sample_video, start_s=2.0, duration_s=4.0, chunk_frames=16, keep_frames=8, **kwargs)
    first = reader.read(20)
    assert len(first) == 16 and reader.read(4).frames.shape == (4, 108, 96)
    shelf = ReaderShelf()
    shelf.park(reader)
    key = FrameReader.key_of(sample_video, ffmpeg="ffmpeg", **kwargs)
    assert shelf.take(key, 2.0 + 25 / 25) is None  # five frames ahead of it: not a frame it kept
    resumed = shelf.take(key, 2.0 + 16 / 25)  # four frames back: chunks sharing frames
    assert resumed is reader and shelf.take(key, 2.64) is None
    again = [resumed.read(), resumed.read()]
    fresh = next(media.iter_frame_chunks(sample_video, start_s=2.64, duration_s=0.8, chunk_frames=20, **kwargs))
    np.testing.assert_array_equal(np.concatenate([c.frames for c in again])[:20], fresh.frames)
    np.testing.assert_allclose(np.concatenate([c.times_s for c in again])[:20], fresh.times_s, atol=1e-9)
    assert again[0].times_s[0] == 2.64
    reader.close()
