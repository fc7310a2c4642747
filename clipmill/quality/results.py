"""What a validation found: typed results of the expectation suites, free of pandas and GE.

They cross process boundaries (the contracts process returns them to the clip job, the audit's
tasks to its flow), so unpickling one must import nothing heavy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from clipmill.errors import ContractViolation


@dataclass(frozen=True)
class Failure:
    """One failed expectation: which rule, how it is checked, and where it failed.

    ``rows`` holds each failing row's index columns and offending values; ``clip_ids`` the clips they
    belong to (every clip in the table when the failure is table-level, e.g. a missing column).
    """

    suite: str
    check: str
    expectation: str
    columns: tuple[str, ...]
    description: str
    clip_ids: tuple[str, ...]
    rows: tuple[dict[str, Any], ...] = ()
    unexpected_count: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SuiteResult:
    """The outcome of one suite on one table."""

    suite: str
    rows: int
    evaluated: int
    failures: tuple[Failure, ...]
    seconds: float

    @property
    def success(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class QualityReport:
    """Outcomes of every suite an audit ran."""

    suites: tuple[SuiteResult, ...] = field(default_factory=tuple)

    @property
    def failures(self) -> tuple[Failure, ...]:
        return tuple(f for suite in self.suites for f in suite.failures)

    @property
    def success(self) -> bool:
        return not self.failures

    @property
    def failed_clip_ids(self) -> tuple[str, ...]:
        return tuple(sorted({clip for f in self.failures for clip in f.clip_ids}))

    def checks_by_clip(self) -> dict[str, list[str]]:
        """Clip id -> names of the checks it failed, sorted."""
        checks: dict[str, set[str]] = {}
        for failure in self.failures:
            for clip in failure.clip_ids:
                checks.setdefault(clip, set()).add(failure.check)
        return {clip: sorted(names) for clip, names in sorted(checks.items())}


class AuditFailed(ContractViolation):
    """An audit found failing clips; `summary` holds the audit's result (report key, failures)."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.summary))
