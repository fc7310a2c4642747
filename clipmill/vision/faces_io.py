"""Face stage at the edge: detect and track one chunk of a video file, read and write track Parquet.

:func:`detect_chunk` streams the chunk's frames through ffmpeg a batch at a time (memory is a few batches,
not the chunk; ffmpeg decodes the next batch while this one is detected, and a chunk's decode runs on into
the next chunk of its plan, which continues it instead of seeking again) in the decoder's own I420 planes (half the bytes of RGB, and only the detected frames
are converted to RGB: ffmpeg converting every frame cost as much as decoding it), picks the frames to
detect as they arrive (:func:`~clipmill.vision.chunks.choose_samples`),
runs the ensemble on them, then tracks shot by shot so every decoded frame inside a track has a box.
The ``keyframe`` method reads the chunk's key frames first (demuxing only); the ``adaptive`` method
decides frame by frame as detections come in, so it detects one frame at a time.
Boxes come back in source pixels whatever size the frames were analysed at.
"""

from __future__ import annotations

import atexit
import functools
import logging
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from clipmill.errors import InputError, InternalError
from clipmill.media import iter_frame_chunks, keyframe_times, probe
from clipmill.media.frames import FrameReader, ReaderShelf
from clipmill.vision.chunks import (
    TABLE_COLUMNS,
    ChunkFaces,
    ChunkSpec,
    SamplingConfig,
    choose_samples,
    find_cuts,
    find_dissolves,
    table_to_tracks,
    track_shots,
    tracks_to_table,
)
from clipmill.vision.detections import Detections
from clipmill.vision.detectors import DetectorConfig
from clipmill.timeline import Timeline
from clipmill.vision.activity import MouthActivity
from clipmill.vision.ensemble import DEFAULT_DETECTORS, Ensemble, EnsembleConfig, load_ensemble
from clipmill.vision.framing import ActivityTrace
from clipmill.vision.identity import IDENTITY_BACKENDS, Embedder, load_embedder
from clipmill.vision.sampling import i420_thumbnails, thumbnail_change
from clipmill.vision.tracking import Track, TrackerConfig

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "FaceOptions",
    "analyse_chunk",
    "default_analysis_size",
    "detect_chunk",
    "read_cut_times",
    "read_mouth_activity",
    "read_tracks",
    "reference_embeddings",
    "write_tracks",
]

log = logging.getLogger(__name__)

#: long side, in pixels, of the largest image a default detector sees (YuNet's 960): frames are decoded at it
DETECTION_MAX_SIDE = max(c.max_side for c in DEFAULT_DETECTORS)

#: frames a parked decode keeps behind its position: the chunks' default overlap (4), with room to spare
_KEEP_FRAMES = 8
#: decodes parked between the chunks of a range (see `_chunk_reader`); closed when the process exits
_SHELF = ReaderShelf()
atexit.register(_SHELF.close_all)

_EMBEDDINGS_KEY = "clipmill.embeddings"
_CUTS_KEY = "clipmill.cut_times_s"


# cv2 and pyarrow are imported where they are used: a clip job without faces imports this module for
# its options and readers, and should not pay for them.
@functools.cache
def _schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([(name, pa.from_numpy_dtype(np.dtype(dtype))) for name, dtype in TABLE_COLUMNS.items()])


@dataclass(frozen=True)
class FaceOptions:
    """The face stage's knobs as plain values, small enough to travel as a task parameter.

    Invalid names or rates raise `InputError` on construction, before any work is fanned out.

    Attributes
    ----------
    detectors : tuple of str, optional
        Backends in cascade order; ``None`` is the default ensemble (MediaPipe at 640 px, then YuNet at
        960 px). A named default backend keeps its default analysis size.
    ensemble : str
        ``cascade``, ``parallel`` or ``weighted``.
    sampling : str
        ``uniform``, ``motion``, ``keyframe`` or ``adaptive`` (see
        :class:`~clipmill.vision.chunks.SamplingConfig`).
    sample_rate_hz : float
        Detections per second (the motion method's highest rate).
    chunk_s, overlap_frames : float, int
        Chunk length and the frames neighbouring chunks share.
    analysis_max_side : int, optional
        Long side frames are decoded at (see :func:`default_analysis_size`): by default the largest
        input of the default detectors, so ffmpeg scales to the detection size while it decodes.
    identity : str, optional
        Embedding backend (``dlib`` or ``arcface``); ``None`` turns identity off.
    identify : tuple of (name, Path)
        Reference photos that name tracks; needs ``identity``.
    """

    detectors: tuple[str, ...] | None = None
    ensemble: str = "cascade"
    sampling: str = "uniform"
    sample_rate_hz: float = 5.0
    chunk_s: float = 10.0
    overlap_frames: int = 4
    analysis_max_side: int | None = DETECTION_MAX_SIDE
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
        """Frame sampling; key frames and adaptive sampling may drop to one detection per second."""
        floor = 1.0 if self.sampling in ("keyframe", "adaptive") else 2.0
        return SamplingConfig(
            method=self.sampling, rate_hz=self.sample_rate_hz, min_rate_hz=min(floor, self.sample_rate_hz)
        )


