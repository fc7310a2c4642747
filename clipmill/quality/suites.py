"""The Great Expectations (1.x) suites, read from ``data_contracts/expectations/<suite>.json``.

A suite file names its table (see `clipmill.quality.frames`), the columns that identify a failing
row, and its expectations, one a line: ``check`` (a stable, human name for the rule; several
expectations may share one, e.g. the four sides of "box inside the frame"), ``description``, and the
GE expectation ``type`` with its ``kwargs``. Audits, reports and tests refer to rules by their
check; the type says how it is checked. A file that names a column its table does not have, or an
expectation GE does not know, fails when the suites are read, naming the file and the expectation.
Great Expectations is imported when the suites are first read (it takes seconds), not with this module.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clipmill.artifacts.document import CONTRACTS_DIR
from clipmill.errors import ContractViolation
from clipmill.quality.frames import (
    CAPTION_COLUMNS, EDIT_COLUMNS, MANIFEST_COLUMNS, RECHECK_COLUMNS, TIMELINE_COLUMNS, TRACK_COLUMNS,
)

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

SUITES_DIR = CONTRACTS_DIR / "expectations"

#: Each suite's table columns: what its expectations may refer to.
TABLE_COLUMNS: dict[str, list[str]] = {
    "manifests": MANIFEST_COLUMNS,
    "timelines": TIMELINE_COLUMNS,
    "captions": CAPTION_COLUMNS,
    "tracks": TRACK_COLUMNS,
    "edit_plans": EDIT_COLUMNS,
    "outputs": RECHECK_COLUMNS,
}

#: Expectation arguments that name a column of the table.
_COLUMN_ARGUMENTS = ("column", "column_A", "column_B")


@dataclass(frozen=True)
class SuiteSpec:
    """A suite and how to report its failing rows: the columns that identify a row."""

    name: str
    index_columns: tuple[str, ...]
    expectations: tuple["Expectation", ...]
    columns: tuple[str, ...]


def _expectation(entry: dict[str, Any], *, where: str, columns: list[str]) -> "Expectation":
    """One expectation of a suite file, checked against its table's columns."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    named = [entry["kwargs"][argument] for argument in _COLUMN_ARGUMENTS if argument in entry["kwargs"]]
    unknown = [column for column in named if column not in columns]
    if unknown:
        raise ContractViolation(f"{where} names columns its table does not have: {unknown}; the table has {columns}")
    try:
        return ExpectationConfiguration(
            type=entry["type"], kwargs=entry["kwargs"], meta={"check": entry["check"]},
            description=entry["description"],
        ).to_domain_obj()
    except Exception as exc:  # GE raises several unrelated types for an unknown type or bad arguments
        raise ContractViolation(f"{where} is not a valid Great Expectations expectation: {exc}") from exc


def read_suite(name: str, directory: Path = SUITES_DIR) -> SuiteSpec:
    """The suite ``<name>.json`` in `directory` (``data_contracts/expectations/``)."""
    path = directory / f"{name}.json"
    document = json.loads(path.read_text())
    columns = TABLE_COLUMNS[name]
    expectations = tuple(
        _expectation(entry, where=f"{path.name} expectation {index} ({entry.get('check')})", columns=columns)
        for index, entry in enumerate(document["expectations"])
    )
    return SuiteSpec(document["suite"], tuple(document["index_columns"]), expectations, tuple(columns))


@functools.cache
def all_suites() -> dict[str, SuiteSpec]:
    """Every suite by name (the names the audit uses for its tables)."""
    return {name: read_suite(name) for name in TABLE_COLUMNS}
