"""Face tracks from per-frame detections: Kalman filter, IoU association, chunk stitching.

Each track owns a small constant-velocity Kalman filter on box centre, aspect ratio and height (the
DeepSORT parametrisation) in seconds, so sampling may be uneven. At every sampled frame the tracks are
predicted, matched to detections by IoU with ``scipy.optimize.linear_sum_assignment`` and updated with a
measurement noise that grows as detection confidence falls. With face embeddings (identity on), the
cost adds the cosine distance between a detection and the track's mean embedding, and a detection too
far from it cannot join the track: another person stepping into the same place starts a new track.
Tracks lost behind an occluder keep predicting and are matched again by centre distance (occlusion
bridging) until ``max_age_s``. Frames between samples get boxes interpolated between the filtered
states either side, and frames after the last sample are predicted, so every output frame inside a
track has a box. Chunks decoded separately (overlapping by a few frames) are joined by
:func:`stitch_tracks` so one person keeps one id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from clipmill.errors import InputError, InternalError
from clipmill.vision.detections import Detections, box_iou
from clipmill.vision.embeddings import cosine_distances, unit_rows

__all__ = ["FaceTracker", "KalmanBoxFilter", "Track", "TrackerConfig", "run_tracker", "stitch_tracks", "track_faces"]

log = logging.getLogger(__name__)

_INFEASIBLE = 1e6


@dataclass(frozen=True, eq=False)
class Track:
    """One face over time.

    Attributes
    ----------
    id : int
        Track id, unique within a clip once stitched.
    times : ndarray, shape (T,), float64
        Seconds on the caller's timeline, increasing.
    xyxy : ndarray, shape (T, 4), float32
        Box per time in source pixels.
    confidence : ndarray, shape (T,), float32
        Detection confidence, interpolated between observations and held on predicted frames.
    observed : ndarray, shape (T,), bool
        True where a detection supported the box (a sampled frame), False where interpolated/predicted.
    embedding : ndarray, optional
        Mean face embedding when identity is on.
    """

    id: int
    times: np.ndarray
    xyxy: np.ndarray
    confidence: np.ndarray
    observed: np.ndarray | None = None
    embedding: np.ndarray | None = None

    def __post_init__(self) -> None:
        times = np.asarray(self.times, np.float64).reshape(-1)
        xyxy = np.asarray(self.xyxy, np.float32).reshape(-1, 4)
        confidence = np.asarray(self.confidence, np.float32).reshape(-1)
        observed = np.ones(len(times), bool) if self.observed is None else np.asarray(self.observed, bool)
        if not len(times) == len(xyxy) == len(confidence) == len(observed):
            raise InternalError(
                f"track {self.id}: times, xyxy, confidence, observed lengths differ: "
                f"{len(times)}, {len(xyxy)}, {len(confidence)}, {len(observed)}"
            )
        if np.any(np.diff(times) <= 0):
            raise InternalError(f"track {self.id}: times must be strictly increasing")
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "confidence", confidence)
        object.__setattr__(self, "observed", observed)

    def __len__(self) -> int:
        return len(self.times)

    @property
    def start(self) -> float:
        """Time of the first box."""
        return float(self.times[0])

    @property
    def end(self) -> float:
        """Time of the last box."""
        return float(self.times[-1])

    def at(self, t: float, *, tolerance_s: float = 1e-6) -> np.ndarray | None:
        """The box at time ``t`` (within ``tolerance_s``), or None outside the track."""
        i = int(np.searchsorted(self.times, t - tolerance_s))
        if i < len(self.times) and abs(self.times[i] - t) <= tolerance_s:
            return self.xyxy[i]
        return None


@dataclass(frozen=True)
class TrackerConfig:
    """Tuning of :class:`FaceTracker`.

    Attributes
    ----------
    iou_threshold : float
        Minimum IoU between a predicted box and a detection to associate them.
    min_hits : int
        Observations with evidence before a track is confirmed (born); unconfirmed tracks vanish at their
        first miss, and a track that never gathers the evidence is never output (see `rejected`).
    min_support, strong_confidence : int, float
        A detection is evidence of a face when at least ``min_support`` ensemble members found it, or
        when its confidence reaches ``strong_confidence``. Weaker detections still extend a track, but
        cannot make one: on real footage a seal or a portrait behind the speaker draws 0.5-0.73 from
        YuNet alone, frame after frame, while faces get >= 0.9 from it or the agreement of both members.
    max_age_s : float
        Seconds a confirmed track survives without a detection (occlusion bridging); then it ends.
    bridge_distance : float
        Occlusion bridging: a lost track may take an unmatched detection whose centre lies within this
        many track heights of its predicted centre (and whose height is within a factor 2).
    position_noise, velocity_noise : float
        Process noise: standard deviation of position (and velocity, per second) change over one
        second, as a fraction of the box height.
    measurement_noise : float
        Standard deviation of a detection's centre and height at confidence 1, as a fraction of the
        box height; divided by the confidence for weaker detections.
    max_embedding_distance : float or None
        With embeddings: the largest cosine distance between a detection and a track's mean embedding
        that may still associate them; ``None`` ignores embeddings.
    embedding_weight : float
        Weight of the embedding distance (as a fraction of ``max_embedding_distance``) against
        ``1 - IoU`` in the association cost.
    """

    iou_threshold: float = 0.2
    min_hits: int = 3
    min_support: int = 2
    strong_confidence: float = 0.8
    max_age_s: float = 2.0
    bridge_distance: float = 1.5
    position_noise: float = 0.1
    velocity_noise: float = 0.5
    measurement_noise: float = 0.05
    max_embedding_distance: float | None = None
    embedding_weight: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.iou_threshold < 1.0:
            raise InputError(f"iou_threshold must lie in (0, 1), got {self.iou_threshold}")
        if self.min_hits < 1:
            raise InputError(f"min_hits must be >= 1, got {self.min_hits}")
        if self.max_age_s < 0:
            raise InputError(f"max_age_s must be >= 0, got {self.max_age_s}")
        if self.max_embedding_distance is not None and self.max_embedding_distance <= 0:
            raise InputError(f"max_embedding_distance must be > 0 or None, got {self.max_embedding_distance}")


def _xyxy_to_z(xyxy: np.ndarray) -> np.ndarray:
    """Box to measurement ``(cx, cy, aspect w/h, h)``."""
    x1, y1, x2, y2 = np.asarray(xyxy, np.float64)
    w, h = max(x2 - x1, 1e-3), max(y2 - y1, 1e-3)
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, w / h, h])


def _z_to_xyxy(z: np.ndarray) -> np.ndarray:
    """Measurement-space state ``(cx, cy, a, h)`` to box."""
    cx, cy, a, h = z[:4]
    h = max(h, 1e-3)
    w = max(a, 1e-3) * h
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


class KalmanBoxFilter:
    """Constant-velocity Kalman filter on ``(cx, cy, aspect, h)`` and their rates, time in seconds.

    Noise scales with the box height, so the same tuning works for near and far faces.
    """

    _H = np.hstack([np.eye(4), np.zeros((4, 4))])

    def __init__(self, xyxy: np.ndarray, t: float, config: TrackerConfig) -> None:
        z = _xyxy_to_z(xyxy)
        self.config = config
        self.t = t
        self.x = np.concatenate([z, np.zeros(4)])
        h = z[3]
        std = np.array(
            [2 * config.measurement_noise * h] * 2
            + [0.05, 2 * config.measurement_noise * h]
            + [config.velocity_noise * h * 2] * 2
            + [0.05, config.velocity_noise * h]
        )
        self.P = np.diag(std**2)

    def _transition(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        F = np.eye(8)
        F[:4, 4:] = np.eye(4) * dt
        h = max(self.x[3], 1.0)
        c = self.config
        std = np.array(
            [c.position_noise * h] * 2
            + [0.01, c.position_noise * h]
            + [c.velocity_noise * h] * 2
            + [0.01, c.velocity_noise * h]
        )
        return F, np.diag(std**2) * max(dt, 1e-6)

    def predicted(self, t: float) -> np.ndarray:
        """State mean at time ``t`` without changing the filter."""
        F, _ = self._transition(t - self.t)
        return F @ self.x

    def predict(self, t: float) -> None:
        """Advance the state to time ``t``."""
        F, Q = self._transition(t - self.t)
        self.x = F @ self.x
        self.P = F @ self.P @ F.T + Q
        self.t = t

    def update(self, xyxy: np.ndarray, confidence: float) -> None:
        """Correct the state with a detection; less confident detections move it less."""
        z = _xyxy_to_z(xyxy)
        conf = float(np.clip(confidence, 0.1, 1.0))
        h = max(self.x[3], 1.0)
        std = np.array([self.config.measurement_noise * h] * 2 + [0.02, self.config.measurement_noise * h])
        R = np.diag((std / conf) ** 2)
        S = self._H @ self.P @ self._H.T + R
        K = np.linalg.solve(S, self._H @ self.P).T
        self.x = self.x + K @ (z - self._H @ self.x)
        self.P = (np.eye(8) - K @ self._H) @ self.P

    @property
    def box(self) -> np.ndarray:
        """Current box ``x1, y1, x2, y2``."""
        return _z_to_xyxy(self.x)


@dataclass(eq=False)
class _LiveTrack:
    id: int
    kf: KalmanBoxFilter
    hits: int = 1
    evidence: int = 0
    last_seen: float = 0.0
    confirmed: bool = False
    times: list[float] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    embedding_sum: np.ndarray | None = None

    def record(self, t: float, confidence: float, embedding: np.ndarray | None = None) -> None:
        self.times.append(t)
        self.boxes.append(self.kf.box)
        self.confidences.append(confidence)
        self.last_seen = t
        if embedding is not None:
            self.embedding_sum = embedding if self.embedding_sum is None else self.embedding_sum + embedding

    @property
    def embedding(self) -> np.ndarray | None:
        """Mean of the matched detections' unit embeddings, normalised; None without embeddings."""
        return None if self.embedding_sum is None else unit_rows(self.embedding_sum)


