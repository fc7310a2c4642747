"""One figure of the benchmark table, and the guard that turns a failing measurement into a row.

Every measurement returns rows; :func:`guarded` runs it and, when it raises, returns a single row that
says ``error: ...`` so one broken stage never aborts the run.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    """A named figure: seconds of compute, real-time factor (media s per compute s), free text, raw data."""

    group: str
    name: str
    seconds: float | None = None
    rtf: float | None = None
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rtf_row(group: str, name: str, media_s: float, seconds: float, detail: str = "", **data: Any) -> Row:
    """A row whose real-time factor is `media_s` of media processed in `seconds`."""
    return Row(group, name, seconds=seconds, rtf=media_s / seconds if seconds > 0 else None, detail=detail, data=data)


def not_available(group: str, name: str, why: str) -> Row:
    """A row for something that cannot be measured here, saying why."""
    return Row(group, name, detail=f"n/a: {why}")


def guarded(group: str, name: str, measure: Callable[[], list[Row]]) -> list[Row]:
    """Run `measure`; on any exception return one ``error: ...`` row instead of raising."""
    try:
        return measure()
    except Exception as exc:  # noqa: BLE001 - a benchmark row must never abort the run
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"
        return [Row(group, name, detail=f"error: {type(exc).__name__}: {str(exc)[:200]} ({where})")]


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """``with stopwatch() as elapsed: ...``; ``elapsed()`` gives the seconds since entry (frozen at exit)."""
    started = time.perf_counter()
    stopped: list[float] = []
    yield lambda: (stopped[0] if stopped else time.perf_counter()) - started
    stopped.append(time.perf_counter())
