"""Publishing: validate the manifest, copy the clip under ``clips/``, write the manifest last.

`publish_clip` runs inside a Prefect transaction with `verify_published`; if verification (or
anything after the copy) fails, the rollback hook deletes what was written, so ``clips/`` never
holds a clip without its manifest or a manifest for a wrong clip.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import prefect
from prefect import get_run_logger
from prefect.runtime import flow_run
from prefect.transactions import get_transaction

from clipmill.version import __version__
from clipmill.artifacts.results import JobStages
from clipmill.artifacts.store import load
from clipmill.config import load_settings
from clipmill.errors import ContractViolation, InputError
from clipmill.jobs import ClipJob
from clipmill.manifest import (
    Manifest, OutputFile, RangeSelection, RequestSection, SourceSection, build_manifest, check_consistency,
    validate_manifest,
)
from clipmill.media import MediaInfo, tool_version
from clipmill.storage import clip_key
from tasks.render import RenderedClip
from tasks.runtime import clip_task, object_store


@dataclass(frozen=True)
class PublishedClip:
    """Where a finished clip and its manifest live."""

    clip_id: str
    job_id: str
    clip_key: str
    manifest_key: str
    clip_uri: str
    manifest_uri: str
    reused: bool
    timeline_key: str | None = None
    captions_key: str | None = None


def _published(
    job_id: str, clip_id: str, *, reused: bool, timeline: bool = False, captions: str | None = None
) -> PublishedClip:
    store = object_store()
    video, manifest = clip_key(clip_id, "mp4"), clip_key(clip_id, "json")
    return PublishedClip(
        clip_id=clip_id, job_id=job_id, clip_key=video, manifest_key=manifest,
        clip_uri=store.uri(video), manifest_uri=store.uri(manifest), reused=reused,
        timeline_key=clip_key(clip_id, "otio") if timeline else None,
        captions_key=clip_key(clip_id, captions) if captions else None,
    )


@clip_task(name="find-published")
def find_published(job: ClipJob) -> PublishedClip | None:
    """The clip this exact job already published, if any; a name taken by another job is an error.

    A publication is reused only when the clip's bytes still hash to the sha256 its manifest
    records: a clip deleted or altered in the store is withdrawn (manifest included) and published
    again, never handed out as ``reused``.
    """
    store = object_store()
    key = clip_key(job.clip_id, "json")
    if not store.exists(key):
        return None
    existing = load(store, key, Manifest)
    if existing.job_id != job.job_id:
        raise InputError(
            f"clip name {job.clip_id!r} is already published by another job ({existing.job_id}); "
            "choose another clip_name"
        )
    captions = existing.stages.get("captions", {}).get("format")
    published = _published(job.job_id, job.clip_id, reused=True, timeline="timeline" in existing.stages,
                           captions=captions)
    recorded = existing.clip.sha256
    actual = store.sha256(published.clip_key)
    if actual != recorded:
        get_run_logger().warning(
            "%s %s (manifest records sha256 %s): withdrawing the publication and publishing it again",
            published.clip_key, "is missing" if actual is None else f"was altered (sha256 {actual})", recorded,
        )
        _remove(published)
        return None
    get_run_logger().info("job %s already published as %s (sha256 verified): nothing to do", job.job_id, key)
    return published


@clip_task(name="make-manifest")
def make_manifest(
    job: ClipJob, source_info: MediaInfo, rendered: RenderedClip, timings_s: dict[str, float],
    stages: JobStages, selection: dict[str, Any] | None = None,
) -> Manifest:
    """Assemble and validate the manifest against data_contracts/manifest.schema.json (`selection`:
    how a batch chose the range, see `clipmill.manifest.RangeSelection`)."""
    settings = load_settings()
    store = object_store(settings)
    video_key = clip_key(job.clip_id, "mp4")
    out = rendered.info
    _check_codecs(out)
    summaries = stages.to_manifest()
    if rendered.decode.errors:
        summaries["source_decode"] = rendered.decode.to_dict()
    manifest = build_manifest(
        clip_id=job.clip_id,
        job_id=job.job_id,
        created_at=datetime.now(timezone.utc),
        flow_run_id=flow_run.get_id(),
        source=SourceSection(
            uri=job.source.uri, sha256=job.source.sha256, size_bytes=job.source.size_bytes,
            probe=source_info.to_dict(),
        ),
        request=RequestSection(start_s=job.start_s, end_s=job.end_s, options=job.options.model_dump(mode="json")),
        output=OutputFile(
            key=video_key, uri=store.uri(video_key), sha256=rendered.sha256, size_bytes=rendered.size_bytes,
            duration_s=out.duration_s, video_codec=out.video_codec, audio_codec=out.audio_codec,
            pix_fmt=out.pix_fmt, width=out.width, height=out.height, fps=out.fps,
        ),
        versions={
            "clipmill": __version__, "ffmpeg": tool_version(settings.ffmpeg), "prefect": prefect.__version__,
            "python": platform.python_version(),
        },
        timings_s=timings_s,
        stages=summaries,
        selection=RangeSelection(**selection) if selection else None,
    )
    validate_manifest(manifest.model_dump(mode="json"))
    try:
        check_consistency(manifest, frame_s=source_info.frame_s)
    except ContractViolation as exc:
        if not rendered.decode.errors:
            raise
        raise ContractViolation(
            f"{exc} (the source had {rendered.decode.errors} decode errors in the range, first: "
            f"{rendered.decode.first})"
        ) from exc
    return manifest


def _check_codecs(info: MediaInfo) -> None:
    if info.video_codec != "h264" or info.pix_fmt != "yuv420p" or info.audio_codec not in ("aac", None):
        raise ContractViolation(
            f"rendered clip is {info.video_codec}/{info.pix_fmt}/{info.audio_codec}; "
            "the contract allows h264/yuv420p with aac or no audio"
        )


@clip_task(name="publish-clip")
def publish_clip(job: ClipJob, rendered: RenderedClip, manifest: Manifest) -> PublishedClip:
    """Copy the render to ``clips/<clip_id>.mp4`` (and the OpenTimelineIO file to ``.otio``, the captions
    to ``.srt``/``.vtt``, when they were made), then write ``clips/<clip_id>.json`` (last).

    The manifest is written with `ObjectStore.put_if_absent`, so of two identical jobs racing to
    publish exactly one writes it; the other finds that manifest and returns it as ``reused``,
    without registering anything for rollback (the publication is not its to delete).
    """
    store = object_store()
    timeline, captions = manifest.stages.get("timeline"), manifest.stages.get("captions")
    published = _published(job.job_id, job.clip_id, reused=False, timeline=timeline is not None,
                           captions=captions["format"] if captions else None)
    if store.exists(published.manifest_key):
        return _published_by_other(job, published)
    try:
        store.copy(rendered.key, published.clip_key)
        if timeline is not None and published.timeline_key:
            store.copy(timeline["key"], published.timeline_key)
        if captions is not None and published.captions_key:
            store.copy(captions["sidecar_key"], published.captions_key)
        claimed = store.put_if_absent(published.manifest_key, manifest.to_json(), content_type="application/json")
    except Exception:
        if not store.exists(published.manifest_key):
            _remove(published)
        raise
    if not claimed:
        return _published_by_other(job, published)
    get_transaction().set("published", published)
    get_run_logger().info("published %s and %s", published.clip_uri, published.manifest_uri)
    return published


def _published_by_other(job: ClipJob, published: PublishedClip) -> PublishedClip:
    """The publication another run of this job made first, or an `InputError` when the name is taken."""
    existing = load(object_store(), published.manifest_key, Manifest)
    if existing.job_id != job.job_id:
        raise InputError(
            f"clip name {job.clip_id!r} was just published by another job ({existing.job_id}); "
            "choose another clip_name"
        )
    get_run_logger().info("job %s was published by a concurrent run as %s", job.job_id, published.manifest_key)
    return replace(published, reused=True)


@publish_clip.on_rollback
def _unpublish(transaction) -> None:
    """Delete a publication when a later step of its transaction failed."""
    published = transaction.get("published")
    if published is not None:
        _remove(published)


def _remove(published: PublishedClip) -> None:
    store = object_store()
    for key in (published.manifest_key, published.clip_key, published.timeline_key, published.captions_key):
        if key and store.exists(key):
            store.delete(key)


@clip_task(name="verify-published")
def verify_published(published: PublishedClip, manifest: Manifest) -> None:
    """Read the publication back: the manifest is ours and the clip has the recorded size."""
    store = object_store()
    stored = load(store, published.manifest_key, Manifest)
    if stored.job_id != manifest.job_id:
        raise ContractViolation(f"{published.manifest_key} holds job {stored.job_id}, not {manifest.job_id}")
    size = store.size(published.clip_key)
    if size != manifest.clip.size_bytes:
        raise ContractViolation(
            f"{published.clip_key} is {size} bytes, the manifest records {manifest.clip.size_bytes}"
        )