def write_tracks(tracks: list[Track], path: Path, *, cut_times_s: np.ndarray | None = None) -> Path:
    """Write tracks to a Parquet file with the columns of `~clipmill.vision.chunks.TABLE_COLUMNS`.

    Track embeddings, when present, travel in the file's metadata under ``clipmill.embeddings``, the
    shot cuts found while decoding (times of the frames that start a new shot) under
    ``clipmill.cut_times_s``: shots are detected once, in the face stage, and framing reads them here.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pydict(tracks_to_table(tracks), schema=_schema())
    metadata = {}
    embeddings = {str(tr.id): np.asarray(tr.embedding, np.float32).tolist() for tr in tracks if tr.embedding is not None}
    if embeddings:
        metadata[_EMBEDDINGS_KEY] = json.dumps(embeddings)
    if cut_times_s is not None:
        metadata[_CUTS_KEY] = json.dumps([round(float(t), 6) for t in cut_times_s])
    if metadata:
        table = table.replace_schema_metadata(metadata)
    pq.write_table(table, path)
    return path


def read_tracks(path: Path) -> list[Track]:
    """Read tracks written by :func:`write_tracks`, embeddings included."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    tracks = table_to_tracks({name: table.column(name).to_numpy() for name in table.column_names})
    stored = json.loads((table.schema.metadata or {}).get(_EMBEDDINGS_KEY.encode(), b"{}"))
    return [
        replace(tr, embedding=np.asarray(stored[str(tr.id)], np.float32)) if str(tr.id) in stored else tr
        for tr in tracks
    ]


def read_cut_times(path: Path) -> np.ndarray:
    """The shot cuts stored with the tracks by :func:`write_tracks` (empty when none were stored)."""
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    return np.asarray(json.loads(metadata.get(_CUTS_KEY.encode(), b"[]")), np.float64)


def default_analysis_size(
    width: int, height: int, *, max_side: int | None = DETECTION_MAX_SIDE
) -> tuple[int, int]:
    """Even frame size to decode at: the source size, downscaled so its long side is at most ``max_side``.

    Detectors downscale further to their own ``max_side``; decoding at the largest of them (the
    default) hands YuNet the pixels it would see anyway, and costs less to scale, pipe and copy.
    """
    if width <= 0 or height <= 0:
        raise InternalError(f"frame size must be positive, got {width}x{height}")
    factor = 1.0 if max_side is None else min(1.0, max_side / max(width, height))
    return max(2, int(round(width * factor / 2)) * 2), max(2, int(round(height * factor / 2)) * 2)


def detect_chunk(path: Path, spec: ChunkSpec, **kwargs) -> list[Track]:
    """Face tracks of one chunk of ``path`` (see :func:`analyse_chunk`, whose arguments it takes)."""
    return analyse_chunk(path, spec, **kwargs).tracks