def _assign(cost: np.ndarray, *, max_cost: float) -> list[tuple[int, int]]:
    """Minimum-cost matching of rows to columns, dropping pairs whose cost exceeds ``max_cost``."""
    if cost.size == 0:
        return []
    from scipy.optimize import linear_sum_assignment  # 0.3 s to import: only where faces are tracked

    gated = np.where(cost <= max_cost, cost, _INFEASIBLE)
    rows, cols = linear_sum_assignment(gated)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if gated[r, c] < _INFEASIBLE]


class FaceTracker:
    """Online multi-face tracker; feed sampled frames in time order, then read the tracks.

    Parameters
    ----------
    config : TrackerConfig
        Tuning.
    first_id : int
        Id given to the first confirmed track.
    """

    def __init__(self, config: TrackerConfig | None = None, *, first_id: int = 1) -> None:
        self.config = config or TrackerConfig()
        self._next_id = first_id
        self._tentative_id = -1
        self._live: list[_LiveTrack] = []
        self._done: list[_LiveTrack] = []
        self._rejected: list[_LiveTrack] = []
        self._last_t: float | None = None

    def update(self, t: float, detections: Detections, embeddings: np.ndarray | None = None) -> None:
        """Advance to sampled time ``t`` (seconds) and associate that frame's detections.

        ``embeddings`` (N, D), one per detection, take part in the association when the config sets
        ``max_embedding_distance``.
        """
        if self._last_t is not None and t <= self._last_t:
            raise InternalError(f"tracker times must increase: got {t} after {self._last_t}")
        if embeddings is not None:
            embeddings = unit_rows(np.asarray(embeddings, np.float32).reshape(len(detections), -1))
        self._last_t = t
        c = self.config
        for tr in self._live:
            tr.kf.predict(t)
        predicted = np.array([tr.kf.box for tr in self._live]).reshape(-1, 4)
        distance = self._embedding_distance(embeddings, len(detections))
        iou_cost = 1.0 - box_iou(predicted, detections.xyxy)
        cost = np.where(iou_cost <= 1.0 - c.iou_threshold, iou_cost, _INFEASIBLE) + distance
        matches = _assign(cost, max_cost=_INFEASIBLE / 2)
        free_tracks = sorted(set(range(len(self._live))) - {r for r, _ in matches})
        free_dets = sorted(set(range(len(detections))) - {d for _, d in matches})
        lost = [i for i in free_tracks if self._live[i].confirmed]
        if lost and free_dets:
            bridge = np.array(
                [[self._bridge_cost(self._live[i], detections.xyxy[d]) for d in free_dets] for i in lost]
            )
            bridge = np.where(bridge <= c.bridge_distance, bridge, _INFEASIBLE) + distance[np.ix_(lost, free_dets)]
            for r, k in _assign(bridge, max_cost=_INFEASIBLE / 2):
                matches.append((lost[r], free_dets[k]))
                log.debug("bridged track %d at t=%.3f", self._live[lost[r]].id, t)
        evidence = (detections.support >= c.min_support) | (detections.confidence >= c.strong_confidence)
        matched_tracks = set()
        for i, d in matches:
            tr = self._live[i]
            tr.kf.update(detections.xyxy[d], float(detections.confidence[d]))
            tr.hits += 1
            tr.evidence += int(evidence[d])
            tr.record(t, float(detections.confidence[d]), None if embeddings is None else embeddings[d])
            self._confirm_if_due(tr)
            matched_tracks.add(i)
        survivors = []
        for i, tr in enumerate(self._live):
            if i in matched_tracks or (tr.confirmed and t - tr.last_seen <= c.max_age_s):
                survivors.append(tr)
            elif tr.confirmed:
                self._done.append(tr)
            elif tr.hits >= c.min_hits:
                self._rejected.append(tr)
        for d in sorted(set(range(len(detections))) - {d for _, d in matches}):
            tr = _LiveTrack(
                self._tentative_id, KalmanBoxFilter(detections.xyxy[d], t, c), evidence=int(evidence[d]), last_seen=t
            )
            self._tentative_id -= 1
            tr.record(t, float(detections.confidence[d]), None if embeddings is None else embeddings[d])
            self._confirm_if_due(tr)
            survivors.append(tr)
        self._live = survivors

    def _confirm_if_due(self, tr: _LiveTrack) -> None:
        """Give a tentative track its id once it has ``min_hits`` observations with evidence of a face."""
        if not tr.confirmed and tr.evidence >= self.config.min_hits:
            tr.confirmed, tr.id = True, self._next_id
            self._next_id += 1

    def _embedding_distance(self, embeddings: np.ndarray | None, n_dets: int) -> np.ndarray:
        """Cost term per (live track, detection): weighted cosine distance, infeasible beyond the limit.

        Zero where embeddings are off, missing for the track, or not given for this frame.
        """
        limit = self.config.max_embedding_distance
        distance = np.zeros((len(self._live), n_dets))
        if embeddings is None or limit is None:
            return distance
        for i, tr in enumerate(self._live):
            mean = tr.embedding
            if mean is None or mean.shape[-1] != embeddings.shape[-1]:
                continue
            d = cosine_distances(embeddings, mean)[:, 0]
            distance[i] = np.where(d <= limit, self.config.embedding_weight * d / limit, _INFEASIBLE)
        return distance

    def _bridge_cost(self, tr: _LiveTrack, xyxy: np.ndarray) -> float:
        """Centre distance in track heights, infeasible when the sizes differ by more than 2x."""
        z = _xyxy_to_z(xyxy)
        h = max(tr.kf.x[3], 1.0)
        if not 0.5 <= z[3] / h <= 2.0:
            return _INFEASIBLE
        return float(np.hypot(*(z[:2] - tr.kf.x[:2])) / h)

    def tracks(self, frame_times: np.ndarray | None = None) -> list[Track]:
        """Confirmed tracks resampled on ``frame_times`` (default: the sampled times), by id.

        Inside a track, frames between observations are interpolated between filtered states; for a
        track still seen at the last sampled time, frames after it are predicted by the filter.
        """
        confirmed = [tr for tr in self._done + self._live if tr.confirmed]
        if frame_times is None:
            frame_times = np.unique(np.concatenate([np.asarray(tr.times) for tr in confirmed] or [[]]))
        frame_times = np.asarray(frame_times, np.float64)
        out = []
        for tr in sorted(confirmed, key=lambda tr: tr.id):
            out.append(self._resample(tr, frame_times))
        return [t for t in out if len(t)]

    def rejected(self) -> list[Track]:
        """Candidates seen at least ``min_hits`` times that never had the evidence of a face, ids from 1.

        Boxes only at the observed times: they are what a person checking the tracker wants to see
        (``clipmill faces --overlay``), not faces.
        """
        c = self.config
        persistent = self._rejected + [tr for tr in self._live if not tr.confirmed and tr.hits >= c.min_hits]
        persistent.sort(key=lambda tr: tr.times[0])
        return [
            Track(k, np.asarray(tr.times), np.asarray(tr.boxes), np.asarray(tr.confidences))
            for k, tr in enumerate(persistent, start=1)
        ]

    def _resample(self, tr: _LiveTrack, frame_times: np.ndarray) -> Track:
        obs_t = np.asarray(tr.times)
        obs_box = np.asarray(tr.boxes)
        obs_conf = np.asarray(tr.confidences)
        eps = 1e-9
        inside = frame_times[(frame_times >= obs_t[0] - eps) & (frame_times <= obs_t[-1] + eps)]
        xyxy = np.stack([np.interp(inside, obs_t, obs_box[:, k]) for k in range(4)], axis=1)
        conf = np.interp(inside, obs_t, obs_conf)
        observed = np.isin(np.round(inside * 1e6), np.round(obs_t * 1e6))
        if self._last_t is not None and tr.last_seen == self._last_t and tr in self._live:
            tail = frame_times[frame_times > obs_t[-1] + eps]
            if len(tail):
                tail_box = np.array([_z_to_xyxy(tr.kf.predicted(t)) for t in tail])
                inside = np.concatenate([inside, tail])
                xyxy = np.concatenate([xyxy, tail_box])
                conf = np.concatenate([conf, np.full(len(tail), obs_conf[-1])])
                observed = np.concatenate([observed, np.zeros(len(tail), bool)])
        return Track(tr.id, inside, xyxy, conf, observed, tr.embedding)


