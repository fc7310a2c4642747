"""The face stage as a flow: chunks of the job's range fan out over Dask, then one stitch.

    plan chunks → detect-faces-chunk × N (Dask workers) → stitch-face-tracks
                → jobs/<job_id>/faces/chunk-K.parquet, tracks.parquet, tracks.json

Chunks decode straight from the source where its frames can be addressed in place and the workers
share this host (`decodes_source_in_place`), from the extracted segment otherwise. `face_stage` wraps
the flow in a task so the clip job can submit it beside its audio stages.

The Dask cluster is chosen when the flow run starts, from the environment:

- ``CLIPMILL_DASK_ADDRESS``: connect to that running scheduler (``tcp://host:8786``). Its workers are
  started elsewhere and do not see this process's settings: start them with the same
  ``CLIPMILL_STORAGE__*`` (endpoint, keys, bucket), ``CLIPMILL_HOME`` and detector weight variables.
- ``CLIPMILL_DASK_CUDA=1`` with dask-cuda installed: a ``LocalCUDACluster``, one worker per GPU.
- otherwise a ``distributed.LocalCluster`` of ``CLIPMILL_DASK_WORKERS`` (default 2) single-threaded
  worker processes, where it pays (see :func:`face_flow_for`; small machines detect in-process). They are spawned from this process and inherit its environment, so the
  ``CLIPMILL_*`` settings reach them (Prefect #15783/#17546: settings held only in memory would not).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Mapping
from typing import Any

from prefect import Flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from clipmill.artifacts.results import StageResult
from clipmill.errors import InputError
from clipmill.media import MediaInfo
from clipmill.sources import SourceRef
from clipmill.storage import job_key
from clipmill.vision.chunks import count_frames, fps_value, plan_chunks
from clipmill.vision.faces_io import FaceOptions
from flows.base import clip_flow
from tasks.faces import detect_faces_chunk, stitch_face_tracks

__all__ = [
    "EnvDaskTaskRunner", "dask_runner_options", "decodes_source_in_place", "face_flow_for", "face_stage", "face_tracks",
]

log = logging.getLogger(__name__)

#: cores below which a local Dask cluster costs more than it brings (one process already uses two)
LOCAL_CLUSTER_MIN_CORES = 4


def dask_runner_options(env: Mapping[str, str]) -> dict[str, Any]:
    """`DaskTaskRunner` keyword arguments for the cluster the environment asks for (see module doc)."""
    address = env.get("CLIPMILL_DASK_ADDRESS", "").strip()
    if address:
        return {"address": address}
    if env.get("CLIPMILL_DASK_CUDA", "").strip() == "1":
        if importlib.util.find_spec("dask_cuda") is not None:
            return {"cluster_class": "dask_cuda.LocalCUDACluster", "cluster_kwargs": {"threads_per_worker": 1}}
        log.warning("CLIPMILL_DASK_CUDA=1 but dask_cuda is not installed (pip install 'clipmill[gpu]'); using CPU")
    text = env.get("CLIPMILL_DASK_WORKERS", "2").strip()
    if not text.isdigit() or int(text) < 1:
        raise InputError(f"CLIPMILL_DASK_WORKERS must be a positive integer, got {text!r}")
    return {
        "cluster_class": "distributed.LocalCluster",
        "cluster_kwargs": {
            "n_workers": int(text), "threads_per_worker": 1, "processes": True, "dashboard_address": ":0",
        },
    }


class EnvDaskTaskRunner(ThreadPoolTaskRunner):
    """A `prefect_dask.DaskTaskRunner` configured from the environment when each flow run starts, not at import.

    It only stands for one until then (Prefect runs a flow on its runner's `duplicate`), so importing the
    flows loads neither prefect_dask nor distributed (over a second) for jobs that never detect faces.
    """

    def duplicate(self) -> Any:
        """Prefect calls this as a flow run starts: read the environment now."""
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(**dask_runner_options(os.environ))


@clip_flow(
    name="face-tracks", flow_run_name="face-tracks[{width}x{height}, {duration_s:g} s, {sampling}]",
    task_runner=EnvDaskTaskRunner(), validate_parameters=False,
)
def face_tracks(
    job_id: str,
    segment_key: str | None,
    duration_s: float,
    fps: str,
    width: int,
    height: int,
    detectors: list[str] | None = None,
    ensemble: str = "cascade",
    sampling: str = "uniform",
    sample_rate_hz: float = 5.0,
    chunk_s: float = 10.0,
    overlap_frames: int = 4,
    segment_path: str | None = None,
    identity: str | None = None,
    source: SourceRef | None = None,
    source_start_s: float = 0.0,
) -> dict[str, Any]:
    """Face tracks of a job's range, detected chunk by chunk on Dask and stitched into one id per face.

    Args:
        job_id: The job whose folder receives ``faces/``, ``tracks.parquet`` and ``tracks.json``.
        segment_key: Object key of the segment video (None when decoding from `source`).
        duration_s: Segment duration in seconds.
        fps: Segment frame rate as a rational string (``"30000/1001"``); every frame is analysed.
        width: Segment width in pixels (display orientation).
        height: Segment height in pixels.
        detectors: Face detector backends in cascade order; default MediaPipe + YuNet.
        ensemble: How detectors combine: cascade, parallel or weighted.
        sampling: Which frames are detected: uniform, motion, keyframe or adaptive.
        sample_rate_hz: Detections per second (motion sampling's highest rate).
        chunk_s: Seconds of video per Dask task.
        overlap_frames: Frames neighbouring chunks share, for stitching.
        segment_path: Local copy of the segment, used by workers on the host where it exists.
        identity: Face-embedding backend (dlib, arcface) that joins one person's tracks across cuts.
        source: The source itself, decoded in place from `source_start_s` instead of the segment.
        source_start_s: Where the job's range starts in the source (tracks are stored from 0 there).

    Returns:
        ``tracks_key``, ``summary_key``, ``chunk_keys``, the ``summary`` (``tracks.json``, see
        ``summarize_tracks``) and the ``stage`` as the manifest records it.
    """
    rate = fps_value(fps)
    options = FaceOptions(
        detectors=tuple(detectors) if detectors else None, ensemble=ensemble, sampling=sampling,
        sample_rate_hz=sample_rate_hz, chunk_s=chunk_s, overlap_frames=overlap_frames, identity=identity,
    )
    offset_s = source_start_s if source is not None else 0.0
    specs = plan_chunks(duration_s, fps=rate, chunk_s=chunk_s, overlap_frames=overlap_frames, start_s=offset_s)
    what = f"{source.name} from {offset_s:g} s" if source is not None else segment_key
    get_run_logger().info("face tracks of %s: %d chunks of %.1f s", what, len(specs), chunk_s)
    futures = detect_faces_chunk.map(
        unmapped(job_id), unmapped(segment_key), specs, unmapped(options), unmapped(rate),
        unmapped((width, height)), unmapped(segment_path), unmapped(source), unmapped(offset_s),
    )
    chunk_keys = [future.result() for future in futures]
    tracks_key, summary = stitch_face_tracks(job_id, chunk_keys, count_frames(duration_s, rate), identity, rate)
    return {
        "tracks_key": tracks_key,
        "summary_key": job_key(job_id, "tracks.json"),
        "chunk_keys": chunk_keys,
        "summary": summary.model_dump(mode="json"),
        "stage": StageResult(key=tracks_key, summary=summary.manifest_summary()),
    }


def face_flow_for(duration_s: float, *, chunk_s: float = 10.0) -> Flow:
    """`face_tracks` with the task runner that suits a segment of `duration_s` on this machine.

    A configured scheduler (``CLIPMILL_DASK_ADDRESS``) or GPUs (``CLIPMILL_DASK_CUDA``) always get the
    Dask runner. Otherwise a local cluster is started only where it can pay for its start-up and its
    workers' model loads: more than two chunks, and at least `LOCAL_CLUSTER_MIN_CORES` cores or
    ``CLIPMILL_DASK_WORKERS`` set. Measured on 2 cores, 120 s of 720p took 24.6 s in this process
    and 36–39 s on a 1- or 2-worker local cluster (bench/results).
    """
    distributed = os.environ.get("CLIPMILL_DASK_ADDRESS") or os.environ.get("CLIPMILL_DASK_CUDA") == "1"
    cores_to_spare = (os.cpu_count() or 1) >= LOCAL_CLUSTER_MIN_CORES or "CLIPMILL_DASK_WORKERS" in os.environ
    if distributed or (duration_s > 2 * chunk_s and cores_to_spare):
        return face_tracks
    return face_tracks.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))


def decodes_source_in_place(info: MediaInfo) -> bool:
    """Whether the face stage can read the job's range from the source instead of an extracted segment.

    It can when the source's frames are addressable in place and the chunks run on this host (a
    remote scheduler's workers would each fetch the whole source, where a segment is the range only).
    """
    return info.frames_addressable_in_place and not os.environ.get("CLIPMILL_DASK_ADDRESS")


def needs_segment(info: MediaInfo, *, faces_wanted: bool) -> bool:
    """Whether a job extracts its range into a segment: the render cuts the source in place only where
    its frames are addressable, and the face stage reads it in place only where `decodes_source_in_place`."""
    return not info.frames_addressable_in_place or (faces_wanted and not decodes_source_in_place(info))


@task(name="face-stage", task_run_name="face-stage[{width}x{height}, {duration_s} s, {sampling}]", cache_policy=NO_CACHE,
      persist_result=False)
def face_stage(
    job_id: str, segment_key: str | None, duration_s: float, fps: str, width: int, height: int, *,
    sampling: str, identity: str | None, source: SourceRef | None = None, source_start_s: float = 0.0,
) -> dict[str, Any]:
    """`face_tracks` (with the runner `face_flow_for` picks) as a task, so a flow can `.submit()` it and
    run it beside other stages; retries live in its chunk tasks, which a rerun finds in the store."""
    return face_flow_for(duration_s)(
        job_id, segment_key, duration_s, fps, width, height, sampling=sampling, identity=identity,
        source=source, source_start_s=source_start_s,
    )
