"""Key-frame and adaptive sampling through the real face stage on real media.

The committed GRID sample concatenates one talker every 3 s; its encoder put an I-frame on each
change of talker, so key-frame sampling finds each shot's face from its first frame. Both methods
must give one track per shot covering the whole shot, with fewer detections than uniform sampling
at the same rate.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from clipmill.errors import InputError
from clipmill.media import keyframe_times
from clipmill.vision.chunks import ChunkSpec
from clipmill.vision.faces_io import FaceOptions, detect_chunk

FPS = 25.0
CHUNK = ChunkSpec(0, 4.0, 9.0)  # frames 4.00-12.96 s: the end of one shot, three whole ones, one second of a fifth
SHOT_STARTS = [4.0, 6.0, 9.0, 12.0]


def test_keyframe_times_are_read_from_the_packets(tmp_path: Path) -> None:
    video = tmp_path / "forced.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4",
         "-c:v", "libx264", "-g", "1000", "-sc_threshold", "0", "-force_key_frames", "0,1.2,2.8",
         str(video)],
        check=True,
    )
    assert keyframe_times(video) == pytest.approx([0.0, 1.2, 2.8])
    assert keyframe_times(video, start_s=1.0, duration_s=1.5) == pytest.approx([1.2])
    with pytest.raises(InputError, match="does not exist"):
        keyframe_times(tmp_path / "missing.mp4")


@pytest.fixture(scope="module")
def tracks_by_method(sample_video: Path) -> dict[str, list]:
    out = {}
    for method in ("uniform", "keyframe", "adaptive"):
        config = FaceOptions(sampling=method).sampling_config()
        out[method] = detect_chunk(sample_video, CHUNK, fps=FPS, sampling=config)
    return out


@pytest.mark.parametrize("method", ["keyframe", "adaptive"])
def test_one_track_per_shot_with_fewer_detections_than_uniform(tracks_by_method, method) -> None:
    tracks = tracks_by_method[method]
    observed = {name: sum(int(t.observed.sum()) for t in trs) for name, trs in tracks_by_method.items()}
    print(f"\n[{method}] tracks {[(t.id, t.start, t.end, len(t)) for t in tracks]}; detections {observed}")
    assert [round(t.start, 2) for t in tracks] == SHOT_STARTS
    ends = [round(t.end, 2) for t in tracks]
    assert ends == [round(s - 1 / FPS, 2) for s in SHOT_STARTS[1:]] + [round(CHUNK.end_s - 1 / FPS, 2)]
    assert sum(len(t) for t in tracks) == CHUNK.n_frames(FPS)  # every frame has exactly one face
    assert observed[method] < 0.8 * observed["uniform"]
