"""The clip job: one clip from one source range, as a DAG of retryable tasks.

    stage source → probe + validate → (already published? done) → extract segment → render
      → manifest (validated against the data contract) → publish + verify, in one transaction

Tasks exchange object keys and small typed summaries; media never travels through Prefect.
Parameters are validated by clipmill, not by Prefect, so a bad one fails the run with an
`InputError` that names it (the typed signature still gives the Prefect UI its form).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, Iterator

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.transactions import transaction

from clipmill.config import ClipOptions, effective_options, load_settings
from clipmill.jobs import check_times
from tasks.publish import PublishedClip, find_published, make_manifest, publish_clip, verify_published
from tasks.render import render_clip
from tasks.segment import extract_segment
from tasks.source import probe_source, stage_source


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    timings[stage] = time.perf_counter() - started


@flow(name="clip-job", flow_run_name="clip {source} [{start}-{end}]", validate_parameters=False)
def clip_job(
    source: str, start: float, end: float, options: ClipOptions | dict[str, Any] | None = None
) -> dict[str, Any]:
    """Cut ``[start, end)`` out of `source`, encode it and publish it with its manifest.

    Args:
        source: Local path or s3://bucket/key of the source video.
        start: Start of the clip in seconds from the beginning of the source.
        end: End of the clip in seconds (exclusive); at most the source's duration.
        options: Per-run options (quality, clip name) over the installation's defaults.
    """
    log = get_run_logger()
    start, end = check_times(start, end)
    settings = load_settings()
    chosen = effective_options(settings.options, options)
    timings: dict[str, float] = {}

    with _timed(timings, "stage_source"):
        source_ref = stage_source(source)
    with _timed(timings, "probe"):
        info, job = probe_source(source_ref, start, end, chosen)
    if (already := find_published(job)) is not None:
        return asdict(already)
    with _timed(timings, "extract"):
        segment_key = extract_segment(job, info)
    with _timed(timings, "render"):
        rendered = render_clip(job, segment_key, info.has_audio)
    manifest = make_manifest(job, info, rendered, timings)
    with transaction():
        published = publish_clip(job, rendered, manifest)
        verify_published(published, manifest)

    log.info("clip %s ready: %s", job.clip_id, published.clip_uri)
    _summary_artifact(published, manifest.clip.duration_s, timings)
    return asdict(published)


def _summary_artifact(published: PublishedClip, duration_s: float, timings: dict[str, float]) -> None:
    rows = "\n".join(f"| {stage} | {seconds:.2f} |" for stage, seconds in timings.items())
    create_markdown_artifact(
        key="clip-job-summary",
        description=f"clip {published.clip_id}",
        markdown=(
            f"## Clip `{published.clip_id}`\n\n"
            f"- clip: `{published.clip_uri}` ({duration_s:.3f} s)\n"
            f"- manifest: `{published.manifest_uri}`\n- job: `{published.job_id}`\n\n"
            f"| stage | seconds |\n|---|---|\n{rows}\n"
        ),
    )
