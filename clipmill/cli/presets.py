"""``clipmill presets``: list the clip presets saved on the Prefect server; ``--register`` saves the built-ins.

Talks to the server PREFECT_API_URL names, else to the local one `clipmill run` uses. Prints one line per preset: name, description and its
options as JSON. Register with ``app.command("presets")(presets)``.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer


def presets(
    register: Annotated[
        bool, typer.Option("--register", help="Save the built-in presets (shorts-9x16, podcast-cleanup, ...) first.")
    ] = False,
) -> None:
    """List the clip presets a clip job's `preset` parameter can name."""
    from blocks.presets import register_presets, saved_presets
    from clipmill.cli.server import prefect_api

    with prefect_api(contracts=False):  # presets validate no clip
        if register:
            typer.echo(f"registered: {', '.join(register_presets())}")
        found = saved_presets()
    if not found:
        typer.echo("no clip presets saved; run `clipmill presets --register`")
    for name, preset in sorted(found.items()):
        typer.echo(f"{name}\t{preset.get('description', '')}\t{json.dumps(preset.get('options'), sort_keys=True)}")
