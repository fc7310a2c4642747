"""Source tasks: fingerprint the source, probe it, and check the request against it."""

from __future__ import annotations

from prefect import get_run_logger

from blocks.object_store import resolve
from clipmill import media
from clipmill.analysis_slice import is_analysis_of, refusal
from clipmill.artifacts.store import load
from clipmill.artifacts.suggestions import SourceAnalysisDocument
from clipmill.config import ClipOptions, load_settings
from clipmill.jobs import ClipJob, plan_job
from clipmill.media import MediaInfo
from clipmill.source_access import fingerprint, local_source
from clipmill.sources import SourceRef, printable
from tasks.runtime import clip_task, object_store


@clip_task(name="stage-source")
def stage_source(source: str) -> SourceRef:
    """Locate the source and hash its content; object sources are cached locally once."""
    ref = fingerprint(source, load_settings(), resolve_block=resolve)
    get_run_logger().info("source %s: %d bytes, sha256 %s", printable(ref.uri), ref.size_bytes, ref.sha256[:16])
    return ref


@clip_task(name="probe-source")
def probe_source(
    ref: SourceRef, start_s: float, end_s: float | None, options: ClipOptions, transcript: SourceRef | None = None,
    analysis_key: str | None = None,
) -> tuple[MediaInfo, ClipJob]:
    """Probe the source and validate the requested range against it (no end: the source's end);
    derive the job's ids (from the transcript's content too, when one is given). With the key of the
    whole-source analysis the range was chosen from, the job slices its speech from it when it can."""
    settings = load_settings()
    with local_source(ref, settings, resolve_block=resolve) as path:
        info = media.check_complete(
            media.probe(path, ffprobe=settings.ffprobe), path, allow_truncated=options.allow_truncated
        )
    end_s = info.duration_s if end_s is None else end_s
    speech_from = _speech_source(analysis_key, ref, end_s, options) if analysis_key and info.has_audio else None
    job = plan_job(ref, info, start_s=start_s, end_s=end_s, options=options, transcript=transcript,
                   speech_from=speech_from)
    get_run_logger().info(
        "%s: %.3f s, %dx%d @ %s fps, audio: %s; job %s -> clip %s",
        printable(ref.name), info.duration_s, info.width, info.height, info.fps, info.audio_codec or "none",
        job.job_id, job.clip_id,
    )
    return info, job


def _speech_source(analysis_key: str, ref: SourceRef, end_s: float, options: ClipOptions) -> str | None:
    """`analysis_key` when the job can slice its speech from that analysis, else None (the log says why)."""
    store = object_store()
    readable = is_analysis_of(analysis_key, ref.sha256) and store.exists(analysis_key)
    document = load(store, analysis_key, SourceAnalysisDocument) if readable else None
    why_not = refusal(document, key=analysis_key, sha256=ref.sha256, vad_backend=options.vad_backend, end_s=end_s)
    if why_not:
        get_run_logger().info("speech: the VAD runs on the range (%s)", why_not)
        return None
    get_run_logger().info("speech: cut from %s", analysis_key)
    return analysis_key
