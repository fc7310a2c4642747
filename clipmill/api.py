"""The Python API: the `clip_job` flow for notebooks and programs, with local copies of the results.

This module and `clipmill.cli` are the entry points above the flows; nothing else in the
`clipmill` package imports Prefect code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clipmill.manifest import Manifest


@dataclass(frozen=True)
class ClipResult:
    """A finished clip on local disk, with its manifest and where both live in the store."""

    clip_path: Path
    manifest_path: Path
    manifest: Manifest
    clip_uri: str
    manifest_uri: str
    reused: bool
    timeline_path: Path | None = None

    @property
    def clip_id(self) -> str:
        return self.manifest.clip_id

    @property
    def duration_s(self) -> float:
        return self.manifest.clip.duration_s


def process_clip(
    source: str, *, start: float, end: float, out_dir: str | Path = "clips", clip_preset: str | None = None,
    **options: Any,
) -> ClipResult:
    """Run the `clip_job` flow on ``[start, end)`` of `source` and download the clip and manifest.

    Options are `clipmill.config.ClipOptions` fields (``crf=23``, ``clip_name="intro"``); an unknown
    one fails the flow run with an `InputError` that names it. `clip_preset` names a saved preset
    (`clipmill presets`) that the options override. Without ``PREFECT_API_URL`` the flow
    runs on an ephemeral Prefect server; without a configured endpoint, on the embedded store.
    """
    from flows.clip_job import clip_job
    from tasks.runtime import object_store

    published = clip_job(source, start, end, options or None, clip_preset)
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    store = object_store()
    clip_path = store.get_file(published["clip_key"], target / Path(published["clip_key"]).name)
    manifest_path = store.get_file(published["manifest_key"], target / Path(published["manifest_key"]).name)
    manifest = Manifest.model_validate(json.loads(manifest_path.read_text()))
    timeline = published.get("timeline_key")
    return ClipResult(
        clip_path=clip_path, manifest_path=manifest_path, manifest=manifest, clip_uri=published["clip_uri"],
        manifest_uri=published["manifest_uri"], reused=published["reused"],
        timeline_path=store.get_file(timeline, target / Path(timeline).name) if timeline else None,
    )
