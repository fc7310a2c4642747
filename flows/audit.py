"""The audit flow for data teams: are the published clips what their manifests say?

    read manifests under a prefix (since a date) → read linked timelines and tracks → tables
      → re-check a random sample of outputs (sha256, size, ffprobe duration) → expectation suites
      → HTML report in the store + Prefect artifacts → optional Parquet export → fail on any bad clip

The run fails with `AuditFailed` (its ``summary`` holds the result) when any clip fails a check,
so schedules and CI see a red run; the report and artifacts are written either way.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from clipmill.quality.frames import contract_frames, recheck_frame
from clipmill.quality.report import ReportContext, render_html
from clipmill.quality.results import AuditFailed, QualityReport
from flows.base import clip_flow
from tasks.audit import (
    choose_sample, export_manifests, load_linked, load_manifests, parse_since, publish_report, recheck_outputs,
    validate_tables,
)


def _artifacts(report: QualityReport, summary: dict[str, Any]) -> None:
    failing = report.checks_by_clip()
    create_table_artifact(
        key="audit-failing-clips",
        table=[{"clip_id": clip, "failed_checks": ", ".join(checks)} for clip, checks in failing.items()]
        or [{"clip_id": "(none)", "failed_checks": ""}],
        description=f"clips failing the audit of {summary['prefix']}",
    )
    lines = "\n".join(
        f"| `{f.check}` | `{f.expectation}` | {', '.join(f.columns)} | {', '.join(f.clip_ids)} |"
        for f in report.failures
    )
    verdict = "PASS" if report.success else f"FAIL: {summary['failed']} of {summary['clips']} clips"
    create_markdown_artifact(
        key="audit-summary",
        description=f"audit of {summary['prefix']}",
        markdown=(
            f"## Audit of `{summary['prefix']}`: {verdict}\n\n- report: `{summary['report_key']}`\n"
            f"- outputs re-checked: {len(summary['sampled'])}\n- export: `{summary['export']}`\n\n"
            + (f"| check | expectation | columns | clips |\n|---|---|---|---|\n{lines}\n" if lines else "")
        ),
    )


@clip_flow(name="audit", flow_run_name="audit {prefix}", validate_parameters=False)
def audit(prefix: str = "clips/", since: str | None = None, sample: int = 5, export: str | None = None) -> dict[str, Any]:
    """Audit the manifests under `prefix` and a sample of their outputs; fail when any clip fails.

    Args:
        prefix: Store prefix holding the manifests (``*.json``).
        since: Only manifests created at or after this ISO date/datetime (naive = UTC).
        sample: How many outputs to download and re-check (all when the batch is that small).
        export: Local path or s3://bucket/key for a Parquet export of all audited manifests.
    """
    log = get_run_logger()
    started = time.perf_counter()
    parse_since(since)
    documents = load_manifests(prefix, since)
    linked = load_linked(documents)
    tables = contract_frames(
        documents, timelines=linked.timelines, tracks=linked.tracks, edit_plans=linked.edit, captions=linked.captions,
        problems=linked.problems,
    )
    manifests = tables["manifests"]
    clip_ids = [str(clip) for clip in manifests["clip_id"]]
    sampled = choose_sample(clip_ids, sample)
    frames = {**tables, "outputs": recheck_frame(recheck_outputs(documents, sampled))}
    report = validate_tables(frames)
    now = datetime.now(timezone.utc)
    html = render_html(report, ReportContext(
        title="clipmill audit", prefix=prefix, since=since, generated_at=now.isoformat(timespec="seconds"),
        clip_ids=clip_ids, sampled=sampled,
    ))
    report_key = publish_report(html, now.strftime("%Y%m%dT%H%M%S%fZ"))
    exported = export_manifests(manifests, documents, export) if export else None
    summary = {
        "prefix": prefix, "since": since, "clips": len(clip_ids), "failed": len(report.failed_clip_ids),
        "failed_clips": report.checks_by_clip(), "sampled": sampled, "report_key": report_key, "export": exported,
        "failures": [f.to_dict() for f in report.failures],
        "validation_s": round(sum(s.seconds for s in report.suites), 3),
        "wall_s": round(time.perf_counter() - started, 3),
    }
    _artifacts(report, summary)
    if not report.success:
        named = "; ".join(f"{clip}: {', '.join(checks)}" for clip, checks in summary["failed_clips"].items())
        raise AuditFailed(
            f"{summary['failed']} of {summary['clips']} clips failed the audit ({named}); report: {report_key}",
            summary,
        )
    log.info("audit of %s passed: %d clips, report %s", prefix, len(clip_ids), report_key)
    return summary
