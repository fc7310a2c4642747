"""Identity: embedding helpers, re-identification and labels on synthetic embeddings; backend loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clipmill.errors import InputError, InternalError, ModelUnavailable
from clipmill.vision.chunks import merge_people, stitch_chunks
from clipmill.vision.faces_io import FaceOptions, read_tracks, write_tracks
from clipmill.vision.identity import (
    ARCFACE_MODEL_ENV,
    align_face,
    cosine_distances,
    label_tracks,
    load_embedder,
    reidentify,
    track_embedding,
)
from clipmill.vision.tracking import Track

D = 16


def unit(v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def person(k, noise=0.0, seed=0):
    """A unit vector near axis ``k``."""
    rng = np.random.default_rng(seed)
    v = np.zeros(D, np.float32)
    v[k] = 1.0
    return unit(v + noise * rng.standard_normal(D))


def track(track_id, start, end, embedding=None, x=0.0):
    times = np.arange(start, end, 0.5)
    xyxy = np.tile([x, 0, x + 10, 10], (len(times), 1))
    return Track(track_id, times, xyxy, np.ones(len(times)), None, embedding)


def test_track_embedding_is_normalised_mean():
    out = track_embedding(np.asarray([[2.0, 0, 0], [0, 3.0, 0]]))
    np.testing.assert_allclose(out, [np.sqrt(0.5), np.sqrt(0.5), 0], atol=1e-6)
    assert out.dtype == np.float32
    with pytest.raises(InternalError):
        track_embedding(np.zeros((0, 3)))


def test_cosine_distances():
    d = cosine_distances(np.asarray([[1.0, 0], [0, 2.0]]), np.asarray([[3.0, 0]]))
    np.testing.assert_allclose(d, [[0.0], [1.0]], atol=1e-9)


def test_reidentify_joins_same_person_separated_in_time():
    tracks = [
        track(1, 0, 3, person(0, 0.05, 1)),
        track(2, 3, 6, person(1, 0.05, 2)),
        track(3, 6, 9, person(0, 0.05, 3)),
        track(4, 9, 12, person(2, 0.05, 4)),
    ]
    assert reidentify(tracks, threshold=0.2) == {1: 1, 2: 2, 3: 1, 4: 3}


def test_reidentify_never_merges_tracks_overlapping_in_time():
    same = person(0)
    tracks = [track(1, 0, 5, same), track(2, 4, 8, same, x=50), track(3, 10, 12, same)]
    mapping = reidentify(tracks, threshold=0.5)
    assert mapping[1] != mapping[2]
    assert mapping[3] in (mapping[1], mapping[2])


def test_reidentify_constraint_holds_for_groups():
    """Track 3 may join 1 or 2, but once joined to one it cannot pull the other (they overlap)."""
    tracks = [track(1, 0, 5, person(0)), track(2, 4, 8, person(0), x=50), track(3, 10, 12, person(0))]
    mapping = reidentify(tracks, threshold=0.5)
    assert len(set(mapping.values())) == 2


def test_reidentify_respects_threshold():
    a, b = person(0), unit([1.0, 0.5] + [0.0] * (D - 2))  # cosine distance 1 - 2/sqrt(5) = 0.106
    tracks = [track(1, 0, 3, a), track(2, 4, 6, b)]
    assert reidentify(tracks, threshold=0.1) == {1: 1, 2: 2}
    assert reidentify(tracks, threshold=0.11) == {1: 1, 2: 1}


def test_reidentify_keeps_tracks_without_embedding_alone_and_numbers_by_first_appearance():
    tracks = [track(7, 5, 8, person(0)), track(3, 0, 2, None), track(9, 10, 12, person(0))]
    assert reidentify(tracks, threshold=0.5) == {3: 1, 7: 2, 9: 2}
    with pytest.raises(InternalError):
        reidentify(tracks + [track(7, 20, 21)], threshold=0.5)


def test_stitch_chunks_reidentifies_and_merges_people():
    chunks = [[track(1, 0, 3, person(0))], [track(1, 4, 6, person(1), x=100)], [track(1, 7, 9, person(0), x=200)]]
    assert [tr.id for tr in stitch_chunks(chunks)] == [1, 2, 3]
    merged = stitch_chunks(chunks, reid_threshold=0.2)
    assert [tr.id for tr in merged] == [1, 2]
    one = merged[0]
    np.testing.assert_allclose(one.times, np.concatenate([np.arange(0, 3, 0.5), np.arange(7, 9, 0.5)]))
    assert one.xyxy[-1, 0] == 200
    np.testing.assert_allclose(one.embedding, person(0), atol=1e-6)


def test_merge_people_embedding_is_mean_of_parts():
    merged = merge_people([track(1, 0, 1, person(0)), track(2, 2, 3, person(1))], {1: 1, 2: 1})
    np.testing.assert_allclose(merged[0].embedding[:2], [np.sqrt(0.5)] * 2, atol=1e-6)


def test_label_tracks_names_closest_reference_within_threshold():
    tracks = [track(1, 0, 3, person(0, 0.05, 1)), track(2, 3, 6, person(1, 0.05, 2)), track(3, 6, 9, None)]
    references = {"ann": person(0), "bob": person(2)}
    assert label_tracks(tracks, references, threshold=0.2) == {1: "ann"}
    assert label_tracks(tracks, {}, threshold=0.2) == {}
    assert label_tracks(tracks, references, threshold=0.0) == {}


def test_embeddings_round_trip_through_parquet(tmp_path):
    tracks = [track(1, 0, 2, person(3)), track(2, 0, 2, None, x=40)]
    back = read_tracks(write_tracks(tracks, tmp_path / "t.parquet"))
    np.testing.assert_allclose(back[0].embedding, person(3))
    assert back[1].embedding is None


def test_face_options_validate_identity():
    assert FaceOptions(identity="dlib", identify=(("ann", "a.jpg"),)).identify[0][1].name == "a.jpg"
    with pytest.raises(InputError, match="identity backend"):
        FaceOptions(identity="facenet")
    with pytest.raises(InputError, match="need an identity backend"):
        FaceOptions(identify=(("ann", "a.jpg"),))


def test_unknown_backend_is_input_error():
    with pytest.raises(InputError, match="dlib, arcface"):
        load_embedder("facenet")


def test_arcface_without_model_names_the_setting(monkeypatch, tmp_path):
    monkeypatch.delenv(ARCFACE_MODEL_ENV, raising=False)
    with pytest.raises(ModelUnavailable, match=ARCFACE_MODEL_ENV):
        load_embedder("arcface")
    monkeypatch.setenv(ARCFACE_MODEL_ENV, str(tmp_path / "missing.onnx"))
    with pytest.raises(ModelUnavailable, match="missing.onnx"):
        load_embedder("arcface")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    monkeypatch.setenv(ARCFACE_MODEL_ENV, str(bad))
    with pytest.raises(ModelUnavailable, match="bad.onnx"):
        load_embedder("arcface")


def test_align_face_moves_landmarks_onto_template():
    frame = np.zeros((200, 200, 3), np.uint8)
    marks = np.asarray([[80, 90], [120, 90], [100, 110], [85, 130], [115, 130]], np.float32)
    for x, y in marks.astype(int):
        frame[y - 1 : y + 2, x - 1 : x + 2] = 255
    crop = align_face(frame, marks)
    assert crop.shape == (112, 112, 3)
    ys, xs = np.nonzero(crop[..., 0] > 100)
    assert abs(xs.mean() - 56) < 4 and abs(ys.mean() - 72) < 6


@pytest.fixture(scope="module")
def dlib_embedder():
    pytest.importorskip("dlib")
    return load_embedder("dlib")


def test_dlib_embeds_real_face_normalised_and_stable(dlib_embedder):
    skimage_data = pytest.importorskip("skimage.data")
    face = skimage_data.astronaut()
    box = np.asarray([[170, 30, 290, 170]], np.float32)
    a = dlib_embedder.embed(face, box)
    assert a.shape == (1, 128) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a), 1.0, atol=1e-5)
    shifted = dlib_embedder.embed(np.ascontiguousarray(face[10:, 5:]), box - [5, 10, 5, 10])
    assert cosine_distances(a, shifted)[0, 0] < 0.02
    assert dlib_embedder.embed(face, np.zeros((0, 4))).shape == (0, 128)


def test_parse_identify_and_document_labels():
    from clipmill.cli.faces import parse_identify
    from clipmill.face_range import faces_document

    assert parse_identify(["ann = a.jpg", "bob=b/c.png"]) == (("ann", Path("a.jpg")), ("bob", Path("b/c.png")))
    for bad in ("ann", "=a.jpg", "ann="):
        with pytest.raises(InputError, match="name=photo"):
            parse_identify([bad])
    doc = faces_document([track(1, 0, 1), track(2, 0, 1, x=50)], fps=2.0, width=64, height=64, labels={2: "bob"})
    assert [t["label"] for t in doc["tracks"]] == [None, "bob"]
