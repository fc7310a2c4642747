"""Check a clip against its data contracts before it is published.

The same Great Expectations suites the audit runs over the whole store run here over one clip:
its manifest row and the documents it links to (timelines, captions, face tracks, edit plan). A
failed expectation, or a linked document that breaks its contract, fails the run, names
every broken rule and publishes nothing.
"""

from __future__ import annotations

import json

from prefect import get_run_logger

from clipmill.artifacts.store import read_linked
from clipmill.errors import ContractViolation
from clipmill.manifest import Manifest
from clipmill.quality.contracts_process import check_contracts
from tasks.runtime import clip_task, object_store


@clip_task(name="validate-contracts")
def validate_contracts(manifest: Manifest) -> dict[str, int]:
    """Run the manifest, timeline, caption, track and edit plan suites on this clip; raise listing every failure."""
    document = json.loads(manifest.to_json())
    linked = read_linked(object_store(), [document])
    if linked.problems:
        broken = "; ".join(linked.problems[manifest.clip_id])
        raise ContractViolation(f"clip {manifest.clip_id} links documents that break their contracts: {broken}")
    report = check_contracts([document], linked)
    if not report.success:
        broken = "; ".join(
            f"{f.suite}.{f.check} ({', '.join(f.columns)}: {f.unexpected_count} rows)" for f in report.failures
        )
        raise ContractViolation(f"clip {manifest.clip_id} breaks its data contracts: {broken}")
    counts = {result.suite: result.rows for result in report.suites}
    get_run_logger().info("data contracts hold: %s", ", ".join(f"{k} {v} rows" for k, v in counts.items()))
    return counts
