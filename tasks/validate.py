"""Check a clip against its data contracts before it is published.

The same Great Expectations suites the audit runs over the whole store run here over one clip:
its manifest row, its timelines and its face tracks. A failed expectation fails the run, names
every broken rule and publishes nothing.
"""

from __future__ import annotations

import io
import json

import pandas as pd
from prefect import get_run_logger

from clipmill.contracts import CaptionsContract, TimelinesContract
from clipmill.errors import ContractViolation
from clipmill.manifest import Manifest
from clipmill.quality.frames import captions_to_frame, manifests_to_frame, timelines_to_frame, tracks_to_frame
from clipmill.quality.validate import validate_frames
from tasks.runtime import clip_task, object_store


@clip_task(name="validate-contracts")
def validate_contracts(manifest: Manifest) -> dict[str, int]:
    """Run the manifest, timeline, caption and track suites on this clip; raise listing every failure."""
    store = object_store()
    document = json.loads(manifest.to_json())
    frames = {"manifests": manifests_to_frame([document])}
    if "timelines" in manifest.stages:
        timelines = TimelinesContract.model_validate_json(store.get_bytes(manifest.stages["timelines"]["key"]))
        frames["timelines"] = timelines_to_frame({manifest.clip_id: timelines.model_dump()})
    if "captions" in manifest.stages:
        captions = CaptionsContract.model_validate_json(store.get_bytes(manifest.stages["captions"]["key"]))
        frames["captions"] = captions_to_frame({manifest.clip_id: captions.model_dump()})
    if "tracks" in manifest.stages:
        rows = pd.read_parquet(io.BytesIO(store.get_bytes(manifest.stages["tracks"]["key"]))).to_dict("records")
        size = (manifest.source.probe["width"], manifest.source.probe["height"])
        joined = manifest.request.options.get("face_identity", "none") != "none"
        frames["tracks"] = tracks_to_frame({manifest.clip_id: rows}, {manifest.clip_id: size}, {manifest.clip_id: joined})
    report = validate_frames(frames)
    if not report.success:
        broken = "; ".join(
            f"{f.suite}.{f.check} ({', '.join(f.columns)}: {f.unexpected_count} rows)" for f in report.failures
        )
        raise ContractViolation(f"clip {manifest.clip_id} breaks its data contracts: {broken}")
    counts = {result.suite: result.rows for result in report.suites}
    get_run_logger().info("data contracts hold: %s", ", ".join(f"{k} {v} rows" for k, v in counts.items()))
    return counts
