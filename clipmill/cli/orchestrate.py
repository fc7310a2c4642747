"""``clipmill batch`` and ``clipmill submit``: bulk runs here, single runs through a deployment.

``batch`` runs the library-batch flow in this process (on the server PREFECT_API_URL names, or
the local one `clipmill run` also uses) and prints the summary as one JSON line, last; exit code 1 when any request
failed. ``submit`` creates a flow run of a deployment through the Prefect API, prints its id and
UI link, and with ``--follow`` prints its state changes and logs until it ends: exit code 0 when
it completed, 1 when it failed, crashed or was cancelled, 124 when ``--timeout`` ran out first.
Register with ``app.command("batch")(batch)`` and ``app.command("submit")(submit)``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Annotated, Any, Optional
from uuid import UUID

import typer

from clipmill.cli.failures import fail
from clipmill.cli.console import configure_console
from clipmill.cli.server import prefect_api
from clipmill.errors import ClipmillError, InputError

TIMEOUT_EXIT = 124


def upload_requests(path: Path) -> str:
    """Store a local requests file under ``requests/<sha256[:12]>-<name>`` (same file, same key)."""
    from clipmill.cli.storage import object_store
    from clipmill.storage.keys import safe_name

    data = path.read_bytes()
    key = f"requests/{hashlib.sha256(data).hexdigest()[:12]}-{safe_name(path.name)}"
    object_store().put_bytes(key, data, content_type="text/plain")
    return key


def batch(
    prefix: Annotated[Optional[str], typer.Argument(help="Key prefix in the store: every video under it.")] = None,
    requests: Annotated[
        Optional[str],
        typer.Option("--requests", "-r", help="Requests file (CSV or JSONL): a local file (uploaded first), a key or s3:// URI."),
    ] = None,
    window: Annotated[float, typer.Option("--window", help="Whole videos up to this long are one clip; longer ones, windows of it, edges moved into pauses (s).")] = 60.0,
    option: Annotated[
        Optional[list[str]], typer.Option("--option", "-o", help="Option name=value for every request (a request's own win).")
    ] = None,
    max_concurrency: Annotated[int, typer.Option("--max-concurrency", min=1, help="Clip jobs at a time.")] = 4,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Requests started per batch.")] = 50,
    json_output: Annotated[bool, typer.Option("--json", help="Print the whole summary (every request) as the JSON line.")] = False,
    auto: Annotated[bool, typer.Option("--auto", help="Cut the clips `clipmill suggest` finds instead of windows.")] = False,
    length: Annotated[str, typer.Option("--length", help="With --auto: clip length MIN-MAX in seconds.")] = "20-60",
    count: Annotated[int, typer.Option("--count", min=1, help="With --auto: clips per video (at most).")] = 5,
) -> None:
    """Clip every video under PREFIX, or every request of a requests file, and summarise the batch."""
    from clipmill.batch import parse_option_pairs
    from clipmill.config import load_settings
    from clipmill.scratch import reap_orphans
    from clipmill.segment import parse_length
    from flows.library_batch import library_batch

    configure_console()
    try:
        if (prefix is None) == (requests is None):
            raise InputError("give a PREFIX or --requests FILE (one of them)")
        bounds = parse_length(length)
        key = upload_requests(Path(requests)) if requests and Path(requests).is_file() else requests
        with prefect_api():
            reap_orphans(load_settings().temp_dir)
            summary = library_batch(
                prefix=prefix, requests_key=key, window_s=window, options=parse_option_pairs(option or []) or None,
                max_concurrency=max_concurrency, batch_size=batch_size, segmentation="auto" if auto else "windows",
                min_length_s=bounds.min_s, max_length_s=bounds.max_s, count=count,
            )
    except ClipmillError as exc:
        fail(exc)
    for result in summary["results"]:
        if result["status"] == "failed":
            where = result["source"] or result["input"]
            typer.secho(f"FAIL row {result['row']} {where}: {result['reason']}", fg=typer.colors.RED, err=True)
    brief = {name: summary[name] for name in ("batch_id", "counts", "wall_s", "clips_per_min", "summary_uri")}
    typer.echo(json.dumps(summary if json_output else brief))
    if summary["counts"]["failed"]:
        raise typer.Exit(code=1)


def submit(
    source: Annotated[str, typer.Argument(help="Video path (as the worker sees it) or s3://bucket/key.")],
    start: Annotated[float, typer.Option("--start", "-s", help="Clip start in seconds.")],
    end: Annotated[float, typer.Option("--end", "-e", help="Clip end in seconds (exclusive).")],
    option: Annotated[Optional[list[str]], typer.Option("--option", "-o", help="Per-run option name=value.")] = None,
    deployment: Annotated[str, typer.Option("--deployment", help="FLOW/DEPLOYMENT to run.")] = "clip-job/clip-job",
    follow: Annotated[bool, typer.Option("--follow", help="Print state changes and logs until the run ends.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds --follow waits for the end.")] = 3600.0,
) -> None:
    """Create a flow run of the clip-job deployment through the Prefect API (a worker runs it)."""
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    from clipmill.batch import parse_option_pairs

    try:
        options = parse_option_pairs(option or [])
        parameters: dict[str, Any] = {"source": source, "start": start, "end": end, "options": options or None}
        run = run_deployment(deployment, parameters=parameters, timeout=0)
    except ClipmillError as exc:
        fail(exc)
    except ObjectNotFound:
        fail(InputError(f"deployment {deployment!r} not found on {_api_url()}; deploy it with `prefect deploy --name clip-job`"))
    typer.echo(f"flow run {run.id} ({run.name}) {run.state.name if run.state else 'created'}")
    typer.echo(run_url(run.id))
    if follow:
        raise typer.Exit(code=follow_run(run.id, timeout_s=timeout))


def _api_url() -> str:
    from prefect.settings import get_current_settings

    return str(get_current_settings().api.url or "an ephemeral server (PREFECT_API_URL is not set)")


def run_url(run_id: UUID) -> str:
    """The flow run's page in the UI: PREFECT_UI_URL, else the API URL without its ``/api``."""
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    ui = os.environ.get("PREFECT_UI_URL") or settings.ui_url or (settings.api.url or "").removesuffix("/api")
    return f"{str(ui).rstrip('/')}/runs/flow-run/{run_id}"


