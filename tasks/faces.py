"""Face stage tasks: detect one chunk of the job's range, stitch the chunks into the job's tracks.

A chunk decodes its frames straight from the source (seeking to the chunk, scaled to the detection
size by ffmpeg) when the source's frames can be addressed in place, otherwise from the job's
extracted segment; either way its tracks are stored on the segment's timeline (0 = the job's start).

Both take object keys and small dataclasses and return keys (plus a JSON-sized summary): frames and
tracks stay in the object store, so nothing big passes through Prefect results or Dask futures. They
run on Dask workers, which read ``CLIPMILL_*`` settings from their own environment (see
``flows/faces.py`` for how that environment reaches them).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from prefect import get_run_logger

from blocks.object_store import resolve
from clipmill.artifacts.stages import TracksDocument
from clipmill.artifacts.store import save
from clipmill.config import Settings, load_settings
from clipmill.scratch import scratch_dir
from clipmill.source_access import source_file
from clipmill.sources import SourceRef
from clipmill.storage import ObjectStore, job_key
from clipmill.vision.chunks import ChunkSpec, merge_cut_times, shift_faces, stitch_chunks, summarize_tracks
from clipmill.vision.identity import IDENTITY_THRESHOLDS
from clipmill.vision.faces_io import (
    FaceOptions,
    analyse_chunk,
    default_analysis_size,
    read_cut_times,
    read_tracks,
    write_tracks,
)
from tasks.runtime import clip_task, object_store

__all__ = ["chunk_key", "detect_faces_chunk", "stitch_face_tracks"]


def chunk_key(job_id: str, index: int) -> str:
    """Key of one chunk's tracks: ``jobs/<job_id>/faces/chunk-<index>.parquet``."""
    return f"{job_key(job_id, 'faces')}/chunk-{index}.parquet"


def _segments_dir(settings: Settings, job_id: str) -> Path:
    return settings.cache_dir / "segments" / job_id


def local_segment(store: ObjectStore, segment_key: str, job_id: str, settings: Settings) -> Path:
    """This host's copy of the segment, downloaded once and shared by the chunks that run here.

    The download lands under a unique name and is renamed into place, so workers racing on one host
    never read a partial file.
    """
    folder = _segments_dir(settings, job_id)
    target = folder / Path(segment_key).name
    if target.is_file() and target.stat().st_size == store.size(segment_key):
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = store.get_file(segment_key, folder / f".{uuid.uuid4().hex}.part")
    os.replace(partial, target)
    return target


@clip_task(name="detect-faces-chunk", task_run_name="detect-faces-chunk[{spec.index} at {spec.start_s:.1f} s]")
def detect_faces_chunk(
    job_id: str,
    segment_key: str | None,
    spec: ChunkSpec,
    options: FaceOptions,
    fps: float,
    source_size: tuple[int, int],
    segment_path: str | None = None,
    source: SourceRef | None = None,
    source_start_s: float = 0.0,
) -> str:
    """Detect and track faces in one chunk; store ``faces/chunk-K.parquet``, return its key.

    A chunk already stored by an earlier run is not redone (resume). With a `source`, `spec` lies on
    the source's timeline and the chunk is decoded from the source's local snapshot, its times moved
    back by `source_start_s` (the job's start); otherwise it is decoded from the segment:
    ``segment_path``, a local copy, when it exists on the worker's host, else downloaded once per host.
    """
    log = get_run_logger()
    settings = load_settings()
    store = object_store(settings)
    key = chunk_key(job_id, spec.index)
    if store.exists(key):
        log.info("reusing stored %s", key)
        return key
    if source is not None:
        path = source_file(source, settings, resolve_block=resolve)
    elif segment_path and Path(segment_path).is_file():
        path = Path(segment_path)
    else:
        path = local_segment(store, segment_key, job_id, settings)
    found = analyse_chunk(
        path, spec, fps=fps, source_size=tuple(source_size),
        analysis_size=default_analysis_size(*source_size, max_side=options.analysis_max_side),
        ensemble_config=options.ensemble_config(), sampling=options.sampling_config(), ffmpeg=settings.ffmpeg,
        identity=options.identity,
    )
    found = shift_faces(found, -source_start_s) if source is not None else found
    with scratch_dir(settings.temp_dir) as folder:
        store.put_file(key, write_tracks(found.tracks, folder / "chunk.parquet", cut_times_s=found.cut_times_s))
    log.info(
        "chunk %d [%.3f, %.3f) s: %d tracks, %d shot cuts, %d rejected candidates -> %s", spec.index, spec.start_s,
        spec.end_s, len(found.tracks), len(found.cut_times_s), len(found.rejected), key,
    )
    return key


@clip_task(name="stitch-face-tracks")
def stitch_face_tracks(
    job_id: str, chunk_keys: list[str], n_frames: int, identity: str | None = None, fps: float = 25.0
) -> tuple[str, TracksDocument]:
    """Join the chunks' tracks into ``tracks.parquet`` and store its summary as ``tracks.json``.

    With an `identity` backend, tracks of the same person (by face embedding) are joined across
    cuts and occlusions. The chunks' shot cuts (`fps`: the analysis rate) travel with the tracks
    and into the summary as ``cut_times_s``.

    Returns the tracks key and the summary (see :func:`clipmill.vision.chunks.summarize_tracks`). This
    host's cached copy of the segment is removed: the chunks are done.
    """
    settings = load_settings()
    store = object_store(settings)
    with scratch_dir(settings.temp_dir) as folder:
        paths = [store.get_file(key, folder / f"chunk-{i}.parquet") for i, key in enumerate(chunk_keys)]
        tracks = stitch_chunks(
            [read_tracks(p) for p in paths], reid_threshold=IDENTITY_THRESHOLDS[identity] if identity else None
        )
        cuts = merge_cut_times([read_cut_times(p) for p in paths], fps=fps)
        key = job_key(job_id, "tracks.parquet")
        store.put_file(key, write_tracks(tracks, folder / "tracks.parquet", cut_times_s=cuts))
    summary = TracksDocument.model_validate(
        {**summarize_tracks(tracks, n_frames=n_frames), "cut_times_s": [round(float(t), 6) for t in cuts]}
    )
    save(store, job_key(job_id, "tracks.json"), summary)
    shutil.rmtree(_segments_dir(settings, job_id), ignore_errors=True)
    get_run_logger().info(
        "%d chunks -> %d tracks (dominant %s) -> %s", len(chunk_keys), summary.n_tracks, summary.dominant_track_id, key,
    )
    return key, summary
