"""Identity on real faces: the 11-talker GRID concatenation, one talker recorded twice.

``grid_concat_11speakers_33s.mp4`` holds 11 GRID clips of 3 s in alphabetical order; clips 3
(id2_vcd_swwp2s, 6-9 s) and 8 (pwij3p, 21-24 s) show the same grey-haired man (checked by eye on
extracted frames). With identity on, that pair shares one id and the other nine keep their own.
Distances are printed (run with ``-s``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from clipmill.face_range import detect_range, label_range
from clipmill.vision.chunks import plan_chunks, stitch_chunks
from clipmill.vision.faces_io import FaceOptions, detect_chunk
from clipmill.vision.identity import IDENTITY_THRESHOLDS, cosine_distances

pytest.importorskip("dlib")

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "samples" / "grid_concat_11speakers_33s.mp4"
GRID = REPO.parent / "shared" / "media" / "video" / "grid"
SAME_MAN = (2, 7)  # clip positions of id2_vcd_swwp2s and pwij3p

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clip_tracks():
    """Tracks per 3 s clip, each with its dlib embedding, before re-identification."""
    if not SAMPLE.is_file():
        pytest.skip(f"{SAMPLE} missing")
    options = FaceOptions(identity="dlib")
    per_chunk = [
        detect_chunk(
            SAMPLE, spec, fps=25.0, source_size=(360, 288), ensemble_config=options.ensemble_config(),
            sampling=options.sampling_config(), identity="dlib",
        )
        for spec in plan_chunks(33.0, fps=25.0)
    ]
    return per_chunk


def test_same_man_shares_one_id_others_stay_distinct(clip_tracks):
    plain = stitch_chunks(clip_tracks)
    assert [round(tr.start) for tr in plain] == list(range(0, 33, 3)), "one track per clip expected"
    emb = np.stack([tr.embedding for tr in plain])
    dist = cosine_distances(emb, emb)
    others = dist[~np.eye(len(dist), dtype=bool)].reshape(len(dist), -1)
    pair = dist[SAME_MAN]
    off = dist.copy()
    off[SAME_MAN], off[SAME_MAN[::-1]] = np.inf, np.inf
    np.fill_diagonal(off, np.inf)
    print(f"\nsame man (clips 3, 8): {pair:.3f}; different people: min {off.min():.3f}, "
          f"median {np.median(others[np.isfinite(others)]):.3f}, max {others.max():.3f}")
    with np.printoptions(precision=2, suppress=True, linewidth=160):
        print(dist)
    threshold = IDENTITY_THRESHOLDS["dlib"]
    assert pair < threshold < off.min()

    people = stitch_chunks(clip_tracks, reid_threshold=threshold)
    print("ids:", [(tr.id, round(tr.start, 1), round(tr.end, 1), len(tr)) for tr in people])
    assert len(people) == 10
    man = [tr for tr in people if tr.at(7.0) is not None]
    assert len(man) == 1 and man[0].at(22.0) is not None
    assert all(tr.at(22.0) is None for tr in people if tr.id != man[0].id)


def test_identify_labels_talker_from_photo_of_another_recording(tmp_path):
    """References: a frame of pwij3p.mpg (outside the tested 0-21 s) and of swiz3n.mpg (not in range)."""
    refs = {}
    for name, clip in (("grey_man", "pwij3p"), ("swiz", "swiz3n")):
        source = GRID / f"{clip}.mpg"
        if not source.is_file():
            pytest.skip(f"{source} missing")
        refs[name] = tmp_path / f"{clip}.png"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-ss", "1.0", "-i", str(source), "-frames:v", "1",
             str(refs[name])],
            check=True,
        )
    options = FaceOptions(identity="dlib", identify=tuple(refs.items()))
    tracks, *_ = detect_range(SAMPLE, start=0.0, end=21.0, options=options, fps=None)
    labels = label_range(tracks, options)
    print("\nlabels:", {tr.id: (round(tr.start, 1), labels.get(tr.id)) for tr in tracks})
    assert len(tracks) == 7
    assert labels == {next(tr.id for tr in tracks if tr.at(7.0) is not None): "grey_man"}
