"""Face stage at the edge: detect and track one chunk of a video file, read and write track Parquet.

:func:`detect_chunk` streams the chunk's frames through ffmpeg a batch at a time (memory is one batch,
not the chunk), picks the frames to detect as they arrive (:func:`~clipmill.vision.chunks.choose_samples`),
runs the ensemble on them, then tracks shot by shot so every decoded frame inside a track has a box.
Boxes come back in source pixels whatever size the frames were analysed at.
"""

from __future__ import annotations

import logging
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from clipmill.errors import InputError
from clipmill.media import iter_frame_chunks, probe
from clipmill.vision.chunks import (
    TABLE_COLUMNS,
    ChunkSpec,
    SamplingConfig,
    choose_samples,
    find_cuts,
    table_to_tracks,
    track_chunk,
    tracks_to_table,
)
from clipmill.vision.detections import Detections
from clipmill.vision.detectors import DetectorConfig
from clipmill.vision.detections import box_iou
from clipmill.vision.ensemble import DEFAULT_DETECTORS, Ensemble, EnsembleConfig, load_ensemble
from clipmill.vision.identity import IDENTITY_BACKENDS, Embedder, load_embedder, track_embedding
from clipmill.vision.sampling import motion_energy
from clipmill.vision.tracking import Track, TrackerConfig

__all__ = [
    "FaceOptions",
    "default_analysis_size",
    "detect_chunk",
    "read_tracks",
    "reference_embeddings",
    "write_tracks",
]

log = logging.getLogger(__name__)

_EMBEDDINGS_KEY = "clipmill.embeddings"
_SCHEMA = pa.schema([(name, pa.from_numpy_dtype(np.dtype(dtype))) for name, dtype in TABLE_COLUMNS.items()])


@dataclass(frozen=True)
class FaceOptions:
    """The face stage's knobs as plain values, small enough to travel as a task parameter.

    Invalid names or rates raise `InputError` on construction, before any work is fanned out.

    Attributes
    ----------
    detectors : tuple of str, optional
        Backends in cascade order; ``None`` is the default ensemble (MediaPipe at 640 px, YuNet at
        960 px). A named default backend keeps its default analysis size.
    ensemble : str
        ``cascade``, ``parallel`` or ``weighted``.
    sampling : str
        ``uniform`` or ``motion``.
    sample_rate_hz : float
        Detections per second (the motion method's highest rate).
    chunk_s, overlap_frames : float, int
        Chunk length and the frames neighbouring chunks share.
    analysis_max_side : int, optional
        Long side frames are decoded at (see :func:`default_analysis_size`).
    identity : str, optional
        Embedding backend (``dlib`` or ``arcface``); ``None`` turns identity off.
    identify : tuple of (name, Path)
        Reference photos that name tracks; needs ``identity``.
    """

    detectors: tuple[str, ...] | None = None
    ensemble: str = "parallel"
    sampling: str = "uniform"
    sample_rate_hz: float = 5.0
    chunk_s: float = 10.0
    overlap_frames: int = 4
    analysis_max_side: int | None = 1280
    identity: str | None = None
    identify: tuple[tuple[str, Path], ...] = ()

    def __post_init__(self) -> None:
        if self.detectors is not None:
            object.__setattr__(self, "detectors", tuple(self.detectors))
        if self.identity is not None and self.identity not in IDENTITY_BACKENDS:
            raise InputError(f"unknown identity backend {self.identity!r}; valid backends: {', '.join(IDENTITY_BACKENDS)}")
        object.__setattr__(self, "identify", tuple((str(n), Path(p)) for n, p in self.identify))
        if self.identify and self.identity is None:
            raise InputError("reference faces (identify) need an identity backend: set identity to dlib or arcface")
        self.ensemble_config()
        self.sampling_config()

    def ensemble_config(self) -> EnsembleConfig:
        """Detectors and merge mode."""
        if self.detectors is None:
            return EnsembleConfig(mode=self.ensemble)
        defaults = {c.name: c for c in DEFAULT_DETECTORS}
        return EnsembleConfig(
            mode=self.ensemble, detectors=tuple(defaults.get(n) or DetectorConfig(n) for n in self.detectors)
        )

    def sampling_config(self) -> SamplingConfig:
        """Frame sampling."""
        return SamplingConfig(
            method=self.sampling, rate_hz=self.sample_rate_hz, min_rate_hz=min(2.0, self.sample_rate_hz)
        )