def track_faces(
    times: np.ndarray,
    detections: Sequence[Detections],
    *,
    frame_times: np.ndarray | None = None,
    config: TrackerConfig | None = None,
    first_id: int = 1,
    embeddings: Sequence[np.ndarray | None] | None = None,
) -> list[Track]:
    """Track faces through sampled frames.

    Parameters
    ----------
    times : ndarray, shape (S,)
        Seconds of the sampled (detected) frames, increasing.
    detections : sequence of Detections, length S
        Faces per sampled frame.
    frame_times : ndarray, optional
        Seconds of every output frame (all decoded frames); tracks get a box on each one they span.
    config : TrackerConfig, optional
        Tuning.
    first_id : int
        Id of the first confirmed track.
    embeddings : sequence of ndarray (N, D) or None, optional
        Face embeddings per sampled frame, one row per detection (None for a frame without them);
        tracks then carry their mean embedding, and association uses it when ``config`` allows.

    Returns
    -------
    list of Track
        Confirmed tracks ordered by id.
    """
    tracker = run_tracker(times, detections, config=config, first_id=first_id, embeddings=embeddings)
    return tracker.tracks(np.asarray(times, np.float64) if frame_times is None else frame_times)


def run_tracker(
    times: np.ndarray,
    detections: Sequence[Detections],
    *,
    config: TrackerConfig | None = None,
    first_id: int = 1,
    embeddings: Sequence[np.ndarray | None] | None = None,
) -> FaceTracker:
    """A `FaceTracker` fed every sampled frame (arguments as `track_faces`), to read tracks and rejects from."""
    times = np.asarray(times, np.float64)
    if len(times) != len(detections) or (embeddings is not None and len(embeddings) != len(times)):
        raise InternalError(
            f"{len(times)} times for {len(detections)} frames of detections"
            + ("" if embeddings is None else f" and {len(embeddings)} of embeddings")
        )
    tracker = FaceTracker(config, first_id=first_id)
    for k, (t, dets) in enumerate(zip(times, detections)):
        tracker.update(float(t), dets, None if embeddings is None else embeddings[k])
    return tracker


