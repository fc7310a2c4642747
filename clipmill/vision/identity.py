"""Face identity: embeddings behind one interface, re-identification of tracks and naming by reference.

An `Embedder` turns the faces of one frame into L2-normalised vectors; two faces of the same person
lie close in cosine distance. Two backends: ``dlib`` (ResNet 128-d descriptor and 5-point shape
predictor from the ``face-recognition-models`` package, offline) and ``arcface`` (an ArcFace-class
ONNX model from a local path, run with OpenCV's DNN module on a 112x112 crop aligned on five
landmarks). The pure helpers :func:`track_embedding`, :func:`reidentify` and :func:`label_tracks`
work on arrays and tracks only.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from clipmill.errors import InputError, InternalError, ModelUnavailable
from clipmill.local_models import local_model, missing_package
from clipmill.vision.embeddings import cosine_distances, track_embedding, unit_rows
from clipmill.vision.tracking import Track

__all__ = [
    "ARCFACE_MODEL_ENV",
    "ARCFACE_TEMPLATE",
    "IDENTITY_BACKENDS",
    "IDENTITY_THRESHOLDS",
    "ArcFaceEmbedder",
    "DlibEmbedder",
    "Embedder",
    "align_face",
    "cosine_distances",
    "label_tracks",
    "load_embedder",
    "reidentify",
    "track_embedding",
]

log = logging.getLogger(__name__)

IDENTITY_BACKENDS = ("dlib", "arcface")
ARCFACE_MODEL_ENV = "CLIPMILL_ARCFACE_MODEL"
DLIB_INSTALL = "pip install dlib-bin face-recognition-models"

ARCFACE_TEMPLATE = np.asarray(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    np.float32,
)
"""Where the five landmarks (image-left eye first, as in `Detections`) sit in a 112x112 ArcFace crop."""


class Embedder(Protocol):
    """Face embeddings of one frame.

    Attributes
    ----------
    name : str
        Backend name.
    threshold : float
        Cosine distance under which two track embeddings are taken for the same person.
    """

    name: str
    threshold: float

    def embed(self, frame_rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
        """Embeddings ``(N, D)`` float32, L2-normalised, of the ``N`` boxes ``xyxy`` in ``frame_rgb``."""
        ...


def _check_inputs(frame_rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray | None) -> tuple:
    frame = np.asarray(frame_rgb)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise InternalError(f"frame must be uint8 (H, W, 3) RGB, got {frame.dtype} {frame.shape}")
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    if landmarks is not None:
        landmarks = np.asarray(landmarks, np.float32)
        if landmarks.shape != (len(boxes), 5, 2):
            raise InternalError(f"landmarks must have shape ({len(boxes)}, 5, 2), got {landmarks.shape}")
    return np.ascontiguousarray(frame), boxes, landmarks


class DlibEmbedder:
    """dlib's ResNet face descriptor (128-d) on faces aligned by its 5-point shape predictor.

    Both models come from the ``face-recognition-models`` package (CC0); its 68-point predictor is not
    used (its training data forbid commercial use).
    """

    name = "dlib"
    threshold = 0.06  # GRID sample: same man 0.01, closest two different people 0.08 (means of 5 faces)

    def __init__(self, predictor_path: Path, recognizer_path: Path) -> None:
        import dlib

        self._dlib = dlib
        self._predictor = dlib.shape_predictor(str(predictor_path))
        self._recognizer = dlib.face_recognition_model_v1(str(recognizer_path))

    def embed(self, frame_rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
        """Descriptors of ``boxes``; dlib finds its own landmarks, so ``landmarks`` is not needed."""
        frame, boxes, _ = _check_inputs(frame_rgb, boxes, landmarks)
        if not len(boxes):
            return np.zeros((0, 128), np.float32)
        shapes = self._dlib.full_object_detections()
        for x1, y1, x2, y2 in np.round(boxes).astype(int):
            shapes.append(self._predictor(frame, self._dlib.rectangle(int(x1), int(y1), int(x2), int(y2))))
        return unit_rows(np.asarray(self._recognizer.compute_face_descriptor(frame, shapes), np.float32))


def align_face(frame_rgb: np.ndarray, landmarks: np.ndarray, *, size: int = 112) -> np.ndarray:
    """A ``size`` x ``size`` crop with the five landmarks moved onto `ARCFACE_TEMPLATE` (similarity)."""
    import cv2

    template = ARCFACE_TEMPLATE * (size / 112.0)
    matrix, _ = cv2.estimateAffinePartial2D(np.asarray(landmarks, np.float32), template, method=cv2.LMEDS)
    if matrix is None:
        raise InputError(f"cannot align a face on landmarks {np.asarray(landmarks).tolist()}")
    return cv2.warpAffine(frame_rgb, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE)


def _landmarks_from_box(box: np.ndarray) -> np.ndarray:
    """Template landmarks placed in a face box: a fallback when the detector gave none."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return np.asarray([x1, y1], np.float32) + ARCFACE_TEMPLATE / 112.0 * np.asarray([x2 - x1, y2 - y1], np.float32)


