"""Extract the requested range into the job's folder: ``jobs/<job_id>/segment.mp4``."""

from __future__ import annotations

from prefect import get_run_logger

from blocks.object_store import resolve
from clipmill import media
from clipmill.artifacts.stages import DecodeReportDocument
from clipmill.artifacts.store import load, save
from clipmill.config import load_settings
from clipmill.jobs import ClipJob
from clipmill.media import DecodeReport, MediaInfo
from clipmill.media.tool import check_decoded
from clipmill.scratch import scratch_dir
from clipmill.source_access import local_source
from clipmill.space import ensure_free
from clipmill.storage import ObjectStore, job_key
from tasks.runtime import clip_task, object_store


@clip_task(name="extract-segment")
def extract_segment(job: ClipJob, info: MediaInfo) -> str:
    """Cut ``[start, end)`` frame-accurately; a stored segment from an earlier run is reused.

    What the decoders reported while reading the source is stored beside the segment
    (`segment_decode_report`) and checked against the request, so a damaged range fails here, or,
    when the request allows decode errors, reaches the manifest.
    """
    settings = load_settings()
    store = object_store(settings)
    key = job_key(job.analysis_id, "segment.mp4")
    if store.exists(key):
        get_run_logger().info("reusing stored %s", key)
        _check(job, segment_decode_report(store, job))
        return key
    with scratch_dir(settings.temp_dir) as folder, local_source(job.source, settings, resolve_block=resolve) as source:
        ensure_free(folder, int(job.source.size_bytes * job.duration_s / info.duration_s), what="the segment")
        output = folder / "segment.mp4"
        _, report = media.extract_reporting(
            source, output, info=info, start_s=job.start_s, end_s=job.end_s,
            ffmpeg=settings.ffmpeg, ffprobe=settings.ffprobe,
        )
        _check(job, report)
        if report.errors:
            save(store, _report_key(job), DecodeReportDocument.of(report))
        store.put_file(key, output, content_type="video/mp4")
    return key


def segment_decode_report(store: ObjectStore, job: ClipJob) -> DecodeReport:
    """The decode errors met while the job's segment was extracted (none when nothing was stored)."""
    key = _report_key(job)
    if not store.exists(key):
        return DecodeReport()
    return load(store, key, DecodeReportDocument).report()


def _report_key(job: ClipJob) -> str:
    return job_key(job.analysis_id, "segment-decode.json")


def _check(job: ClipJob, report: DecodeReport) -> None:
    check_decoded(report, source=job.source.uri, start_s=job.start_s, end_s=job.end_s,
                  allowed=job.options.allow_decode_errors)
