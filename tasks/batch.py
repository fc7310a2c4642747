"""Batch tasks: list the videos under a prefix, plan each one's clips, read a requests file, store the summary."""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_table_artifact

from blocks.object_store import resolve
from clipmill import media
from clipmill.batch import VIDEO_EXTENSIONS, ListedVideo, ParsedRequests, is_video_key, parse_requests
from clipmill.config import Settings, load_settings
from clipmill.errors import InputError
from clipmill.segment_analysis import AnalysisSettings
from clipmill.segment_policy import PlannedRange, Segmentation, snapped_windows, suggested_ranges
from clipmill.source_access import fingerprint, source_file
from clipmill.sources import SourceRef, parse_object_uri
from clipmill.storage import ObjectStore
from clipmill.suggest import suggest_for, whole_source_analysis
from tasks.runtime import clip_task, object_store

PROBE_THREADS = 8


@clip_task(name="list-library")
def list_library(prefix: str) -> list[ListedVideo]:
    """Every video under `prefix` in the configured bucket, with its duration (or why it has none)."""
    settings = load_settings()
    store = object_store(settings)
    keys = sorted(key for key in store.list(prefix) if is_video_key(key))
    if not keys:
        raise InputError(f"no videos under {store.uri(prefix)} (looked for {', '.join(sorted(VIDEO_EXTENSIONS))})")
    with ThreadPoolExecutor(max_workers=PROBE_THREADS) as pool:
        videos = list(pool.map(lambda key: _listed(store, key, settings.ffprobe), keys))
    get_run_logger().info("%d videos under %s", len(videos), store.uri(prefix))
    return videos


@clip_task(name="plan-clips")
def plan_clips(video: ListedVideo, policy: Segmentation) -> ListedVideo:
    """The video's clip ranges by the segmentation policy, from its whole-source analysis (stored by
    content and reused); a table artifact lists them. A video that cannot be planned keeps the reason."""
    if video.duration_s is None:
        return video
    settings = load_settings()
    store = object_store(settings)
    try:
        ref = fingerprint(video.source, settings, resolve_block=resolve)
        path = source_file(ref, settings, resolve_block=resolve)
        ranges = _plan(store, path, ref, video, policy, settings)
    except InputError as exc:
        return replace(video, error=f"{video.source}: {exc}")
    _ranges_artifact(video.source, policy, ranges)
    get_run_logger().info("%s: %d clips by %s", video.source, len(ranges), policy.mode)
    return replace(video, ranges=tuple((r.start_s, r.end_s, r.selection) for r in ranges))


def _plan(
    store: ObjectStore, path: Path, ref: SourceRef, video: ListedVideo, policy: Segmentation, settings: Settings
) -> list[PlannedRange]:
    analysis_settings = AnalysisSettings(vad_backend=policy.vad_backend)
    if policy.mode == "auto":
        document, key, _ = suggest_for(
            store, path, source=video.source, sha256=ref.sha256, settings=analysis_settings, length=policy.length,
            count=policy.count, ffmpeg=settings.ffmpeg, ffprobe=settings.ffprobe,
        )
        if not document.candidates:
            raise InputError(f"no range of {policy.length} s starts and ends in a pause")
        return suggested_ranges(document, suggestion_key=key)
    if not media.probe_audio(path, ffprobe=settings.ffprobe).has_audio:
        return snapped_windows(video.duration_s, policy.window_s, None, analysis_key=None)
    stored = whole_source_analysis(store, path, ref.sha256, analysis_settings, ffmpeg=settings.ffmpeg, ffprobe=settings.ffprobe)
    return snapped_windows(video.duration_s, policy.window_s, stored.analysis, analysis_key=stored.key)


def _ranges_artifact(source: str, policy: Segmentation, ranges: list[PlannedRange]) -> None:
    """A table of the planned clips of one source, so a UI user can look before they are cut."""
    rows = [
        {"rank": rank, "start_s": r.start_s, "end_s": r.end_s, "length_s": round(r.end_s - r.start_s, 3),
         "score": r.selection.get("score", ""),
         "reasons": ", ".join(f"{k}={v}" for k, v in r.selection.get("reasons", {}).items() if k != "rate_unit")}
        for rank, r in enumerate(ranges, start=1)
    ]
    how = f"best {policy.count} of {policy.length} s" if policy.mode == "auto" else f"{policy.window_s:g} s windows snapped to pauses"
    create_table_artifact(
        key="clips-" + re.sub(r"[^a-z0-9]+", "-", PurePosixPath(source).stem.lower()).strip("-")[:40],
        table=rows, description=f"{source}: {len(rows)} clips ({how})",
    )


@clip_task(name="read-requests")
def read_requests(requests_key: str, defaults: dict[str, Any]) -> ParsedRequests:
    """Parse a requests file stored at `requests_key` (a key in the bucket or ``s3://bucket/key``)."""
    store, key = _locate(requests_key)
    if not store.exists(key):
        raise InputError(f"requests file not found: {store.uri(key)}")
    parsed = parse_requests(store.get_bytes(key).decode("utf-8-sig"), name=key, defaults=defaults)
    get_run_logger().info(
        "%s: %d requests, %d bad rows, %d duplicates", store.uri(key), len(parsed.requests), len(parsed.failures),
        parsed.duplicates,
    )
    return parsed


@clip_task(name="store-batch-summary")
def store_summary(batch_id: str, summary: dict[str, Any]) -> str:
    """Write ``batches/<batch_id>/summary.json`` and return its URI."""
    store = object_store()
    key = f"batches/{batch_id}/summary.json"
    store.put_bytes(key, json.dumps(summary, indent=2).encode(), content_type="application/json")
    return store.uri(key)


def _locate(key_or_uri: str) -> tuple[ObjectStore, str]:
    store = object_store()
    if key_or_uri.startswith("s3://"):
        bucket, key = parse_object_uri(key_or_uri)
        return store.with_bucket(bucket), key
    return store, key_or_uri.lstrip("/")


def _listed(store: ObjectStore, key: str, ffprobe: str) -> ListedVideo:
    """Probe a stored video through a presigned URL: only its header is read, nothing is downloaded."""
    source, url = store.uri(key), store.presigned_url(key, expires_s=600)
    result = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", url],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False, timeout=120,
    )
    try:
        duration = float(result.stdout.strip())
    except ValueError:
        reason = (result.stderr.strip().splitlines() or ["no duration reported"])[-1].replace(url, source)
        return ListedVideo(source, None, f"{source} is not readable media: {reason}")
    return ListedVideo(source, int(duration * 1000) / 1000)