def write_tracks(tracks: list[Track], path: Path) -> Path:
    """Write tracks to a Parquet file with the columns of `~clipmill.vision.chunks.TABLE_COLUMNS`.

    Track embeddings, when present, travel in the file's metadata under ``clipmill.embeddings``.
    """
    table = pa.Table.from_pydict(tracks_to_table(tracks), schema=_SCHEMA)
    embeddings = {str(tr.id): np.asarray(tr.embedding, np.float32).tolist() for tr in tracks if tr.embedding is not None}
    if embeddings:
        table = table.replace_schema_metadata({_EMBEDDINGS_KEY: json.dumps(embeddings)})
    pq.write_table(table, path)
    return path


def read_tracks(path: Path) -> list[Track]:
    """Read tracks written by :func:`write_tracks`, embeddings included."""
    table = pq.read_table(path)
    tracks = table_to_tracks({name: table.column(name).to_numpy() for name in table.column_names})
    stored = json.loads((table.schema.metadata or {}).get(_EMBEDDINGS_KEY.encode(), b"{}"))
    return [
        replace(tr, embedding=np.asarray(stored[str(tr.id)], np.float32)) if str(tr.id) in stored else tr
        for tr in tracks
    ]


def default_analysis_size(width: int, height: int, *, max_side: int | None = 1280) -> tuple[int, int]:
    """Even frame size to decode at: the source size, downscaled so its long side is at most ``max_side``.

    Detectors downscale further to their own ``max_side``; decoding smaller than the largest of them
    only saves memory and copying, so the default keeps 1080p's small faces within YuNet's 960 px.
    """
    if width <= 0 or height <= 0:
        raise InputError(f"frame size must be positive, got {width}x{height}")
    factor = 1.0 if max_side is None else min(1.0, max_side / max(width, height))
    return max(2, int(round(width * factor / 2)) * 2), max(2, int(round(height * factor / 2)) * 2)


