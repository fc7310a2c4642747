"""clipmill: long videos in, finished clips out — pure compute and adapters under Prefect flows.

The Python entry point is `process_clip`, which runs the same `clip_job` flow as the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clipmill.version import __version__

if TYPE_CHECKING:
    from clipmill.cli.api import ClipResult

__all__ = ["__version__", "process_clip"]


def process_clip(
    source: str, *, start: float, end: float, out_dir: str = "clips", clip_preset: str | None = None, **options: Any
) -> "ClipResult":
    """Cut ``[start, end)`` out of `source` through the `clip_job` flow; see `clipmill.cli.api.process_clip`."""
    from clipmill.cli.api import process_clip as run

    return run(source, start=start, end=end, out_dir=out_dir, clip_preset=clip_preset, **options)
