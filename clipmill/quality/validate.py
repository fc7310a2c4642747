"""Run the expectation suites on pandas DataFrames and return typed results naming every failure.

One ephemeral GE context per process (building it and importing GE costs seconds); each suite is
registered once and validated against a whole-DataFrame batch, one thread at a time (`GE_LOCK`).
A failure lists the rule's name (``meta["check"]``), its GE expectation type, its columns and the
failing rows with their clip ids.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from typing import Any

import pandas as pd

from clipmill.quality.results import Failure, QualityReport, SuiteResult
from clipmill.quality.suites import SuiteSpec, all_suites

log = logging.getLogger(__name__)


#: Held around every use of the GE context. GE 1.x is not safe to validate from two threads at once:
#: every batch of one dataframe asset gets the same batch id (``clipmill-frames-<suite>``; the
#: dataframe is left out of the id) and the data source keeps one execution engine whose batch data
#: and metric caches are keyed by that id. A second thread's ``get_batch`` replaces the first one's
#: rows while its metrics are computed, so a clean clip reported the other clip's failing rows and
#: a broken one passed, or lost rows. Registering a suite on first use (``add_dataframe_asset``,
#: ``suites.add``) is not safe either. A library batch runs its clip jobs as threads of one process;
#: one suite on one clip's rows takes well under a second, so taking turns costs little.
#: Building the suites (`all_suites`) happens under it too: `warm_up` imports GE holding it, and a
#: suite built from a half-imported GE fails.
GE_LOCK = threading.Lock()


@functools.cache
def _context() -> Any:
    """The process's ephemeral GE context with one pandas data source, progress bars off."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.data_sources.add_pandas("clipmill-frames")
    return context


@functools.cache
def _registered(name: str) -> tuple[Any, Any]:
    """(batch definition, expectation suite) for the suite `name`, registered once per process.

    Call it holding `GE_LOCK` only.
    """
    import great_expectations as gx

    spec = all_suites()[name]
    context = _context()
    asset = context.data_sources.get("clipmill-frames").add_dataframe_asset(name)
    batch_definition = asset.add_batch_definition_whole_dataframe(f"{name}-all-rows")
    suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=list(spec.expectations)))
    return batch_definition, suite


def warm_up() -> None:
    """Build the GE context and every suite now (a few seconds), e.g. before timing a validation."""
    with GE_LOCK:
        for name in all_suites():
            _registered(name)


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value for numpy scalars, timestamps and NaN."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _error_text(info: Any) -> str | None:
    """The exception GE caught while evaluating an expectation, if any."""
    if not info:
        return None
    entries = [info] if "raised_exception" in info else list(info.values())
    messages = [str(e.get("exception_message")) for e in entries if isinstance(e, dict) and e.get("raised_exception")]
    return "; ".join(messages) or None


def _failure(spec: SuiteSpec, outcome: Any, clip_ids: list[str]) -> Failure:
    config = outcome.expectation_config
    kwargs = config.kwargs
    columns = tuple(kwargs[key] for key in ("column", "column_A", "column_B") if key in kwargs)
    result = outcome.result or {}
    rows = tuple({k: _plain(v) for k, v in row.items()} for row in result.get("unexpected_index_list") or [])
    failing = sorted({str(row["clip_id"]) for row in rows if row.get("clip_id") is not None}) or clip_ids
    return Failure(
        suite=spec.name,
        check=(config.meta or {}).get("check", config.type),
        expectation=config.type,
        columns=columns,
        description=config.description or "",
        clip_ids=tuple(failing),
        rows=rows,
        unexpected_count=int(result.get("unexpected_count") or len(rows)),
        error=_error_text(outcome.exception_info),
    )


def validate_frame(frame: pd.DataFrame, suite: str) -> SuiteResult:
    """Validate `frame` with the suite named `suite` (see `clipmill.quality.suites.all_suites`).

    A passing table is told apart with GE's ``BOOLEAN_ONLY`` results (half the time of a full
    report: no failing rows to collect); only a failing one is validated again with ``COMPLETE``
    results, for the failing rows. An empty table passes without calling GE: there is nothing to check.
    """
    if frame.empty:
        return SuiteResult(suite=suite, rows=0, evaluated=0, failures=(), seconds=0.0)
    clip_ids = sorted({str(c) for c in frame["clip_id"].dropna()}) if "clip_id" in frame else []
    with GE_LOCK:
        spec = all_suites()[suite]
        index = [c for c in spec.index_columns if c in frame.columns]
        batch_definition, expectation_suite = _registered(suite)
        started = time.perf_counter()
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame.reset_index(drop=True)})
        result = batch.validate(expectation_suite, result_format={"result_format": "BOOLEAN_ONLY"})
        if not result.success:
            result = batch.validate(
                expectation_suite,
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": index},
            )
        seconds = time.perf_counter() - started
        failures = tuple(_failure(spec, outcome, clip_ids) for outcome in result.results if not outcome.success)
    log.info("suite %s on %d rows: %d failed of %d in %.2f s", suite, len(frame), len(failures),
             len(result.results), seconds)
    return SuiteResult(suite=suite, rows=len(frame), evaluated=len(result.results), failures=failures, seconds=seconds)


def validate_frames(frames: dict[str, pd.DataFrame]) -> QualityReport:
    """Validate each table with the suite of the same name (manifests, timelines, tracks, outputs)."""
    return QualityReport(tuple(validate_frame(frame, name) for name, frame in frames.items()))
