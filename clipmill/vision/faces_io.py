"""Face stage at the edge: detect and track one chunk of a video file, read and write track Parquet.

:func:`detect_chunk` streams the chunk's frames through ffmpeg a batch at a time (memory is one batch,
not the chunk), picks the frames to detect as they arrive (:func:`~clipmill.vision.chunks.choose_samples`),
runs the ensemble on them, then tracks shot by shot so every decoded frame inside a track has a box.
Boxes come back in source pixels whatever size the frames were analysed at.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

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
from clipmill.vision.ensemble import DEFAULT_DETECTORS, Ensemble, EnsembleConfig, load_ensemble
from clipmill.vision.sampling import motion_energy
from clipmill.vision.tracking import Track, TrackerConfig

__all__ = ["FaceOptions", "default_analysis_size", "detect_chunk", "read_tracks", "write_tracks"]

log = logging.getLogger(__name__)

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
    """

    detectors: tuple[str, ...] | None = None
    ensemble: str = "parallel"
    sampling: str = "uniform"
    sample_rate_hz: float = 5.0
    chunk_s: float = 10.0
    overlap_frames: int = 4
    analysis_max_side: int | None = 1280

    def __post_init__(self) -> None:
        if self.detectors is not None:
            object.__setattr__(self, "detectors", tuple(self.detectors))
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
    """Write tracks to a Parquet file with the columns of `~clipmill.vision.chunks.TABLE_COLUMNS`."""
    table = tracks_to_table(tracks)
    pq.write_table(pa.Table.from_pydict(table, schema=_SCHEMA), path)
    return path


def read_tracks(path: Path) -> list[Track]:
    """Read tracks written by :func:`write_tracks`."""
    table = pq.read_table(path)
    return table_to_tracks({name: table.column(name).to_numpy() for name in table.column_names})


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
    """
    if source_size is None:
        info = probe(path)
        source_size = info.display_size
    size = analysis_size or default_analysis_size(*source_size)
    sampling = sampling or SamplingConfig()
    scale = (source_size[0] / size[0], source_size[1] / size[1])
    expected = spec.n_frames(fps)
    started = time.perf_counter()
    ensemble = load_ensemble(ensemble_config)
    try:
        times, energy, sampled = _detect_stream(
            path, spec, fps=fps, size=size, expected=expected, ensemble=ensemble, scale=scale,
            sampling=sampling, batch_frames=batch_frames, ffmpeg=ffmpeg,
        )
    finally:
        ensemble.close()
    cuts = find_cuts(energy, threshold=sampling.cut_threshold)
    tracks = track_chunk(times, sampled, cuts=cuts, config=tracker_config)
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
        _detect_into(sampled, ensemble, stacked, final, first, scale)
        carry = frames[-1]
        if decoded >= expected:
            break
    if carry is None:
        raise InputError(f"chunk {spec.index} of {path.name} at {spec.start_s:.3f} s decoded no frames")
    _detect_into(sampled, ensemble, carry[None], np.asarray([decoded - 1]), decoded - 1, scale)
    return np.concatenate(times), np.concatenate(energy), sampled


def _detect_into(
    sampled: dict[int, Detections],
    ensemble: Ensemble,
    frames: np.ndarray,
    indices: np.ndarray,
    first: int,
    scale: tuple[float, float],
) -> None:
    """Detect ``frames[indices - first]`` and store their faces, in source pixels, under ``indices``."""
    indices = [int(i) for i in indices if int(i) not in sampled]
    if not indices:
        return
    found = ensemble.detect(np.ascontiguousarray(frames[np.asarray(indices) - first]))
    for i, dets in zip(indices, found):
        sampled[i] = dets.scale(*scale)
