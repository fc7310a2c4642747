"""Wire-format contracts for the intermediates data teams audit: timelines, tracks and edit plans.

Each pydantic model is the source of truth for one JSON Schema checked in under ``data_contracts/``
(the manifest's lives in `clipmill.manifest`). The models check structure only; semantic rules that
span rows (sorted, non-overlapping, inside the frame) are Great Expectations suites in
`clipmill.quality`, so an audit can name each broken rule instead of stopping at the first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from clipmill import manifest

CONTRACTS_DIR = Path(__file__).resolve().parents[1] / "data_contracts"

Seconds = Annotated[float, Field(ge=0)]
Span = tuple[Seconds, Seconds]


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimelinesContract(_Contract):
    """Speech, silences and fillers of one segment, as ``[[start_s, end_s], ...]`` from its start.

    Fillers carry a label and a confidence per interval in parallel lists (same length as ``fillers``).
    """

    schema_version: Literal["1"] = "1"
    segment_duration_s: float = Field(gt=0, description="Length of the analysed segment in seconds.")
    speech: list[Span] = Field(default_factory=list, description="Speech intervals, half-open, seconds.")
    silences: list[Span] = Field(default_factory=list, description="Silence intervals, half-open, seconds.")
    fillers: list[Span] = Field(default_factory=list, description="Filler-word intervals, half-open, seconds.")
    filler_labels: list[str] = Field(default_factory=list, description="Label per filler (um, uh, er, ah).")
    filler_confidence: list[Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=list, description="Detector confidence per filler in [0, 1]."
    )

    @model_validator(mode="after")
    def _parallel_filler_lists(self) -> "TimelinesContract":
        lengths = {len(self.fillers), len(self.filler_labels), len(self.filler_confidence)}
        if len(lengths) != 1:
            raise ValueError(
                f"fillers ({len(self.fillers)}), filler_labels ({len(self.filler_labels)}) and "
                f"filler_confidence ({len(self.filler_confidence)}) must have the same length"
            )
        return self


class TrackRow(_Contract):
    """One box of one face track at one time, in source pixels."""

    track_id: int = Field(ge=0)
    t: Seconds = Field(description="Seconds from the segment start.")
    x1: float
    y1: float
    x2: float
    y2: float
    confidence: float = Field(ge=0, le=1)
    observed: bool = Field(True, description="True where a detection backed the box; False where interpolated or predicted.")


class TracksContract(_Contract):
    """All face tracks of one segment as rows (the columns of ``tracks.parquet``)."""

    schema_version: Literal["1"] = "1"
    rows: list[TrackRow] = Field(default_factory=list)


class EditPlanContract(_Contract):
    """The edit decision list: source ranges kept, in output order, each with a playback speed."""

    schema_version: Literal["1"] = "1"
    segments: list[tuple[Seconds, Seconds, Annotated[float, Field(gt=0)]]] = Field(
        description="[src_start_s, src_end_s, speed] per kept range."
    )
    output_duration: float = Field(ge=0, description="Planned output length in seconds.")


class CaptionCueRow(_Contract):
    """One caption cue on the clip's timeline: its lines, and its words with their times when known."""

    start_s: Seconds = Field(description="Seconds from the clip's first frame.")
    end_s: Seconds
    lines: list[str] = Field(min_length=1, description="The cue's text, one entry per line.")
    words: list[tuple[Seconds, Seconds, str]] = Field(default_factory=list, description="[start_s, end_s, word] per word.")


class CaptionsContract(_Contract):
    """The captions of one clip, re-timed through its edit plan (what the .srt/.vtt or the burn shows)."""

    schema_version: Literal["1"] = "1"
    format: Literal["srt", "vtt"] = Field(description="Format of the published sidecar.")
    burned: bool = Field(description="Whether the cues are also burned into the video.")
    clip_duration_s: float = Field(gt=0, description="The edit plan's output duration.")
    width: int = Field(gt=0, description="Output frame width the lines were laid out for.")
    height: int = Field(gt=0)
    cues: list[CaptionCueRow] = Field(default_factory=list)


CONTRACTS: dict[str, type[BaseModel]] = {
    "timelines.schema.json": TimelinesContract,
    "tracks.schema.json": TracksContract,
    "edit_plan.schema.json": EditPlanContract,
    "captions.schema.json": CaptionsContract,
}


def generated_schema(filename: str) -> dict[str, Any]:
    """The JSON Schema of the contract stored as `filename`, as its model defines it today."""
    if filename == manifest.SCHEMA_PATH.name:
        return manifest.generated_schema()
    schema = CONTRACTS[filename].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://clipmill.dev/schemas/{filename}"
    return schema


def schema_files() -> list[str]:
    """Every checked-in schema file name, the manifest's included."""
    return [manifest.SCHEMA_PATH.name, *CONTRACTS]


def checked_in_schema(filename: str) -> dict[str, Any]:
    return json.loads((CONTRACTS_DIR / filename).read_text())


def write_schemas(directory: Path = CONTRACTS_DIR) -> list[Path]:
    """Regenerate every schema file from its model (run after changing a model, then commit)."""
    written = []
    for filename in schema_files():
        path = directory / filename
        path.write_text(json.dumps(generated_schema(filename), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written

