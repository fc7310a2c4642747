"""``clipmill server start|status|stop`` and `prefect_api`: which Prefect server a command's flows report to.

Commands that run flows use the server Prefect's settings name (``PREFECT_API_URL``), else the local
server (`clipmill.prefect_server`), started on first use and shared by later commands. Register with
``app.add_typer(server_app, name="server")``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from clipmill import prefect_server
from clipmill.quality import contracts_service
from clipmill.quality.contracts_process import SERVICE_ENV

server_app = typer.Typer(no_args_is_help=True, help="The local Prefect server (API and UI) used without PREFECT_API_URL.")


@contextmanager
def prefect_api(home: Path | None = None, *, contracts: bool = True, heartbeats: bool = True) -> Iterator[str]:
    """Point Prefect at the configured server, or at the local one under `home` (started on demand).

    The local server's URL also goes into the environment, for child processes (Dask workers), and so
    does the socket of its contracts process (`clipmill.quality.contracts_service`), where the jobs
    validate their clips; a command that runs no clip job passes ``contracts=False`` and starts none.
    ``heartbeats=False`` turns flow-run heartbeats off in the same settings (`tasks.runtime.without_heartbeats`
    then has nothing to derive: each derived copy of Prefect's settings costs a fresh process ~20 ms).
    Yields the API URL.
    """
    from prefect.settings import get_current_settings, temporary_settings

    configured = get_current_settings().api.url
    if configured:
        yield str(configured)
        return
    home = home or _home()
    server = prefect_server.ensure_running(home)
    socket = contracts_service.ensure_running(home) if contracts else None
    os.environ["PREFECT_API_URL"] = server.api_url
    if socket is not None:
        os.environ[SERVICE_ENV] = str(socket)
    try:
        updates = {"api.url": server.api_url} | ({} if heartbeats else {"flows.heartbeat_frequency": None})
        with temporary_settings(updates=updates):
            yield server.api_url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        os.environ.pop(SERVICE_ENV, None)


def _home() -> Path:
    from clipmill.config import load_settings

    return load_settings().home


@server_app.command("start")
def server_start() -> None:
    """Start the local server now (a run would start it on first use); print its UI address."""
    typer.echo(prefect_server.ensure_running(_home()).ui_url)


@server_app.command("status")
def server_status() -> None:
    """Print the local server's UI and API addresses and data folder as JSON (exit 1 when it is not running)."""
    state = prefect_server.running(_home())
    if state is None:
        typer.echo(json.dumps({"running": False}))
        raise typer.Exit(code=1)
    contracts = contracts_service.running(_home())
    typer.echo(json.dumps({
        "running": True, "pid": state.pid, "ui_url": state.ui_url, "api_url": state.api_url, "data_dir": state.data_dir,
        "contracts_pid": contracts.pid if contracts else None,
    }))


@server_app.command("stop")
def server_stop() -> None:
    """Stop the local server and its contracts process (its database stays for the next run)."""
    typer.echo("stopped" if prefect_server.stop(_home()) else "not running")
