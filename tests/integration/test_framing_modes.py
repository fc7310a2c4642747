"""The two optional framing modes, rendered for real: ``widest`` keeps both GRID talkers in the 9:16
picture, ``letterbox`` shows a face-less clip whole over blurred bars. The frames are written as PNG
next to the test's files for a look. And the talker's mouth motion, decoded only where faces share the
screen, is what a decode of the whole clip gives there."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from clipmill import media
from clipmill.edit.edl import EditPlan, EditSegment
from clipmill.edit.render import filter_graph, framing_commands, framing_crop, render_args
from clipmill.media.encode import EncoderSettings
from clipmill.timebase import FrameRate
from clipmill.timeline import Timeline
from clipmill.vision.activity import shared_spans
from clipmill.vision.ensemble import load_ensemble
from clipmill.vision.faces_io import read_mouth_activity
from clipmill.vision.framing import FramingPath, FramingSettings, _talking_scores, plan_framing, subject_boxes
from clipmill.vision.tracking import track_faces

FPS = 25


def render(source: Path, path: FramingPath, folder: Path, *, seconds: float) -> Path:
    """Render `source` through `path` with the project's own graph, in one ffmpeg pass."""
    plan = EditPlan(segments=(EditSegment(0, round(seconds * FPS)),), rate=FrameRate(FPS), source_duration_s=seconds)
    commands, graph = folder / "crop.cmd", folder / "graph.txt"
    commands.write_text(framing_commands(path))
    graph.write_text(filter_graph(plan, has_audio=True, crop=framing_crop(path, commands)))
    output = folder / "framed.mp4"
    subprocess.run(render_args(source, output, graph, has_audio=True, settings=EncoderSettings(preset="ultrafast")),
                   check=True, capture_output=True)
    return output


def frames_at(video: Path, times: list[float], folder: Path) -> list[np.ndarray]:
    """RGB frames of `video` at `times`, each also saved as ``frame_<t>.png`` in `folder`."""
    info = media.probe(video)
    size = info.display_size
    frames = []
    for t in times:
        chunk = next(media.iter_frame_chunks(video, fps=FPS, size=size, chunk_frames=1, start_s=t, duration_s=0.1))
        frames.append(chunk.frames[0])
        cv2.imwrite(str(folder / f"frame_{t:.1f}.png"), cv2.cvtColor(chunk.frames[0], cv2.COLOR_RGB2BGR))
    return frames


def output_size(video: Path) -> tuple[int, int]:
    return media.probe(video).display_size


def sharpness(band: np.ndarray) -> float:
    """Variance of the Laplacian of a band's grey levels: high for detail, low for blur."""
    grey = cv2.cvtColor(band, cv2.COLOR_RGB2GRAY).astype(np.float64)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def test_mouth_motion_of_the_shared_stretch_alone_is_the_whole_decode_s(shared_media):
    video = shared_media / "video" / "derived" / "grid_two_faces_turns_6s.mp4"
    times = np.arange(6 * FPS) / FPS
    frames = np.concatenate([c.frames for c in media.iter_frame_chunks(video, fps=FPS, size=(720, 288))])
    detector = load_ensemble()
    try:
        left, right = sorted(track_faces(times, detector.detect(frames), frame_times=times), key=lambda t: t.xyxy[0, 0])
    finally:
        detector.close()
    inside = (right.times >= 2.0) & (right.times < 4.4)
    right = replace(right, times=right.times[inside], xyxy=right.xyxy[inside], confidence=right.confidence[inside],
                    observed=right.observed[inside])  # the second talker on screen for 2.4 s only
    settings = FramingSettings()
    spans = shared_spans([left, right], window_s=settings.talk_window_s, end_s=6.0, rate_hz=10.0)
    np.testing.assert_allclose(spans.to_list(), [[1.2, 5.2]])
    read = {name: read_mouth_activity(video, [left, right], spans=where, offset_s=0.0, size=(720, 288), fps=10.0)
            for name, where in (("whole", Timeline([(0.0, 6.0)])), ("shared", spans))}
    assert len(read["shared"][0]) == 40 and len(read["whole"][0]) == 60
    shared = (times >= 2.0) & (times < 4.4)
    scores = {name: _talking_scores(trace, times, settings) for name, trace in read.items()}
    for track_id in (left.id, right.id):
        np.testing.assert_allclose(scores["shared"][track_id][shared], scores["whole"][track_id][shared], rtol=1e-6)
    subjects = {name: subject_boxes([left, right], len(times), FrameRate(FPS), activity=trace, settings=settings)[1]
                for name, trace in read.items()}
    np.testing.assert_array_equal(subjects["shared"], subjects["whole"])
    assert set(subjects["whole"][shared]) == {left.id, right.id}, "the talkers take turns: mouth motion decides"


def test_widest_keeps_both_grid_talkers_in_the_vertical_picture(tmp_path, shared_media):
    video = shared_media / "video" / "derived" / "grid_two_faces_turns_6s.mp4"
    times, frames = [], []
    for chunk in media.iter_frame_chunks(video, fps=FPS, size=(720, 288)):
        times.append(chunk.times_s)
        frames.append(chunk.frames)
    times, frames = np.concatenate(times), np.concatenate(frames)
    detector = load_ensemble()
    try:
        tracks = track_faces(times, detector.detect(frames), frame_times=times)
        assert len(tracks) == 2, "the frozen face is still a face"
        plan = EditPlan(segments=(EditSegment(0, 6 * FPS),), rate=FrameRate(FPS), source_duration_s=6.0)
        path = plan_framing(tracks, width=720, height=288, plan=plan, aspect="9:16",
                            settings=FramingSettings(two_people="widest"))
        assert path.composite and path.letterbox.all(), "360 px apart: more than a 162 px wide window holds"
        assert path.subject_inside_share >= 0.98
        output = render(video, path, tmp_path, seconds=6.0)
        assert output_size(output) == (162, 288)
        for picture in frames_at(output, [0.5, 2.0, 4.5], tmp_path):
            enlarged = cv2.resize(picture, (648, 1152), interpolation=cv2.INTER_CUBIC)
            found = detector.detect(enlarged[None])[0]
            centres = (found.xyxy[:, 0] + found.xyxy[:, 2]) / 2
            assert len(found.xyxy) == 2, f"both talkers are in the picture (found {len(found.xyxy)})"
            assert centres.min() < 324 < centres.max(), "one on each side"
    finally:
        detector.close()


def test_a_faceless_clip_is_letterboxed_over_its_blurred_self(tmp_path):
    source = tmp_path / "testsrc.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(source)], check=True)
    plan = EditPlan(segments=(EditSegment(0, 3 * FPS),), rate=FrameRate(FPS), source_duration_s=3.0)
    path = plan_framing([], width=640, height=360, plan=plan, aspect="9:16",
                        settings=FramingSettings(no_face="letterbox"))
    assert path.letterbox.all()
    output = render(source, path, tmp_path, seconds=3.0)
    assert output_size(output) == (path.out_width, path.out_height) == (202, 360)
    for picture in frames_at(output, [0.5, 2.0], tmp_path):
        middle, top, bottom = picture[135:225], picture[10:100], picture[260:350]
        print(f"sharpness: middle {sharpness(middle):.0f}, top {sharpness(top):.0f}, bottom {sharpness(bottom):.0f}")
        assert sharpness(middle) > 10 * max(sharpness(top), sharpness(bottom))
        assert top.std() > 5 and bottom.std() > 5, "the bars are the picture blurred, not a flat colour"