def follow_run(run_id: UUID, *, timeout_s: float, poll_s: float = 1.0) -> int:
    """Print the run's state changes and logs until it ends; its exit code (see the module doc)."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout_s
    seen: set[UUID] = set()
    shown_states: set[UUID] = set()
    with get_client(sync_client=True) as client:
        while True:
            _print_new_states(client, run_id, shown_states)
            run = client.read_flow_run(run_id)
            shown_state = run.state.name if run.state else "created"
            final = run.state is not None and run.state.is_final()
            if final:
                time.sleep(poll_s)  # logs are shipped in batches: let the last ones land
            _print_new_logs(client, run_id, seen)
            if final:
                return _outcome(run)
            if time.monotonic() > deadline:
                typer.secho(f"error: flow run {run_id} still {shown_state} after {timeout_s:g} s", fg=typer.colors.RED, err=True)
                return TIMEOUT_EXIT
            time.sleep(poll_s)


def _print_new_states(client: Any, run_id: UUID, shown: set[UUID]) -> None:
    """Every state the run went through since the last call, from its history: a state shorter
    than the polling interval (a quick Running) is still reported."""
    for state in sorted(client.read_flow_run_states(run_id), key=lambda state: state.timestamp):
        if state.id not in shown:
            shown.add(state.id)
            typer.echo(f"{state.timestamp:%H:%M:%S} state {state.name}", err=True)


def _print_new_logs(client: Any, run_id: UUID, seen: set[UUID]) -> None:
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import LogSort

    page = 200
    offset = 0
    while True:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), limit=page, offset=offset,
            sort=LogSort.TIMESTAMP_ASC,
        )
        for entry in logs:
            if entry.id not in seen:
                seen.add(entry.id)
                level = logging.getLevelName(entry.level)
                typer.echo(f"{entry.timestamp:%H:%M:%S} {level:<7} {entry.name}: {entry.message}", err=True)
        if len(logs) < page:
            return
        offset += page


def _outcome(run: Any) -> int:
    state = run.state
    if state.is_completed():
        typer.echo(f"flow run {run.id} Completed")
        return 0
    typer.secho(f"error: flow run {run.id} {state.name}: {state.message or 'no message'}", fg=typer.colors.RED, err=True)
    return 1
