"""The manifest published beside every clip: what went in, what was asked, what came out.

The pydantic model is the source of truth; its JSON Schema is checked in under
``data_contracts/manifest.schema.json`` (a test fails when they drift) and every manifest is
validated against that file before it is published.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field

from clipmill.artifacts.document import CONTRACTS_DIR, Document
from clipmill.errors import ContractViolation
from clipmill.timebase import DURATION_SLACK_S

SCHEMA_PATH = CONTRACTS_DIR / "manifest.schema.json"

SHA256 = r"^[0-9a-f]{64}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceSection(_Strict):
    uri: str = Field(description="Where the source was read: absolute path or s3://bucket/key.")
    sha256: str = Field(pattern=SHA256)
    size_bytes: int = Field(gt=0)
    probe: dict[str, Any] = Field(description="ffprobe facts about the source (clipmill.media.MediaInfo).")


class RequestSection(_Strict):
    start_s: float = Field(ge=0)
    end_s: float = Field(gt=0)
    options: dict[str, Any] = Field(description="Effective options: installation defaults with per-run overrides.")


class OutputFile(_Strict):
    role: Literal["clip"] = "clip"
    key: str
    uri: str
    sha256: str = Field(pattern=SHA256)
    size_bytes: int = Field(gt=0)
    duration_s: float = Field(gt=0)
    video_codec: Literal["h264"]
    audio_codec: Literal["aac"] | None
    pix_fmt: Literal["yuv420p"]
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    fps: str = Field(pattern=r"^[0-9]+/[0-9]+$")


class RangeSelection(_Strict):
    """How a library batch chose the clip's range: a suggested candidate, or a window snapped to pauses."""

    policy: Literal["auto", "windows"] = Field(description="auto: a `clipmill suggest` candidate; windows: the window policy.")
    score: float | None = Field(default=None, ge=0, le=1, description="The candidate's score (auto).")
    reasons: dict[str, Any] = Field(default_factory=dict, description="The candidate's named features (auto).")
    snapped: bool | None = Field(default=None, description="Whether the window's edges were moved into pauses (windows).")
    suggestion_key: str | None = Field(default=None, description="Key of the suggestion document (auto).")
    analysis_key: str | None = Field(default=None, description="Key of the whole-source analysis the range came from.")


class Manifest(Document):
    contract = SCHEMA_PATH.name

    clip_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    job_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    created_at: datetime
    flow_run_id: str | None = None
    source: SourceSection
    request: RequestSection
    stages: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-stage summaries (profile, speech, silences, fillers, tracks, ...)."
    )
    selection: RangeSelection | None = Field(default=None, description="How the range was chosen, for batch clips.")
    outputs: list[OutputFile] = Field(min_length=1)
    versions: dict[str, str] = Field(description="clipmill, ffmpeg, python, prefect and model versions.")
    timings_s: dict[str, float] = Field(description="Wall time per stage in seconds.")

    def to_json(self) -> bytes:
        return self.model_dump_json(indent=2).encode()

    @property
    def clip(self) -> OutputFile:
        return self.outputs[0]


def checked_in_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def validate_manifest(document: dict[str, Any]) -> None:
    """Check a manifest document against the checked-in contract; `ContractViolation` lists every violation."""
    validator = jsonschema.Draft202012Validator(checked_in_schema(), format_checker=jsonschema.FormatChecker())
    problems = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if problems:
        lines = [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in problems]
        raise ContractViolation("manifest violates data_contracts/manifest.schema.json: " + "; ".join(lines))


def check_consistency(manifest: Manifest, *, frame_s: float) -> None:
    """Cross-field rules the schema cannot express: the clip is as long as its edit plan (or, without
    one, the requested range) within one frame, and never longer than the range."""
    requested = manifest.request.end_s - manifest.request.start_s
    edit = manifest.stages.get("edit")
    wanted = float(edit["output_duration_s"]) if edit else requested
    what = "the edit plan's" if edit else "the requested"
    got = manifest.clip.duration_s
    if abs(got - wanted) > frame_s + DURATION_SLACK_S:
        raise ContractViolation(
            f"clip duration {got:.3f} s differs from {what} {wanted:.3f} s by more than one frame ({frame_s:.4f} s)"
        )
    if got > requested + frame_s + DURATION_SLACK_S:
        raise ContractViolation(f"clip duration {got:.3f} s is longer than the requested range ({requested:.3f} s)")


def build_manifest(
    *, clip_id: str, job_id: str, created_at: datetime, flow_run_id: str | None, source: SourceSection,
    request: RequestSection, output: OutputFile, versions: dict[str, str], timings_s: dict[str, float],
    stages: dict[str, dict[str, Any]] | None = None, selection: RangeSelection | None = None,
) -> Manifest:
    """Assemble a manifest from the stages' results (no I/O: the caller gathers the facts)."""
    return Manifest(
        clip_id=clip_id, job_id=job_id, created_at=created_at, flow_run_id=flow_run_id, source=source,
        request=request, stages=stages or {}, selection=selection, outputs=[output], versions=versions,
        timings_s={name: round(seconds, 4) for name, seconds in timings_s.items()},
    )