def detect_chunk(
    path: Path,
    spec: ChunkSpec,
    *,
    fps: float,
    analysis_size: tuple[int, int] | None = None,
    source_size: tuple[int, int] | None = None,
    ensemble_config: EnsembleConfig | None = None,
    tracker_config: TrackerConfig | None = None,
    sampling: SamplingConfig | None = None,
    batch_frames: int = 32,
    ffmpeg: str = "ffmpeg",
    identity: str | None = None,
    embeddings_per_track: int = 5,
) -> list[Track]:
    """Face tracks of one chunk of ``path``, boxes in source pixels, times on the file's timeline.

    Parameters
    ----------
    path : Path
        Video file (a job's segment, or a whole source for a CLI range).
    spec : ChunkSpec
        What to decode: ``spec.n_frames(fps)`` frames from ``spec.start_s``.
    fps : float
        Analysis frame rate; every decoded frame inside a track gets a box.
    analysis_size : (width, height), optional
        Size frames are decoded at; default :func:`default_analysis_size` of the source.
    source_size : (width, height), optional
        Source frame size (probed when omitted).
    ensemble_config, tracker_config, sampling : optional
        Detectors, tracker tuning and frame sampling; defaults of each.
    batch_frames : int
        Frames decoded (and held) at a time.
    identity : str, optional
        Embedding backend; each track then carries the mean embedding of up to
        ``embeddings_per_track`` of its detections, evenly spaced (crops around the detected faces are
        kept while decoding, not whole frames).
    """
    if source_size is None:
        info = probe(path)
        source_size = info.display_size
    size = analysis_size or default_analysis_size(*source_size)
    sampling = sampling or SamplingConfig()
    scale = (source_size[0] / size[0], source_size[1] / size[1])
    expected = spec.n_frames(fps)
    started = time.perf_counter()
    embedder = None if identity is None else load_embedder(identity)
    crops: dict[int, list[_FaceCrop]] | None = None if embedder is None else {}
    ensemble = load_ensemble(ensemble_config)
    try:
        times, energy, sampled = _detect_stream(
            path, spec, fps=fps, size=size, expected=expected, ensemble=ensemble, scale=scale,
            sampling=sampling, batch_frames=batch_frames, ffmpeg=ffmpeg, crops=crops,
        )
    finally:
        ensemble.close()
    cuts = find_cuts(energy, threshold=sampling.cut_threshold)
    tracks = track_chunk(times, sampled, cuts=cuts, config=tracker_config)
    if embedder is not None and crops is not None:
        tracks = _embed_tracks(tracks, times, sampled, crops, embedder, per_track=embeddings_per_track)
    elapsed = time.perf_counter() - started
    log.info(
        "chunk %d: %d frames, %d detected, %d cuts, %d tracks in %.2f s (%.1f frames/s)",
        spec.index, len(times), len(sampled), len(cuts), len(tracks), elapsed, len(times) / max(elapsed, 1e-9),
    )
    return tracks


def _detect_stream(
    path: Path,
    spec: ChunkSpec,
    *,
    fps: float,
    size: tuple[int, int],
    expected: int,
    ensemble: Ensemble,
    scale: tuple[float, float],
    sampling: SamplingConfig,
    batch_frames: int,
    ffmpeg: str,
    crops: dict[int, list[_FaceCrop]] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[int, Detections]]:
    """Decode batch by batch; detect each frame once its sampling decision is final.

    A frame's decision needs the next frame's change (a cut after it), so the last frame of each batch
    is carried into the next one; the chunk's last frame is always detected.
    """
    times: list[np.ndarray] = []
    energy: list[np.ndarray] = []
    sampled: dict[int, Detections] = {}
    carry: np.ndarray | None = None
    decoded = 0
    for part in iter_frame_chunks(
        path, fps=fps, size=size, chunk_frames=batch_frames, start_s=spec.start_s, duration_s=spec.duration_s,
        ffmpeg=ffmpeg,
    ):
        frames = part.frames[: expected - decoded]
        if not len(frames):
            break
        stacked = frames if carry is None else np.concatenate([carry[None], frames])
        change = motion_energy(stacked)
        energy.append(change if carry is None else change[1:])
        times.append(part.times_s[: len(frames)])
        first = decoded - (carry is not None)
        decoded += len(frames)
        chosen = choose_samples(np.concatenate(energy), fps=fps, config=sampling)
        final = chosen[(chosen >= first) & (chosen < decoded - 1)]
        _detect_into(sampled, ensemble, stacked, final, first, scale, crops)
        carry = frames[-1]
        if decoded >= expected:
            break
    if carry is None:
        raise InputError(f"chunk {spec.index} of {path.name} at {spec.start_s:.3f} s decoded no frames")
    _detect_into(sampled, ensemble, carry[None], np.asarray([decoded - 1]), decoded - 1, scale, crops)
    return np.concatenate(times), np.concatenate(energy), sampled


