"""The retention flow: intermediates under ``jobs/`` expire after a lifetime; nothing else is touched.

    cutoff = now - older_than_days → jobs whose newest object is older → delete their objects
      (or, with dry_run, only count them) → summary (counts, bytes) + Prefect artifact

Deployed as ``cleanup-intermediates`` with a daily schedule that is off by default (prefect.yaml).
A job deleted here is recomputed from its source if it is ever run again.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact

from clipmill.errors import InputError
from flows.base import clip_flow
from tasks.retention import delete_intermediates, find_expired


@clip_flow(name="cleanup-intermediates")
def cleanup_intermediates(
    older_than_days: float = 7.0, dry_run: bool = False, now: datetime | None = None
) -> dict[str, Any]:
    """Delete the intermediates of jobs last written more than `older_than_days` ago.

    Args:
        older_than_days: Lifetime of a job's intermediates, in days since its last write.
        dry_run: Only count what would be deleted.
        now: The time the lifetime is measured from (default: the current time; naive times are UTC).
    """
    if older_than_days <= 0:
        raise InputError(f"older_than_days must be positive (got {older_than_days})")
    now = now or datetime.now(timezone.utc)
    cutoff = (now if now.tzinfo else now.replace(tzinfo=timezone.utc)) - timedelta(days=older_than_days)
    expired = find_expired(cutoff)
    deleted = 0 if dry_run else delete_intermediates(expired.keys)
    summary = {
        "cutoff": cutoff.isoformat(), "dry_run": dry_run, "jobs": len(expired.jobs),
        "objects": len(expired.keys), "bytes": expired.bytes, "deleted": deleted,
    }
    get_run_logger().info("retention: %s", summary)
    create_markdown_artifact(
        key="retention-summary",
        markdown=f"## Intermediates last written before {cutoff:%Y-%m-%d %H:%M} UTC\n\n"
        f"- {summary['jobs']} jobs, {summary['objects']} objects, {expired.bytes / 1e6:.1f} MB\n"
        f"- {'dry run: nothing deleted' if dry_run else f'{deleted} objects deleted'}\n",
    )
    return summary
