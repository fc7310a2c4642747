"""The face stage split into chunks: plan them, choose their frames, track them, join them, tabulate.

A segment is cut into chunks of ``chunk_s`` seconds on the frame grid that overlap by a few frames, so
each chunk can be decoded and detected on its own worker and :func:`stitch_chunks` can still join a
face's tracks on the shared frames. Inside a chunk, hard cuts (a spike of frame difference) split the
tracker's work into shots: two people filmed at the same place in consecutive shots must not share an
id just because their boxes overlap. Everything here is pure numpy; decoding and files live in
:mod:`clipmill.vision.faces_io`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from clipmill.errors import InputError, InternalError
from clipmill.vision.detections import Detections
from clipmill.vision.embeddings import track_embedding
from clipmill.vision.identity import reidentify
from clipmill.vision.sampling import AdaptiveSampler, sample_keyframes, sample_motion, sample_uniform
from clipmill.vision.tracking import Track, TrackerConfig, run_tracker, stitch_tracks

__all__ = [
    "SAMPLING_METHODS",
    "TABLE_COLUMNS",
    "ChunkFaces",
    "ChunkSpec",
    "SamplingConfig",
    "choose_samples",
    "count_frames",
    "find_cuts",
    "find_dissolves",
    "fps_value",
    "merge_cut_times",
    "merge_people",
    "plan_chunks",
    "shift_faces",
    "stitch_chunks",
    "summarize_tracks",
    "table_to_tracks",
    "track_shots",
    "tracks_to_table",
]

SAMPLING_METHODS = ("uniform", "motion", "keyframe", "adaptive")

TABLE_COLUMNS: dict[str, type] = {
    "track_id": np.int64,
    "t": np.float64,
    "x1": np.float32,
    "y1": np.float32,
    "x2": np.float32,
    "y2": np.float32,
    "confidence": np.float32,
    "observed": np.bool_,
}
"""Columns of a track table and their dtypes: one row per track and analysed frame."""


@dataclass(frozen=True)
class ChunkSpec:
    """One chunk of a segment: decode ``duration_s`` seconds from ``start_s`` (file timeline).

    Attributes
    ----------
    index : int
        Position of the chunk, from 0.
    start_s : float
        Time of the chunk's first frame, on the timeline of the file it is decoded from.
    duration_s : float
        Whole frames: ``n_frames / fps``, overlap with the next chunk included.
    decode_until_s : float, optional
        End of the range the plan's chunks cover: a chunk's decode runs on towards it, so the next chunk
        continues that decode instead of seeking again; ``None`` decodes the chunk alone.
    """

    index: int
    start_s: float
    duration_s: float
    decode_until_s: float | None = None

    @property
    def end_s(self) -> float:
        """End of the chunk (exclusive)."""
        return self.start_s + self.duration_s

    def n_frames(self, fps: float) -> int:
        """Frames the chunk holds at ``fps``."""
        return int(round(self.duration_s * fps))


@dataclass(frozen=True)
class SamplingConfig:
    """Which frames of a chunk the detector sees; the tracker predicts the others.

    Attributes
    ----------
    method : str
        ``uniform``: ``rate_hz`` detections per second; ``motion``: between ``min_rate_hz`` and
        ``rate_hz``, more often when the picture moves (see :func:`~clipmill.vision.sampling.sample_motion`);
        ``keyframe``: the file's key frames and shot cuts, at least ``min_rate_hz``
        (:func:`~clipmill.vision.sampling.sample_keyframes`); ``adaptive``: between ``min_rate_hz`` and
        ``rate_hz``, more often while the faces found are uncertain or moving
        (:class:`~clipmill.vision.sampling.AdaptiveSampler`).
    rate_hz : float
        Uniform rate, or the highest rate of the motion and adaptive methods.
    min_rate_hz : float
        Lowest rate of the motion, keyframe and adaptive methods.
    motion_threshold : float
        Motion and adaptive methods: accumulated frame change that triggers a sample.
    cut_threshold : float or None
        Frame change (mean absolute grey difference in [0, 1]) above which a frame starts a new shot;
        ``None`` never cuts. Measured on the GRID sample: hard cuts 0.048-0.15, within a shot < 0.007.
    """

    method: str = "uniform"
    rate_hz: float = 5.0
    min_rate_hz: float = 2.0
    motion_threshold: float = 0.02
    cut_threshold: float | None = 0.03

    def __post_init__(self) -> None:
        if self.method not in SAMPLING_METHODS:
            raise InputError(f"unknown sampling {self.method!r}; valid methods: {', '.join(SAMPLING_METHODS)}")
        if not 0 < self.min_rate_hz <= self.rate_hz:
            raise InputError(f"need 0 < min_rate_hz <= rate_hz, got {self.min_rate_hz} and {self.rate_hz}")
        if self.cut_threshold is not None and not 0 < self.cut_threshold <= 1:
            raise InputError(f"cut_threshold must lie in (0, 1] or be None, got {self.cut_threshold}")

    def adaptive_sampler(self, fps: float) -> AdaptiveSampler:
        """A fresh sampler for one chunk of the ``adaptive`` method."""
        return AdaptiveSampler(
            fps=fps, min_rate_hz=self.min_rate_hz, max_rate_hz=min(self.rate_hz, fps),
            motion_threshold=self.motion_threshold,
        )


def count_frames(duration_s: float, fps: float) -> int:
    """Frames of ``duration_s`` seconds at ``fps`` (rounded to the nearest whole frame)."""
    if duration_s <= 0 or fps <= 0:
        raise InternalError(f"need duration_s > 0 and fps > 0, got {duration_s} and {fps}")
    return max(1, int(round(duration_s * fps)))


def plan_chunks(
    duration_s: float,
    *,
    fps: float,
    chunk_s: float = 10.0,
    overlap_frames: int = 4,
    min_tail_s: float = 1.0,
    start_s: float = 0.0,
) -> list[ChunkSpec]:
    """Split ``duration_s`` seconds into chunks of ``chunk_s`` on the frame grid, overlapping a little.

    Chunk ``k`` starts at frame ``k * round(chunk_s * fps)`` and holds ``overlap_frames`` more frames
    than the stride (fewer at the end). A last chunk shorter than ``min_tail_s`` joins the one before
    it, so no chunk is too short to confirm a track.

    Parameters
    ----------
    duration_s : float
        Length of what is analysed, in seconds.
    fps : float
        Analysis frame rate.
    start_s : float
        Time of the first frame on the decoded file's timeline (a CLI range inside a whole source).

    Every chunk's ``decode_until_s`` is the range's end, so chunks analysed one after another in a
    process share one decode (see :class:`~clipmill.media.frames.ReaderShelf`).
    """
    if chunk_s <= 0 or overlap_frames < 0 or min_tail_s < 0:
        raise InputError(
            f"need chunk_s > 0, overlap_frames >= 0, min_tail_s >= 0; got {chunk_s}, {overlap_frames}, {min_tail_s}"
        )
    total = count_frames(duration_s, fps)
    stride = max(1, int(round(chunk_s * fps)))
    starts = list(range(0, total, stride))
    if len(starts) > 1 and total - starts[-1] < min_tail_s * fps:
        starts.pop()
    ends = [min(total, s + stride + overlap_frames) for s in starts[:-1]] + [total]
    until = start_s + total / fps
    return [ChunkSpec(k, start_s + s / fps, (e - s) / fps, until) for k, (s, e) in enumerate(zip(starts, ends))]


def find_cuts(energy: np.ndarray, *, threshold: float | None) -> np.ndarray:
    """Indices of frames that start a new shot: frame change from the previous frame above ``threshold``."""
    energy = np.asarray(energy, np.float64).reshape(-1)
    if threshold is None:
        return np.zeros(0, np.int64)
    return np.flatnonzero(energy > threshold).astype(np.int64)


def find_dissolves(
    grey: np.ndarray,
    energy: np.ndarray,
    *,
    half_window: int = 8,
    min_change: float = 0.1,
    min_straightness: float = 0.6,
    hard_threshold: float | None = 0.03,
) -> np.ndarray:
    """Middle frames of gradual shot changes (dissolves, fades), from thumbnails already made for sampling.

    A frame is inside a dissolve when the pictures ``half_window`` frames before and after it differ by
    at least ``min_change`` (mean absolute grey change) and the change went mostly one way: the
    frame-to-frame changes in between add up to no more than ``1 / min_straightness`` times it. A
    talker moving changes the picture back and forth and little (<= 0.04 on the real address footage,
    0.02 on GRID); a 0.6 s dissolve between two set-ups changes it 0.23 with a straightness of 0.84.
    A run of such frames with a hard cut (``energy`` above ``hard_threshold``) within ``2 * half_window``
    frames is left to :func:`find_cuts` (a fade often ends in one); any other run is one dissolve,
    reported at its middle frame.

    Parameters
    ----------
    grey : ndarray, shape (F, h, w)
        Small grey images of every frame (see :func:`~clipmill.vision.sampling.thumbnails`).
    energy : ndarray, shape (F,)
        Their frame-to-frame change.
    """
    grey = np.asarray(grey, np.float32)
    energy = np.asarray(energy, np.float64).reshape(-1)
    n, h = len(grey), half_window
    if n <= 2 * h:
        return np.zeros(0, np.int64)
    centres = np.arange(h, n - h)
    change = np.abs(grey[centres + h] - grey[centres - h]).mean(axis=(1, 2))
    path = np.cumsum(np.concatenate([[0.0], energy]))
    travelled = path[centres + h + 1] - path[centres - h + 1]
    gradual = (change >= min_change) & (change >= min_straightness * travelled)
    hard = np.zeros(n, bool) if hard_threshold is None else energy > hard_threshold
    found = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], gradual.astype(int), [0]])))
    for lo, hi in zip(edges[::2], edges[1::2]):
        if not hard[max(centres[lo] - 2 * h, 0) : centres[hi - 1] + 2 * h + 1].any():
            found.append(int(centres[lo] + centres[hi - 1]) // 2)
    return np.asarray(found, np.int64)


def choose_samples(
    energy: np.ndarray, *, fps: float, config: SamplingConfig, keyframes: np.ndarray | None = None
) -> np.ndarray:
    """Frames to run the detector on, given each frame's change from the previous one.

    The method's frames, plus both sides of every cut so each shot has an observed first and last
    frame. Decisions for frame ``i`` depend on ``energy[: i + 2]`` only, except that the last frame is
    always chosen: a caller streaming frames may trust all but the last index of a prefix. For the
    ``adaptive`` method these are only the frames that must be detected (first, last, cuts): its
    sampler adds the others as detections come in.

    Parameters
    ----------
    keyframes : ndarray of int, optional
        Key frame indices in the chunk, for the ``keyframe`` method.

    Returns
    -------
    ndarray of int64
        Sorted indices into ``energy``.
    """
    energy = np.asarray(energy, np.float64).reshape(-1)
    n = len(energy)
    if n == 0:
        return np.zeros(0, np.int64)
    cuts = find_cuts(energy, threshold=config.cut_threshold)
    if config.method == "uniform":
        base = sample_uniform(n, fps=fps, rate_hz=min(config.rate_hz, fps))
    elif config.method == "motion":
        base = sample_motion(
            energy, fps=fps, min_rate_hz=config.min_rate_hz, max_rate_hz=config.rate_hz,
            threshold=config.motion_threshold,
        )
    elif config.method == "keyframe":
        known = np.concatenate([np.zeros(0, np.int64) if keyframes is None else keyframes, cuts])
        base = sample_keyframes(
            n, known, fps=fps, min_rate_hz=config.min_rate_hz, max_rate_hz=min(config.rate_hz, fps)
        )
    else:
        base = np.asarray([0, n - 1], np.int64)
    around = np.concatenate([cuts - 1, cuts])
    return np.unique(np.concatenate([base, around[(around >= 0) & (around < n)]])).astype(np.int64)


@dataclass(frozen=True)
class ChunkFaces:
    """What the face stage found in one chunk.

    Attributes
    ----------
    tracks : list of Track
        Confirmed faces, ids unique within the chunk.
    rejected : list of Track
        Persistent candidates without the evidence of a face (boxes at their observed times only).
    cut_times_s : ndarray of float64
        Times of the frames that start a new shot (the chunk's first frame excluded).
    """

    tracks: list[Track]
    rejected: list[Track]
    cut_times_s: np.ndarray


def shift_faces(found: ChunkFaces, offset_s: float) -> ChunkFaces:
    """`found` with every time moved by ``offset_s`` seconds (a chunk decoded from the source onto the job's timeline)."""
    return ChunkFaces(
        [replace(tr, times=tr.times + offset_s) for tr in found.tracks],
        [replace(tr, times=tr.times + offset_s) for tr in found.rejected],
        np.asarray(found.cut_times_s, np.float64) + offset_s,
    )


def track_shots(
    frame_times: np.ndarray,
    sampled: Mapping[int, Detections],
    *,
    cuts: Sequence[int] = (),
    config: TrackerConfig | None = None,
    embeddings: Mapping[int, np.ndarray] | None = None,
) -> ChunkFaces:
    """Track one chunk shot by shot; ids are unique within the chunk, counted from 1.

    Parameters
    ----------
    frame_times : ndarray, shape (F,)
        Seconds of every decoded frame of the chunk, increasing.
    sampled : mapping of frame index to Detections
        Faces found on the detected frames.
    cuts : sequence of int
        Frame indices that start a new shot; no track crosses one.
    config : TrackerConfig, optional
        Tuning.
    embeddings : mapping of frame index to ndarray (N, D), optional
        Face embeddings of the sampled frames' detections (identity on), for the tracker.

    Returns
    -------
    ChunkFaces
        The tracks, the rejected candidates and the times of the cuts.
    """
    frame_times = np.asarray(frame_times, np.float64).reshape(-1)
    n = len(frame_times)
    bad = [i for i in sampled if not 0 <= i < n]
    if bad:
        raise InternalError(f"sampled frame indices {bad[:5]} lie outside the chunk's {n} frames")
    edges = sorted({0, n, *(int(c) for c in cuts if 0 < c < n)})
    tracks: list[Track] = []
    rejected: list[Track] = []
    next_id = 1
    for lo, hi in zip(edges[:-1], edges[1:]):
        indices = sorted(i for i in sampled if lo <= i < hi)
        if not indices:
            continue
        tracker = run_tracker(
            frame_times[indices], [sampled[i] for i in indices], config=config, first_id=next_id,
            embeddings=None if embeddings is None else [embeddings.get(i) for i in indices],
        )
        shot = tracker.tracks(frame_times[lo:hi])
        tracks.extend(shot)
        rejected.extend(replace(tr, id=len(rejected) + k) for k, tr in enumerate(tracker.rejected(), start=1))
        next_id = max([next_id - 1, *(tr.id for tr in shot)]) + 1
    return ChunkFaces(tracks, rejected, frame_times[np.asarray(edges[1:-1], np.int64)])


def stitch_chunks(
    chunks: Sequence[Sequence[Track]],
    *,
    min_iou: float = 0.5,
    max_gap_s: float = 0.0,
    reid_threshold: float | None = None,
) -> list[Track]:
    """One track list for the segment from per-chunk lists in chunk order; ids renumbered from 1.

    Chunks overlap, so a face that continues has shared frames in both chunks and is joined on them
    (:func:`~clipmill.vision.tracking.stitch_tracks`). Joining across a gap is off by default: a gap at a
    boundary is where a shot cut ended one track and began another's. With ``reid_threshold`` (a cosine
    distance), tracks carrying embeddings are then joined by identity
    (:func:`~clipmill.vision.identity.reidentify`), so one person keeps one id across cuts and occlusions.
    """
    tracks = stitch_tracks(chunks, min_iou=min_iou, max_gap_s=max_gap_s)
    if reid_threshold is None:
        return tracks
    return merge_people(tracks, reidentify(tracks, threshold=reid_threshold))


def merge_cut_times(chunks: Sequence[np.ndarray], *, fps: float) -> np.ndarray:
    """The segment's shot cuts from the chunks' (overlapping chunks find some twice), sorted, in seconds."""
    times = np.sort(np.concatenate([np.asarray(c, np.float64).reshape(-1) for c in chunks] or [np.zeros(0)]))
    if not len(times):
        return times
    return times[np.concatenate([[True], np.diff(times) > 0.5 / fps])]


def merge_people(tracks: Sequence[Track], person: Mapping[int, int]) -> list[Track]:
    """Join tracks mapped to the same person id into one track with that id, ordered by id.

    Tracks of one person must not share a time; the joined embedding is the mean of the parts'.
    """
    groups: dict[int, list[Track]] = {}
    for tr in tracks:
        groups.setdefault(int(person[tr.id]), []).append(tr)
    merged = []
    for new_id, parts in sorted(groups.items()):
        parts.sort(key=lambda tr: tr.start)
        embeddings = [tr.embedding for tr in parts if tr.embedding is not None]
        merged.append(
            Track(
                new_id,
                np.concatenate([tr.times for tr in parts]),
                np.concatenate([tr.xyxy for tr in parts]),
                np.concatenate([tr.confidence for tr in parts]),
                np.concatenate([tr.observed for tr in parts]),
                track_embedding(np.stack(embeddings)) if embeddings else None,
            )
        )
    return merged


def tracks_to_table(tracks: Sequence[Track]) -> dict[str, np.ndarray]:
    """Tracks as columns (see `TABLE_COLUMNS`), rows ordered by track then time; embeddings dropped."""
    def column(name: str, parts: list[np.ndarray]) -> np.ndarray:
        dtype = TABLE_COLUMNS[name]
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    return {
        "track_id": column("track_id", [np.full(len(tr), tr.id) for tr in tracks]),
        "t": column("t", [tr.times for tr in tracks]),
        **{name: column(name, [tr.xyxy[:, k] for tr in tracks]) for k, name in enumerate(("x1", "y1", "x2", "y2"))},
        "confidence": column("confidence", [tr.confidence for tr in tracks]),
        "observed": column("observed", [tr.observed for tr in tracks]),
    }


def table_to_tracks(table: Mapping[str, np.ndarray]) -> list[Track]:
    """Tracks from a table with `TABLE_COLUMNS`, ordered by id, each sorted by time."""
    missing = sorted(set(TABLE_COLUMNS) - set(table))
    if missing:
        raise InternalError(f"track table lacks columns {missing}; it needs {list(TABLE_COLUMNS)}")
    cols = {name: np.asarray(table[name], dtype) for name, dtype in TABLE_COLUMNS.items()}
    lengths = {len(c) for c in cols.values()}
    if len(lengths) > 1:
        raise InternalError(f"track table columns differ in length: {sorted(lengths)}")
    tracks = []
    for track_id in np.unique(cols["track_id"]):
        rows = np.flatnonzero(cols["track_id"] == track_id)
        rows = rows[np.argsort(cols["t"][rows], kind="stable")]
        xyxy = np.stack([cols[name][rows] for name in ("x1", "y1", "x2", "y2")], axis=1)
        tracks.append(Track(int(track_id), cols["t"][rows], xyxy, cols["confidence"][rows], cols["observed"][rows]))
    return tracks


def summarize_tracks(tracks: Sequence[Track], *, n_frames: int) -> dict:
    """Small JSON-ready facts about the tracks of a segment of ``n_frames`` analysed frames.

    ``coverage`` is the fraction of the segment's frames a track has a box on. The dominant track is
    the largest and most persistent face: the one with the greatest sum of box areas over its frames
    (ties to the lower id); ``None`` without tracks.
    """
    if n_frames < 1:
        raise InternalError(f"n_frames must be >= 1, got {n_frames}")
    rows, weights = [], []
    for tr in tracks:
        wh = np.clip(tr.xyxy[:, 2:] - tr.xyxy[:, :2], 0, None).astype(np.float64)
        area = wh[:, 0] * wh[:, 1]
        rows.append(
            {
                "id": int(tr.id),
                "start_s": float(tr.start),
                "end_s": float(tr.end),
                "n_frames": len(tr),
                "n_observed": int(tr.observed.sum()),
                "coverage": len(tr) / n_frames,
                "mean_area_px": float(area.mean()),
                "mean_confidence": float(np.mean(tr.confidence, dtype=np.float64)),
            }
        )
        weights.append(float(area.sum()))
    dominant = min(zip(weights, rows), key=lambda wr: (-wr[0], wr[1]["id"]))[1]["id"] if rows else None
    return {"n_tracks": len(rows), "n_frames": n_frames, "dominant_track_id": dominant, "tracks": rows}


def fps_value(fps: str | float) -> float:
    """A frame rate given as a number or a rational string (``"30000/1001"``) as a float."""
    try:
        num, _, den = str(fps).partition("/")
        value = float(num) / float(den) if den else float(num)
    except (ValueError, ZeroDivisionError) as exc:
        raise InputError(f"frame rate {fps!r} is not a number or a ratio like 30000/1001") from exc
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"frame rate must be positive, got {fps!r}")
    return value
