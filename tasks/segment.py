"""Extract the requested range into the job's folder: ``jobs/<job_id>/segment.mp4``."""

from __future__ import annotations

from prefect import get_run_logger

from clipmill import media
from clipmill.config import load_settings
from clipmill.jobs import ClipJob
from clipmill.media import MediaInfo
from clipmill.storage import job_key
from tasks.runtime import clip_task, local_source, object_store, scratch_dir


@clip_task(name="extract-segment")
def extract_segment(job: ClipJob, info: MediaInfo) -> str:
    """Cut ``[start, end)`` frame-accurately; a stored segment from an earlier run is reused."""
    settings = load_settings()
    store = object_store(settings)
    key = job_key(job.analysis_id, "segment.mp4")
    if store.exists(key):
        get_run_logger().info("reusing stored %s", key)
        return key
    with scratch_dir(settings) as folder, local_source(job.source, settings) as source:
        output = folder / "segment.mp4"
        media.extract_segment(
            source, output, info=info, start_s=job.start_s, end_s=job.end_s,
            ffmpeg=settings.ffmpeg, ffprobe=settings.ffprobe,
        )
        store.put_file(key, output, content_type="video/mp4")
    return key
