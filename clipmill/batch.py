"""Batch requests: parse a requests file, expand a library listing, validate rows, cut into batches.

A requests file is CSV (``source,start,end[,options]``, optional header) or JSON Lines (one object
per line with the same fields); ``options`` is a JSON object of `clipmill.config.ClipOptions`.
Every row is checked on its own: a bad row becomes a `RowFailure` with its reason and the rest of
the batch goes on.

Whole files listed under a bucket prefix get ranges from the *window policy*: a video of at most
``window_s`` seconds becomes one clip of the whole video; a longer one becomes consecutive windows
``[0, w), [w, 2w), …`` and a last piece shorter than ``min_window_s`` joins the window before it,
so every second of the video is in exactly one clip. A listed video may instead bring its own
ranges (`ListedVideo.ranges`: windows snapped to pauses, or suggested clips, from
`clipmill.segment_policy`), each with the record of how it was chosen (`ClipRequest.selection`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any, TypeVar

from clipmill.config import ClipOptions, effective_options
from clipmill.errors import InputError
from clipmill.jobs import check_times

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mts", ".ts", ".mpg", ".mpeg"})
FIELDS = ("source", "start", "end", "options")

T = TypeVar("T")


@dataclass(frozen=True)
class ClipRequest:
    """One validated clip request; `row` is its 1-based line (or listing position) in the input."""

    row: int
    source: str
    start_s: float
    end_s: float
    options: dict[str, Any] = field(default_factory=dict)
    selection: dict[str, Any] | None = None

    @property
    def request_id(self) -> str:
        """A short hash of what the request asks for (same request, same id, in any batch)."""
        return _digest({"source": self.source, "start_s": self.start_s, "end_s": self.end_s, "options": self.options})

    @property
    def label(self) -> str:
        return f"{PurePosixPath(self.source).name} {self.start_s:g}-{self.end_s:g}"


@dataclass(frozen=True)
class RowFailure:
    """A row that could not become a request, with the reason in words."""

    row: int
    text: str
    reason: str


@dataclass(frozen=True)
class ParsedRequests:
    """The requests of one input, the rows that failed and how many duplicate rows were dropped."""

    requests: tuple[ClipRequest, ...]
    failures: tuple[RowFailure, ...]
    duplicates: int = 0


@dataclass(frozen=True)
class ListedVideo:
    """A video found under a prefix: its source URI and duration, or why it could not be probed;
    `ranges` ``((start_s, end_s, selection), ...)`` when its clips were planned, else the window policy's."""

    source: str
    duration_s: float | None
    error: str | None = None
    ranges: tuple[tuple[float, float, dict[str, Any]], ...] | None = None


@dataclass(frozen=True)
class RequestOutcome:
    """How one request (or bad row) ended: ``published``, ``reused`` or ``failed`` with a reason."""

    row: int
    status: str
    source: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    reason: str | None = None
    clip_id: str | None = None
    job_id: str | None = None
    clip_uri: str | None = None
    manifest_uri: str | None = None
    flow_run_id: str | None = None
    seconds: float = 0.0
    input: str | None = None

    @classmethod
    def of_row(cls, failure: RowFailure) -> "RequestOutcome":
        """A row that never became a request."""
        return cls(row=failure.row, status="failed", reason=failure.reason, input=failure.text)

    @classmethod
    def of_clip(cls, request: ClipRequest, clip: dict[str, Any], *, seconds: float, flow_run_id: str | None) -> "RequestOutcome":
        """A request whose clip job completed (`clip` is its return value)."""
        return cls(
            row=request.row, status="reused" if clip.get("reused") else "published", source=request.source,
            start_s=request.start_s, end_s=request.end_s, clip_id=clip.get("clip_id"), job_id=clip.get("job_id"),
            clip_uri=clip.get("clip_uri"), manifest_uri=clip.get("manifest_uri"), flow_run_id=flow_run_id,
            seconds=round(seconds, 3),
        )

    @classmethod
    def of_failure(cls, request: ClipRequest, reason: str, *, seconds: float, flow_run_id: str | None) -> "RequestOutcome":
        """A request whose clip job failed or could not start."""
        return cls(
            row=request.row, status="failed", source=request.source, start_s=request.start_s, end_s=request.end_s,
            reason=reason, flow_run_id=flow_run_id, seconds=round(seconds, 3),
        )


