"""Batch tasks: list the videos under a prefix, read a requests file, store the batch summary."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prefect import get_run_logger

from clipmill.batch import (
    VIDEO_EXTENSIONS, ListedVideo, ParsedRequests, expand_listing, is_video_key, parse_requests,
)
from clipmill.config import load_settings
from clipmill.errors import InputError
from clipmill.sources import parse_object_uri
from clipmill.storage import ObjectStore
from tasks.runtime import clip_task, object_store

PROBE_THREADS = 8


@clip_task(name="list-library")
def list_library(prefix: str, window_s: float, defaults: dict[str, Any]) -> ParsedRequests:
    """Requests for every video under `prefix` in the configured bucket, by the window policy."""
    settings = load_settings()
    store = object_store(settings)
    keys = sorted(key for key in store.list(prefix) if is_video_key(key))
    if not keys:
        raise InputError(f"no videos under {store.uri(prefix)} (looked for {', '.join(sorted(VIDEO_EXTENSIONS))})")
    with ThreadPoolExecutor(max_workers=PROBE_THREADS) as pool:
        videos = list(pool.map(lambda key: _listed(store, key, settings.ffprobe), keys))
    get_run_logger().info("%d videos under %s", len(videos), store.uri(prefix))
    return expand_listing(videos, window_s=window_s, defaults=defaults)


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
