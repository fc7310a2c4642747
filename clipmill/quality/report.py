"""The audit's HTML page: verdict first, then failing clips, then every failed expectation with rows.

A single self-contained page (inline CSS, no scripts) so it opens from the object store, a mail
attachment or a CI artifact alike. Pure: results in, HTML text out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from clipmill.quality.results import Failure, QualityReport

MAX_ROWS_SHOWN = 20

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1f2328;max-width:1240px}
h1{margin:0 0 4px;font-size:24px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#57606a;margin-bottom:16px}.verdict{display:inline-block;padding:6px 14px;border-radius:6px;
font-weight:700;color:#fff}.pass{background:#1a7f37}.fail{background:#cf222e}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0 12px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}
code{font-family:ui-monospace,Menlo,monospace;font-size:12px}.check{font-weight:600;color:#cf222e}
.ok{color:#1a7f37;font-weight:600}.stats td{border:none;padding:2px 16px 2px 0}
"""


@dataclass(frozen=True)
class ReportContext:
    """What the page states besides the suite results."""

    title: str
    prefix: str
    since: str | None
    generated_at: str
    clip_ids: Sequence[str]
    sampled: Sequence[str]


def _rows_table(failure: Failure) -> str:
    if not failure.rows:
        return f"<p>Table-level failure{': ' + escape(failure.error) if failure.error else ''}</p>"
    keys = dict.fromkeys(key for row in failure.rows for key in row)
    columns = sorted(keys, key=lambda c: (c != "clip_id", c not in failure.columns))
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(json.dumps(row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in failure.rows[:MAX_ROWS_SHOWN]
    )
    more = len(failure.rows) - MAX_ROWS_SHOWN
    tail = f"<p>… and {more} more rows</p>" if more > 0 else ""
    return f"<table><tr>{head}</tr>{body}</table>{tail}"


def _failure_section(failure: Failure) -> str:
    return (
        f"<h3><span class='check'>{escape(failure.check)}</span> — {escape(failure.description)}</h3>"
        f"<p>suite <code>{escape(failure.suite)}</code>, expectation <code>{escape(failure.expectation)}</code> "
        f"on <code>{escape(', '.join(failure.columns))}</code>: {failure.unexpected_count} failing rows in "
        f"{len(failure.clip_ids)} clips</p>{_rows_table(failure)}"
    )


def render_html(report: QualityReport, context: ReportContext) -> str:
    """The audit report page for `report`."""
    failing = report.checks_by_clip()
    verdict = (
        "<span class='verdict pass'>PASS</span>" if report.success
        else f"<span class='verdict fail'>FAIL: {len(failing)} of {len(context.clip_ids)} clips</span>"
    )
    stats = "".join(
        f"<tr><td><code>{escape(s.suite)}</code></td><td>{s.rows} rows</td><td>{s.evaluated} expectations</td>"
        f"<td class='{'ok' if s.success else 'check'}'>{'passed' if s.success else f'{len(s.failures)} failed'}</td></tr>"
        for s in report.suites
    )
    clips = "".join(
        f"<tr><td><code>{escape(clip)}</code></td><td class='check'>{escape(', '.join(checks))}</td></tr>"
        for clip, checks in failing.items()
    ) or "<tr><td colspan='2' class='ok'>none</td></tr>"
    details = "".join(_failure_section(f) for f in report.failures) or "<p class='ok'>Every expectation passed.</p>"
    sampled = ", ".join(f"<code>{escape(c)}</code>" for c in context.sampled) or "none"
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(context.title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{escape(context.title)}</h1>"
        f"<div class='meta'>prefix <code>{escape(context.prefix)}</code>"
        f"{' · since ' + escape(context.since) if context.since else ''} · {len(context.clip_ids)} clips · "
        f"generated {escape(context.generated_at)}</div>{verdict}"
        f"<h2>Suites</h2><table class='stats'>{stats}</table>"
        f"<h2>Failing clips</h2><table><tr><th>clip</th><th>failed checks</th></tr>{clips}</table>"
        f"<h2>Failed expectations</h2>{details}"
        f"<h2>Outputs re-checked (sha256, size, ffprobe duration)</h2><p>{sampled}</p>"
        "</body></html>"
    )