def summarize(
    batch: str, *, origin: str, outcomes: Sequence[RequestOutcome], duplicates: int, wall_s: float
) -> dict[str, Any]:
    """The batch summary document: counts by status, throughput, and every outcome in row order."""
    counts = {status: sum(o.status == status for o in outcomes) for status in ("published", "reused", "failed")}
    ordered = sorted(outcomes, key=lambda o: (o.row, o.start_s or 0.0))
    return {
        "batch_id": batch,
        "origin": origin,
        "counts": {"requests": len(outcomes), **counts, "duplicates": duplicates},
        "wall_s": round(wall_s, 3),
        "clips_per_min": round(60 * (counts["published"] + counts["reused"]) / wall_s, 2) if wall_s > 0 else None,
        "results": [asdict(o) for o in ordered],
    }


def parse_requests(text: str, *, name: str = "", defaults: dict[str, Any] | None = None) -> ParsedRequests:
    """Parse a CSV or JSON Lines requests file; `defaults` are options every row starts from.

    The format comes from the file name (``.csv``; ``.jsonl``, ``.ndjson``, ``.json``) or, without
    one, from the first non-blank character (``{`` means JSON Lines).
    """
    rows = _jsonl_rows(text) if _is_jsonl(text, name) else _csv_rows(text)
    return _validate_rows(rows, defaults or {})


def windows(duration_s: float, *, window_s: float, min_window_s: float = 1.0) -> list[tuple[float, float]]:
    """Ranges covering ``[0, duration_s)`` by the window policy (see the module docstring).

    >>> windows(150.0, window_s=60.0)
    [(0.0, 60.0), (60.0, 120.0), (120.0, 150.0)]
    >>> windows(120.5, window_s=60.0)
    [(0.0, 60.0), (60.0, 120.5)]
    """
    if not (math.isfinite(window_s) and window_s > 0):
        raise InputError(f"window_s must be a positive number of seconds (got {window_s!r})")
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise InputError(f"duration must be a positive number of seconds (got {duration_s!r})")
    count = max(1, math.ceil(duration_s / window_s - 1e-9))
    edges = [round(k * window_s, 6) for k in range(count)] + [duration_s]
    if count > 1 and edges[-1] - edges[-2] < min_window_s:
        del edges[-2]
    return list(zip(edges[:-1], edges[1:]))


def expand_listing(
    videos: Sequence[ListedVideo], *, window_s: float, min_window_s: float = 1.0, defaults: dict[str, Any] | None = None
) -> ParsedRequests:
    """Requests for whole listed videos by their planned ranges, else the window policy; unprobed videos
    (and videos whose planning failed) become failures."""
    rows: list[tuple[int, str, dict[str, Any] | str]] = []
    failures: list[RowFailure] = []
    chosen: dict[tuple[str, float, float], dict[str, Any]] = {}
    for position, video in enumerate(videos, start=1):
        if video.duration_s is None or video.error:
            failures.append(RowFailure(position, video.source, video.error or "duration unknown"))
            continue
        try:
            ranges = video.ranges if video.ranges is not None else [
                (a, b, None) for a, b in windows(video.duration_s, window_s=window_s, min_window_s=min_window_s)]
        except InputError as exc:
            failures.append(RowFailure(position, video.source, f"{video.source}: {exc}"))
            continue
        for a, b, selection in ranges:
            rows.append((position, video.source, {"source": video.source, "start": a, "end": b}))
            if selection is not None:
                chosen[(video.source, float(a), float(b))] = selection
    parsed = _validate_rows(rows, defaults or {})
    requests = tuple(replace(r, selection=chosen.get((r.source, r.start_s, r.end_s))) for r in parsed.requests)
    return ParsedRequests(requests, tuple(failures) + parsed.failures, parsed.duplicates)


def is_video_key(key: str) -> bool:
    """Whether an object key names a video by its extension (case-insensitive)."""
    return PurePosixPath(key).suffix.lower() in VIDEO_EXTENSIONS