def analyse_chunk(
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
) -> ChunkFaces:
    """Faces of one chunk of ``path``: tracks and rejected candidates in source pixels, and its shot cuts.

    Times are on the file's timeline. The shots come from the frame changes of the frames decoded for
    detection (no second pass), and each shot's first frame is always detected.

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
        Detectors, tracker tuning and frame sampling; defaults of each. A track needs the evidence of
        `~clipmill.vision.tracking.TrackerConfig` (two members agree, or a strong score) only where
        members can agree: a single detector makes every box evidence (``min_support=1``).
    batch_frames : int
        Frames decoded (and held) at a time.
    identity : str, optional
        Embedding backend: every detected face is embedded as it is found, the tracker associates by
        box overlap and embedding distance (within the backend's same-person threshold unless
        ``tracker_config`` sets one), and each track carries its mean embedding.
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
    if embedder is not None and (tracker_config or TrackerConfig()).max_embedding_distance is None:
        tracker_config = replace(tracker_config or TrackerConfig(), max_embedding_distance=embedder.threshold)
    ensemble = load_ensemble(ensemble_config)
    if len(ensemble.detectors) < 2:
        # no second opinion to agree with: every box counts, as the detector's own threshold decides
        tracker_config = replace(tracker_config or TrackerConfig(), min_support=1)
    detector = _FrameDetector(ensemble, scale, embedder)
    try:
        times, energy, grey = _detect_stream(
            path, spec, fps=fps, size=size, expected=expected, detector=detector,
            sampling=sampling, batch_frames=batch_frames, ffmpeg=ffmpeg,
        )
    finally:
        ensemble.close()
    cuts = np.union1d(
        find_cuts(energy, threshold=sampling.cut_threshold),
        find_dissolves(grey, energy, hard_threshold=sampling.cut_threshold),
    )
    sampled = detector.sampled
    found = track_shots(times, sampled, cuts=cuts, config=tracker_config, embeddings=detector.embeddings)
    elapsed = time.perf_counter() - started
    log.info(
        "chunk %d: %d frames, %d detected (%s), %d cuts, %d tracks, %d rejected candidates in %.2f s (%.1f frames/s)",
        spec.index, len(times), len(sampled),
        f"{ensemble.second_opinions} by every detector" if ensemble.mode == "cascade" else ensemble.mode,
        len(cuts), len(found.tracks), len(found.rejected), elapsed, len(times) / max(elapsed, 1e-9),
    )
    return found


class _FrameDetector:
    """Runs the ensemble on chosen I420 frames (converted to RGB here) and remembers what it found, in
    source pixels, by frame index.

    With an embedder, each face is also embedded on the analysis-size frame as it is found, so no
    frame or crop has to be kept for later.
    """

    def __init__(self, ensemble: Ensemble, scale: tuple[float, float], embedder: Embedder | None) -> None:
        self.ensemble = ensemble
        self.scale = scale
        self.embedder = embedder
        self.sampled: dict[int, Detections] = {}
        self.embeddings: dict[int, np.ndarray] | None = None if embedder is None else {}

    def detect(self, frames: np.ndarray, indices: np.ndarray | list[int], first: int) -> None:
        """Detect ``frames[indices - first]`` unless already done."""
        import cv2

        indices = [int(i) for i in indices if int(i) not in self.sampled]
        if not indices:
            return
        batch = np.stack([cv2.cvtColor(frames[i - first], cv2.COLOR_YUV2RGB_I420) for i in indices])
        for i, frame, dets in zip(indices, batch, self.ensemble.detect(batch)):
            self.sampled[i] = dets.scale(*self.scale)
            if self.embeddings is not None:
                self.embeddings[i] = self.embedder.embed(frame, dets.xyxy, dets.landmarks)

    def detect_one(self, frames: np.ndarray, index: int, first: int) -> Detections:
        """Detections of frame ``index`` (detected now if not yet)."""
        self.detect(frames, [index], first)
        return self.sampled[index]


def _detect_stream(
    path: Path,
    spec: ChunkSpec,
    *,
    fps: float,
    size: tuple[int, int],
    expected: int,
    detector: _FrameDetector,
    sampling: SamplingConfig,
    batch_frames: int,
    ffmpeg: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode batch by batch; detect each frame once its sampling decision is final.

    A frame's decision needs the next frame's change (a cut after it), so the last frame of each batch
    is carried into the next one; the chunk's last frame is always detected. Returns every decoded
    frame's time, change from the previous frame and thumbnail (for gradual shot changes).
    """
    times: list[np.ndarray] = []
    energy: list[np.ndarray] = []
    greys: list[np.ndarray] = []
    carry: np.ndarray | None = None
    decoded = 0
    keyframes = None
    if sampling.method == "keyframe":
        found = keyframe_times(path, start_s=spec.start_s, duration_s=spec.duration_s)
        keyframes = np.round((np.asarray(found) - spec.start_s) * fps).astype(np.int64)
    sampler = sampling.adaptive_sampler(fps) if sampling.method == "adaptive" else None
    reader = _chunk_reader(path, spec, fps=fps, size=size, batch_frames=batch_frames, ffmpeg=ffmpeg)
    finished = False
    try:
        while decoded < expected and (part := reader.read(expected - decoded)) is not None:
            frames = part.frames
            stacked = frames if carry is None else np.concatenate([carry[None], frames])
            grey = i420_thumbnails(stacked)
            change = thumbnail_change(grey)
            energy.append(change if carry is None else change[1:])
            greys.append(grey if carry is None else grey[1:])
            times.append(part.times_s[: len(frames)])
            first = decoded - (carry is not None)
            decoded += len(frames)
            so_far = np.concatenate(energy)
            chosen = choose_samples(so_far, fps=fps, config=sampling, keyframes=keyframes)
            final = chosen[(chosen >= first) & (chosen < decoded - 1)]
            if sampler is None:
                detector.detect(stacked, final, first)
            else:
                forced = {int(i) for i in final}
                for i in range(first, decoded - 1):
                    sampler.step(i, so_far[i], lambda k: detector.detect_one(stacked, k, first), force=i in forced)
            carry = frames[-1]
        finished = True
    finally:
        if finished and _continues(spec, fps):
            _SHELF.park(reader)
        else:
            reader.close()
    if carry is None:
        raise InputError(f"chunk {spec.index} of {path.name} at {spec.start_s:.3f} s decoded no frames")
    detector.detect(carry[None], [decoded - 1], decoded - 1)
    return np.concatenate(times), np.concatenate(energy), np.concatenate(greys)