def _detect_into(
    sampled: dict[int, Detections],
    ensemble: Ensemble,
    frames: np.ndarray,
    indices: np.ndarray,
    first: int,
    scale: tuple[float, float],
    crops: dict[int, list[_FaceCrop]] | None = None,
) -> None:
    """Detect ``frames[indices - first]`` and store their faces, in source pixels, under ``indices``.

    With ``crops``, also keep a padded crop around each face (analysis pixels) for embedding later.
    """
    indices = [int(i) for i in indices if int(i) not in sampled]
    if not indices:
        return
    batch = np.ascontiguousarray(frames[np.asarray(indices) - first])
    found = ensemble.detect(batch)
    for i, frame, dets in zip(indices, batch, found):
        sampled[i] = dets.scale(*scale)
        if crops is not None:
            crops[i] = [_FaceCrop.cut(frame, dets[k]) for k in range(len(dets))]


@dataclass(frozen=True)
class _FaceCrop:
    """A face with a margin around it, and its box and landmarks in the crop's pixels."""

    pixels: np.ndarray
    box: np.ndarray
    landmarks: np.ndarray | None

    @classmethod
    def cut(cls, frame: np.ndarray, face: Detections, *, margin: float = 0.5) -> _FaceCrop:
        """Crop ``frame`` around the single face ``face`` (analysis pixels), ``margin`` box sizes each side."""
        x1, y1, x2, y2 = face.xyxy[0]
        pad_x, pad_y = (x2 - x1) * margin, (y2 - y1) * margin
        h, w = frame.shape[:2]
        left, top = int(max(0, x1 - pad_x)), int(max(0, y1 - pad_y))
        right, bottom = int(min(w, x2 + pad_x + 1)), int(min(h, y2 + pad_y + 1))
        offset = np.asarray([left, top], np.float32)
        marks = None if face.landmarks is None else face.landmarks[0] - offset
        return cls(frame[top:bottom, left:right].copy(), face.xyxy[0] - np.tile(offset, 2), marks)


def _embed_tracks(
    tracks: list[Track],
    frame_times: np.ndarray,
    sampled: dict[int, Detections],
    crops: dict[int, list[_FaceCrop]],
    embedder: Embedder,
    *,
    per_track: int,
) -> list[Track]:
    """Give each track the mean embedding of up to ``per_track`` of its detections, evenly spaced."""
    out = []
    for tr in tracks:
        frames = np.searchsorted(frame_times, tr.times[tr.observed])
        picks = frames[np.unique(np.linspace(0, len(frames) - 1, min(per_track, len(frames))).round().astype(int))]
        vectors = []
        for i in picks:
            dets = sampled.get(int(i))
            if dets is None or not len(dets):
                continue
            iou = box_iou(tr.xyxy[tr.times == frame_times[i]], dets.xyxy)[0]
            k = int(np.argmax(iou))
            if iou[k] < 0.3:
                continue
            crop = crops[int(i)][k]
            marks = None if crop.landmarks is None or not np.all(np.isfinite(crop.landmarks)) else crop.landmarks[None]
            vectors.append(embedder.embed(crop.pixels, crop.box[None], marks)[0])
        out.append(replace(tr, embedding=track_embedding(np.stack(vectors))) if vectors else tr)
    return out


def reference_embeddings(
    identify: tuple[tuple[str, Path], ...], *, embedder: Embedder, ensemble_config: EnsembleConfig | None = None
) -> dict[str, np.ndarray]:
    """One embedding per named reference photo: of its largest detected face.

    Raises `InputError` when a photo cannot be read or shows no face.
    """
    references = {}
    ensemble = load_ensemble(ensemble_config)
    try:
        for name, photo in identify:
            bgr = cv2.imread(str(photo), cv2.IMREAD_COLOR)
            if bgr is None:
                raise InputError(f"reference photo {photo} for {name!r} cannot be read as an image")
            rgb = np.ascontiguousarray(bgr[:, :, ::-1])
            dets = ensemble.detect(rgb[None])[0]
            if not len(dets):
                raise InputError(f"no face found in reference photo {photo} for {name!r}; use a clear frontal photo")
            face = dets[int(np.argmax(dets.area))]
            references[name] = embedder.embed(rgb, face.xyxy, face.landmarks)[0]
    finally:
        ensemble.close()
    return references