def _overlap_score(a: Track, b: Track, *, max_gap_s: float) -> float:
    """Mean IoU of ``a`` and ``b`` on their shared times, or IoU across a short gap, else 0."""
    ka, kb = np.round(a.times * 1e6).astype(np.int64), np.round(b.times * 1e6).astype(np.int64)
    _, ia, ib = np.intersect1d(ka, kb, return_indices=True)
    if len(ia):
        return float(np.mean(np.diag(box_iou(a.xyxy[ia], b.xyxy[ib]))))
    gap = b.start - a.end
    if 0 < gap <= max_gap_s:
        return float(box_iou(a.xyxy[-1:], b.xyxy[:1])[0, 0])
    return 0.0


def _join(a: Track, b: Track, track_id: int) -> Track:
    """``a`` then ``b``; on shared times ``a`` up to the middle of the overlap, ``b`` after it."""
    shared = a.times[a.times >= b.start]
    cut = (shared[0] + shared[-1]) / 2 if len(shared) else b.start
    ka = a.times < cut if len(shared) else np.ones(len(a), bool)
    kb = b.times >= cut if len(shared) else np.ones(len(b), bool)
    return Track(
        track_id,
        np.concatenate([a.times[ka], b.times[kb]]),
        np.concatenate([a.xyxy[ka], b.xyxy[kb]]),
        np.concatenate([a.confidence[ka], b.confidence[kb]]),
        np.concatenate([a.observed[ka], b.observed[kb]]),
        a.embedding if a.embedding is not None else b.embedding,
    )


