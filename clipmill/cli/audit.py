"""``clipmill audit``: run the audit flow, fetch its HTML report, print a one-line JSON summary.

The last line of output is ``{"clips": n, "failed": k, "report": path, "export": path|null}``;
the exit code is 1 when any clip fails, 2 for a bad request, 0 when every clip passes.
Registered with ``app.command("audit")(audit)`` in `clipmill.cli.commands`.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from clipmill.cli.failures import fail
from clipmill.errors import ClipmillError


def _run_flow(prefix: str, since: datetime | None, sample: int, export: Path | None) -> dict:
    """The audit flow's summary, whether it passed or failed with `AuditFailed`."""
    from clipmill.quality.results import AuditFailed
    from flows.audit import audit as audit_flow

    state = audit_flow(
        prefix=prefix, since=since.isoformat() if since else None, sample=sample,
        export=str(export.expanduser().resolve()) if export else None, return_state=True,
    )
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, AuditFailed):
        return outcome.summary
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def audit(
    prefix: Annotated[str, typer.Option("--prefix", help="Store prefix holding the manifests.")] = "clips/",
    since: Annotated[
        Optional[datetime], typer.Option("--since", help="Only manifests created at or after this date (UTC).")
    ] = None,
    export: Annotated[Optional[Path], typer.Option("--export", help="Write all manifests to this Parquet file.")] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="Where to save the HTML report.")] = None,
    sample: Annotated[int, typer.Option("--sample", min=0, help="Outputs to re-check (sha256, ffprobe).")] = 5,
) -> None:
    """Audit published clips against their manifests and the data contracts."""
    from clipmill.cli.storage import object_store

    try:
        summary = _run_flow(prefix, since, sample, export)
        target = (report or Path("audit-report.html")).expanduser().resolve()
        object_store().get_file(summary["report_key"], target)
    except ClipmillError as exc:
        fail(exc)
    for clip, checks in summary["failed_clips"].items():
        typer.secho(f"FAIL {clip}: {', '.join(checks)}", fg=typer.colors.RED, err=True)
    typer.echo(json.dumps({"clips": summary["clips"], "failed": summary["failed"], "report": str(target),
                           "export": summary["export"]}))
    if summary["failed"]:
        raise typer.Exit(code=1)
