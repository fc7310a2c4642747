"""Audit tasks: read published manifests and what they link to, re-check outputs, validate, report.

Each task loads by key from the store and returns small, plain results (documents, frames of a few
hundred rows, a report key); media is downloaded to scratch space only for the sampled re-check.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import get_run_logger

from clipmill.artifacts.store import LinkedArtifacts, read_linked
from clipmill.config import load_settings
from clipmill.errors import InputError
from clipmill.media import probe
from clipmill.quality.results import QualityReport
from clipmill.quality.validate import validate_frames
from clipmill.quality.frames import frame_seconds
from clipmill.scratch import scratch_dir
from clipmill.sources import parse_object_uri, sha256_file
from tasks.runtime import clip_task, object_store

REPORTS_PREFIX = "audits/"


def parse_since(since: str | None) -> datetime | None:
    """`since` as an aware datetime (naive means UTC); `InputError` naming the value when unparsable."""
    if since is None:
        return None
    try:
        moment = datetime.fromisoformat(since)
    except ValueError as exc:
        raise InputError(f"since must be an ISO date or datetime such as 2026-11-25T08:00 (got {since!r})") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _created_at(document: dict[str, Any]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(document["created_at"]))
    except (KeyError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def choose_sample(clip_ids: Sequence[str], size: int, *, seed: int | None = None) -> list[str]:
    """`size` clip ids drawn at random (all of them when the batch has at most `size`), sorted."""
    if size >= len(clip_ids):
        return sorted(clip_ids)
    return sorted(random.Random(seed).sample(list(clip_ids), max(size, 0)))


@clip_task(name="load-manifests")
def load_manifests(prefix: str, since: str | None) -> list[dict[str, Any]]:
    """Every manifest (``*.json``) under `prefix` created at or after `since`.

    A manifest that is not a JSON object is kept as ``{"clip_id": <file stem>, "_load_error": ...}``
    so the audit reports it instead of skipping it; one without a readable ``created_at`` is kept too.
    """
    store = object_store()
    threshold = parse_since(since)
    documents = []
    for key in sorted(k for k in store.list(prefix) if k.endswith(".json")):
        try:
            document = json.loads(store.get_bytes(key))
            if not isinstance(document, dict):
                raise ValueError(f"top level is {type(document).__name__}, not an object")
        except ValueError as exc:
            document = {"clip_id": Path(key).stem, "_load_error": f"{key} is not a JSON manifest: {exc}"}
        created = _created_at(document)
        if threshold is None or created is None or created >= threshold:
            documents.append(document)
    get_run_logger().info("%d manifests under %s%s", len(documents), prefix, f" since {since}" if since else "")
    return documents


@clip_task(name="load-linked-artifacts")
def load_linked(documents: list[dict[str, Any]]) -> LinkedArtifacts:
    """Read the timelines and tracks each manifest links to, checked against their contracts.

    A missing object, a document that breaks its contract or a manifest that could not be read is
    recorded as a problem of that clip (the ``linked_artifacts_valid`` check), and its rows are left
    out of the tables.
    """
    linked = read_linked(object_store(), documents)
    for document in documents:
        if "_load_error" in document:
            linked.problems.setdefault(str(document.get("clip_id")), []).insert(0, document["_load_error"])
    return linked


def _recheck_one(document: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Download one output and compare its sha256, size and ffprobe duration with the manifest."""
    store = object_store()
    output = (document.get("outputs") or [{}])[0]
    key = output.get("key")
    row = {
        "clip_id": document.get("clip_id"), "output_key": key, "problem": None, "recorded_sha256": output.get("sha256"),
        "actual_sha256": None, "recorded_size_bytes": output.get("size_bytes"), "actual_size_bytes": None,
        "recorded_duration_s": output.get("duration_s"), "probed_duration_s": None,
        "frame_s": frame_seconds((document.get("source") or {}).get("probe", {}).get("fps")),
    }
    if not key or not store.exists(key):
        return {**row, "problem": f"output {key!r} is missing from the store"}
    path = store.get_file(key, folder / f"{document.get('clip_id')}.mp4")
    row["actual_sha256"], row["actual_size_bytes"] = sha256_file(path)
    try:
        row["probed_duration_s"] = probe(path, ffprobe=load_settings().ffprobe).duration_s
    except InputError as exc:
        row["problem"] = f"ffprobe cannot read {key}: {exc}"
    finally:
        path.unlink(missing_ok=True)
    return row


@clip_task(name="recheck-outputs")
def recheck_outputs(documents: list[dict[str, Any]], clip_ids: list[str]) -> list[dict[str, Any]]:
    """Re-check the outputs of the clips in `clip_ids` against their manifests (one row each)."""
    wanted = set(clip_ids)
    with scratch_dir(load_settings().temp_dir) as folder:
        rows = [_recheck_one(d, folder) for d in documents if d.get("clip_id") in wanted]
    get_run_logger().info("re-checked %d outputs", len(rows))
    return rows


@clip_task(name="validate-tables")
def validate_tables(frames: dict[str, pd.DataFrame]) -> QualityReport:
    """Run the expectation suite of each table."""
    report = validate_frames(frames)
    for failure in report.failures:
        get_run_logger().warning(
            "%s failed (%s on %s) for %s", failure.check, failure.expectation, ", ".join(failure.columns),
            ", ".join(failure.clip_ids),
        )
    return report


@clip_task(name="publish-report")
def publish_report(html: str, stamp: str) -> str:
    """Store the HTML report under ``audits/<stamp>/report.html`` and return its key."""
    key = f"{REPORTS_PREFIX}{stamp}/report.html"
    object_store().put_bytes(key, html.encode(), content_type="text/html; charset=utf-8")
    return key


@clip_task(name="export-manifests")
def export_manifests(frame: pd.DataFrame, documents: list[dict[str, Any]], target: str) -> str:
    """Write the manifest table plus each full manifest as JSON text to Parquet at `target`.

    `target` is a local path or ``s3://bucket/key``; returns where it was written.
    """
    table = frame.assign(manifest_json=[json.dumps(d, sort_keys=True) for d in documents])
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    if target.startswith("s3://"):
        bucket, key = parse_object_uri(target)
        object_store().with_bucket(bucket).put_bytes(key, buffer.getvalue(), content_type="application/vnd.apache.parquet")
    else:
        path = Path(target).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
        target = str(path)
    get_run_logger().info("exported %d manifests to %s", len(table), target)
    return target
