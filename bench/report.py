"""The printed table and the results JSON (``bench/results/<date>-<machine>.json``)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from bench.rows import Row

HEADERS = ("group", "row", "seconds", "x real time", "detail")


def format_table(rows: Sequence[Row]) -> str:
    """Rows as an aligned plain-text table; blank cells where a figure does not apply."""
    cells = [HEADERS] + [
        (row.group, row.name, _number(row.seconds, 2), _number(row.rtf, 1), row.detail) for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS) - 1)]
    lines = []
    for k, line in enumerate(cells):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)) + "  " + line[-1])
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(HEADERS[-1]))
    return "\n".join(line.rstrip() for line in lines)


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def machine_slug(machine: dict[str, Any]) -> str:
    """File-name-safe ``hostname-cpu-model-Ncores``."""
    text = f"{machine['hostname']}-{machine['cpu_model']}-{machine['cores']}cores"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-").lower()


def write_results(
    rows: Sequence[Row], *, machine: dict[str, Any], run: dict[str, Any], folder: Path, day: date | None = None,
    suffix: str = "",
) -> Path:
    """Write ``<folder>/<date>-<machine><suffix>.json`` with the machine, the run settings and every row."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{(day or date.today()).isoformat()}-{machine_slug(machine)}{suffix}.json"
    document = {"machine": machine, "run": run, "rows": [row.to_dict() for row in rows]}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path