def batches(items: Sequence[T], batch_size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `batch_size` items, in order."""
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1 (got {batch_size!r})")
    for first in range(0, len(items), batch_size):
        yield items[first:first + batch_size]


def batch_id(requests: Iterable[ClipRequest], *, origin: str) -> str:
    """A stable id for a batch: the same input and requests give the same id, so re-runs meet."""
    return _digest({"origin": origin, "requests": sorted(r.request_id for r in requests)})


def parse_option_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """``["crf=23", "clip_name=intro"]`` → ``{"crf": "23", "clip_name": "intro"}`` (values stay text)."""
    options = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InputError(f"option {pair!r} must look like name=value (e.g. crf=23)")
        options[name.strip()] = value.strip()
    return options


def _is_jsonl(text: str, name: str) -> bool:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return True
    if suffix == ".csv":
        return False
    return text.lstrip().startswith("{")


def _jsonl_rows(text: str) -> list[tuple[int, str, dict[str, Any] | str]]:
    rows: list[tuple[int, str, dict[str, Any] | str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append((number, line, f"not valid JSON: {exc.msg} at column {exc.colno}"))
            continue
        rows.append((number, line, value if isinstance(value, dict) else f"expected a JSON object, got {value!r}"))
    return rows


def _csv_rows(text: str) -> list[tuple[int, str, dict[str, Any] | str]]:
    """Rows of a CSV requests file, one per line, numbered by line.

    Each line is read on its own and strictly: a request never spans lines, so a quote left open
    fails its own line (with the line number) instead of swallowing the requests after it.
    """
    rows: list[tuple[int, str, dict[str, Any] | str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            cells = next(csv.reader([line], strict=True), [])
        except csv.Error as exc:
            rows.append((number, line, f"line {number} is not valid CSV ({exc}): a quoted field must be closed "
                                       'on its line, with quotes inside it doubled ("")'))
            continue
        if not any(cell.strip() for cell in cells) or cells[0].lstrip().startswith("#"):
            continue
        if number == 1 and [c.strip().lower() for c in cells[:3]] == list(FIELDS[:3]):
            continue
        if not 3 <= len(cells) <= 4:
            rows.append((number, line, f"expected 3 or 4 columns (source,start,end[,options]), got {len(cells)}"))
            continue
        row: dict[str, Any] = dict(zip(FIELDS, (c.strip() for c in cells)))
        if row.get("options"):
            try:
                row["options"] = json.loads(row["options"])
            except json.JSONDecodeError as exc:
                rows.append((number, line, f"options column is not valid JSON: {exc.msg}"))
                continue
        rows.append((number, line, row))
    return rows


def _validate_rows(rows: Iterable[tuple[int, str, dict[str, Any] | str]], defaults: dict[str, Any]) -> ParsedRequests:
    requests: list[ClipRequest] = []
    failures: list[RowFailure] = []
    seen: set[str] = set()
    duplicates = 0
    for number, raw, row in rows:
        try:
            request = _to_request(number, row, defaults)
        except InputError as exc:
            failures.append(RowFailure(number, raw, str(exc)))
            continue
        if request.request_id in seen:
            duplicates += 1
            continue
        seen.add(request.request_id)
        requests.append(request)
    return ParsedRequests(tuple(requests), tuple(failures), duplicates)


def _to_request(number: int, row: dict[str, Any] | str, defaults: dict[str, Any]) -> ClipRequest:
    if isinstance(row, str):
        raise InputError(row)
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(unknown)}; a request has {', '.join(FIELDS)}")
    source = row.get("source")
    if not isinstance(source, str) or not source.strip():
        raise InputError(f"source is required (got {source!r})")
    for name in ("start", "end"):
        if row.get(name) in (None, ""):
            raise InputError(f"{name} is required: give the range in seconds")
    start_s, end_s = check_times(row["start"], row["end"])
    given = row.get("options") or {}
    if not isinstance(given, dict):
        raise InputError(f"options must be a JSON object (got {given!r})")
    options = {**defaults, **given}
    effective_options(ClipOptions(), options)
    return ClipRequest(row=number, source=source.strip(), start_s=start_s, end_s=end_s, options=options)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]