def stitch_tracks(
    chunks: Sequence[Sequence[Track]],
    *,
    min_iou: float = 0.5,
    max_gap_s: float = 0.5,
) -> list[Track]:
    """Join the tracks of consecutive chunks so one face keeps one id across chunk boundaries.

    Chunks are in time order and may overlap by a few frames. A track of chunk ``k+1`` continues a
    track that reaches its start when their boxes agree on the shared frames (mean IoU >= ``min_iou``)
    or, without shared frames, across a gap of at most ``max_gap_s``. Pairs are chosen by
    ``linear_sum_assignment``; ids are renumbered from 1 in order of first appearance.
    """
    stitched: list[Track] = []
    for chunk in chunks:
        chunk = sorted(chunk, key=lambda tr: (tr.start, tr.id))
        if not chunk:
            continue
        chunk_start = min(tr.start for tr in chunk)
        open_idx = [i for i, tr in enumerate(stitched) if tr.end >= chunk_start - max_gap_s]
        score = np.array(
            [[_overlap_score(stitched[i], tr, max_gap_s=max_gap_s) for tr in chunk] for i in open_idx]
        ).reshape(len(open_idx), len(chunk))
        pairs = _assign(1.0 - score, max_cost=1.0 - min_iou)
        joined = set()
        for r, k in pairs:
            i = open_idx[r]
            stitched[i] = _join(stitched[i], chunk[k], stitched[i].id)
            joined.add(k)
        for k, tr in enumerate(chunk):
            if k not in joined:
                stitched.append(
                    Track(len(stitched) + 1, tr.times, tr.xyxy, tr.confidence, tr.observed, tr.embedding)
                )
    return stitched
