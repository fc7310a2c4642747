"""The `clipmill-clip-preset` block: a named set of clip options kept by the Prefect server.

``clipmill presets --register`` saves the built-in presets (`BUILT_IN`); more can be made in the
UI or with ``ClipPreset(options={...}).save("my-preset")``. A clip job run with ``preset=NAME``
starts from the preset's options: installation defaults < preset < the run's own options.
"""

from __future__ import annotations

from typing import Any

import httpx
from prefect.blocks.core import Block
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from pydantic import Field, ValidationError, field_validator

from clipmill.config import ClipOptions
from clipmill.errors import InputError

BLOCK_TYPE_SLUG = "clipmill-clip-preset"


class ClipPreset(Block):
    """Clip options under a name, e.g. ``shorts-9x16``; validated against `ClipOptions` when made."""

    _block_type_name = "clipmill clip preset"
    _block_type_slug = BLOCK_TYPE_SLUG
    _description = "A named set of clip options (framing, pause and filler handling, quality) for clip jobs."

    options: dict[str, Any] = Field(description="Clip options by name, as the clip job's `options` parameter takes them.")
    description: str = Field("", description="What the preset is for.")

    @field_validator("options")
    @classmethod
    def _valid_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        ClipOptions.model_validate(options)
        return options


BUILT_IN: dict[str, ClipPreset] = {
    "shorts-9x16": ClipPreset(
        description="Vertical shorts: 9:16 around the speaker, pauses cut to 0.5 s, fillers cut.",
        options={"reframe": "9:16", "remove_silence": True, "max_silence_s": 0.5, "remove_fillers": True, "crf": 23},
    ),
    "podcast-cleanup": ClipPreset(
        description="Podcast audio clean-up: framing kept, fillers cut, pauses played twice as fast, none over 1 s.",
        options={
            "reframe": "none", "detect_faces": False, "remove_fillers": True, "remove_silence": False,
            "speed_up_silence": True, "speed_factor": 2.0, "max_silence_s": 1.0,
        },
    ),
    "interview-1x1": ClipPreset(
        description="Square interview clips: 1:1 on the talker, pauses over 0.8 s cut, fillers kept.",
        options={"reframe": "1:1", "face_sampling": "motion", "remove_silence": True, "max_silence_s": 0.8},
    ),
}


def register_presets() -> list[str]:
    """Save every built-in preset on the Prefect server (overwriting older versions); their names."""
    for name, preset in BUILT_IN.items():
        preset.save(name, overwrite=True)
    return list(BUILT_IN)


def saved_presets() -> dict[str, dict[str, Any]]:
    """Every preset saved on the Prefect server, by name, as stored (``options``, ``description``);
    none on a server where no preset was ever saved (the block type is not registered there yet)."""
    try:
        with get_client(sync_client=True) as client:
            documents = client.read_block_documents_by_type(BLOCK_TYPE_SLUG)
    except ObjectNotFound:
        return {}
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code == 404:
            return {}
        raise
    return {doc.name: doc.data for doc in documents if doc.name}


def resolve_preset(name: str | None) -> dict[str, Any]:
    """The options of the saved preset `name` (none: no options); `InputError` listing the saved ones.

    The stored document is checked here rather than by `ClipPreset.load`, so a preset edited into
    invalid options in the UI fails the run with the problem named.
    """
    if not name:
        return {}
    try:
        with get_client(sync_client=True) as client:
            document = client.read_block_document_by_name(name, BLOCK_TYPE_SLUG)
    except ObjectNotFound as exc:
        known = ", ".join(sorted(saved_presets())) or "none (run `clipmill presets --register`)"
        raise InputError(f"unknown clip preset {name!r}; saved presets: {known}") from exc
    options = dict(document.data.get("options") or {})
    try:
        ClipOptions.model_validate(options)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors())
        raise InputError(f"saved clip preset {name!r} holds invalid clip options: {problems}") from exc
    return options