class ArcFaceEmbedder:
    """An ArcFace-class ONNX model (input 1x3x112x112 RGB scaled to [-1, 1], output one vector), on cv2.dnn."""

    name = "arcface"
    threshold = 0.6

    def __init__(self, model_path: Path) -> None:
        import cv2

        self._net = cv2.dnn.readNetFromONNX(str(model_path))

    def embed(self, frame_rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
        """Embeddings of ``boxes`` aligned on ``landmarks`` (or on template points placed in the box)."""
        import cv2

        frame, boxes, landmarks = _check_inputs(frame_rgb, boxes, landmarks)
        out = []
        for k, box in enumerate(boxes):
            points = None if landmarks is None else landmarks[k]
            if points is None or not np.all(np.isfinite(points)):
                points = _landmarks_from_box(box)
            crop = align_face(frame, points)
            blob = cv2.dnn.blobFromImage(crop, scalefactor=1 / 127.5, mean=(127.5, 127.5, 127.5))
            self._net.setInput(blob)
            out.append(np.asarray(self._net.forward(), np.float32).reshape(-1))
        return unit_rows(np.stack(out)) if out else np.zeros((0, 0), np.float32)


IDENTITY_THRESHOLDS = {DlibEmbedder.name: DlibEmbedder.threshold, ArcFaceEmbedder.name: ArcFaceEmbedder.threshold}
"""Default same-person cosine distance of each backend."""


def _dlib_models() -> tuple[Path, Path]:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise missing_package("identity backend 'dlib'", "face-recognition-models", install=DLIB_INSTALL)
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    paths = (models / "shape_predictor_5_face_landmarks.dat", models / "dlib_face_recognition_resnet_model_v1.dat")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ModelUnavailable(f"identity backend 'dlib': model files missing: {missing}; reinstall face-recognition-models")
    return paths


def load_embedder(name: str, *, arcface_model: Path | None = None) -> Embedder:
    """Load the identity backend ``name`` (``dlib`` or ``arcface``).

    The ArcFace model path is ``arcface_model`` or the ``CLIPMILL_ARCFACE_MODEL`` setting; weights are
    never downloaded. Raises `ModelUnavailable` naming what is missing and `InputError` for an unknown name.
    """
    if name == "dlib":
        if importlib.util.find_spec("dlib") is None:
            raise missing_package("identity backend 'dlib'", "dlib", install=DLIB_INSTALL)
        return DlibEmbedder(*_dlib_models())
    if name == "arcface":
        path = local_model(
            "identity backend 'arcface'", arcface_model or os.environ.get(ARCFACE_MODEL_ENV),
            setting=ARCFACE_MODEL_ENV, model="ArcFace ONNX model", file_only=True,
        )
        import cv2

        try:
            return ArcFaceEmbedder(path)
        except cv2.error as exc:
            raise ModelUnavailable(f"identity backend 'arcface': cannot load {path} ({ARCFACE_MODEL_ENV}): {exc}") from exc
    raise InputError(f"unknown identity backend {name!r}; valid backends: {', '.join(IDENTITY_BACKENDS)}")


def _overlap(a: Track, b: Track) -> bool:
    return a.start <= b.end and b.start <= a.end


def reidentify(tracks: Sequence[Track], *, threshold: float) -> dict[int, int]:
    """Map each track id to a person id, joining tracks of one face split by cuts or occlusions.

    Average-linkage agglomerative clustering on the cosine distance of track embeddings: the closest
    pair of groups merges while its distance is at most ``threshold`` and no track of one group overlaps
    a track of the other in time (one person is never two faces at once). Tracks without an embedding
    stay alone. Person ids count from 1 in order of first appearance.
    """
    if threshold < 0:
        raise InputError(f"threshold must be >= 0, got {threshold}")
    ids = [tr.id for tr in tracks]
    if len(set(ids)) != len(ids):
        raise InternalError(f"track ids must be unique, got {ids}")
    with_emb = [k for k, tr in enumerate(tracks) if tr.embedding is not None]
    dist = np.full((len(tracks), len(tracks)), np.inf)
    if with_emb:
        emb = np.stack([np.asarray(tracks[k].embedding, np.float32).reshape(-1) for k in with_emb])
        dist[np.ix_(with_emb, with_emb)] = cosine_distances(emb, emb)
    groups = [[k] for k in range(len(tracks))]
    while True:
        best: tuple[float, int, int] | None = None
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                d = float(dist[np.ix_(groups[i], groups[j])].mean())
                if d > threshold or (best is not None and d >= best[0]):
                    continue
                if any(_overlap(tracks[a], tracks[b]) for a in groups[i] for b in groups[j]):
                    continue
                best = (d, i, j)
        if best is None:
            break
        _, i, j = best
        log.debug("re-identified tracks %s and %s (distance %.3f)", groups[i], groups[j], best[0])
        groups[i] = groups[i] + groups.pop(j)
    groups.sort(key=lambda g: min((tracks[k].start, tracks[k].id) for k in g))
    return {tracks[k].id: person for person, group in enumerate(groups, start=1) for k in group}


def label_tracks(
    tracks: Sequence[Track], references: Mapping[str, np.ndarray], *, threshold: float
) -> dict[int, str]:
    """Name tracks after the closest reference face, where its cosine distance is at most ``threshold``.

    Parameters
    ----------
    references : mapping of name to embedding (D,)
        One embedding per named person (e.g. from a photo).

    Returns
    -------
    dict
        Track id to name, for the tracks with an embedding close enough to a reference.
    """
    if not references:
        return {}
    names = list(references)
    ref = np.stack([np.asarray(references[n], np.float32).reshape(-1) for n in names])
    labels = {}
    for tr in tracks:
        if tr.embedding is None:
            continue
        d = cosine_distances(np.asarray(tr.embedding, np.float32).reshape(1, -1), ref)[0]
        best = int(np.argmin(d))
        if d[best] <= threshold:
            labels[tr.id] = names[best]
    return labels