def _chunk_reader(
    path: Path, spec: ChunkSpec, *, fps: float, size: tuple[int, int], batch_frames: int, ffmpeg: str
) -> FrameReader:
    """The decode of `spec`'s frames: the previous chunk's, continued, when it is parked at them; else a new
    one from the chunk's start, running on to ``spec.decode_until_s`` (when set) for the chunks after it."""
    key = FrameReader.key_of(path, fps=fps, size=size, pix_fmt="yuv420p", ffmpeg=ffmpeg)
    reader = _SHELF.take(key, spec.start_s)
    if reader is not None:
        return reader
    until = spec.end_s if spec.decode_until_s is None else max(spec.decode_until_s, spec.end_s)
    return FrameReader(
        path, fps=fps, size=size, start_s=spec.start_s, duration_s=until - spec.start_s, ffmpeg=ffmpeg,
        pix_fmt="yuv420p", chunk_frames=batch_frames, keep_frames=_KEEP_FRAMES,
    )


def _continues(spec: ChunkSpec, fps: float) -> bool:
    """Whether a chunk after `spec` may continue its decode (frames remain before ``decode_until_s``)."""
    return spec.decode_until_s is not None and spec.end_s < spec.decode_until_s - 0.5 / fps


def read_mouth_activity(
    video: Path, tracks: list[Track], *, spans: Timeline, offset_s: float, size: tuple[int, int], fps: float,
    ffmpeg: str = "ffmpeg",
) -> ActivityTrace:
    """Mouth motion of `tracks` (see :class:`~clipmill.vision.activity.MouthActivity`) over `spans` only.

    `spans` lie on the tracks' timeline, which starts ``offset_s`` into `video`; each is decoded on its
    own (seeking to it) in the decoder's grey at `size` (the tracks' pixels) and `fps`.
    """
    activity = MouthActivity(tracks)
    for span in spans:
        activity.skip()
        for chunk in iter_frame_chunks(
            video, fps=fps, size=size, ffmpeg=ffmpeg, pix_fmt="gray", start_s=offset_s + span.start,
            duration_s=span.duration,
        ):
            activity.add(chunk.times_s - offset_s, chunk.frames)
    return activity.result()


def reference_embeddings(
    identify: tuple[tuple[str, Path], ...], *, embedder: Embedder, ensemble_config: EnsembleConfig | None = None
) -> dict[str, np.ndarray]:
    """One embedding per named reference photo: of its largest detected face.

    Raises `InputError` when a photo cannot be read or shows no face.
    """
    import cv2

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
