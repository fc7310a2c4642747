"""The documents the clip job's stages store under ``jobs/<id>/``, one model per stage.

Each model is the contract of one file (its JSON Schema under ``data_contracts/``), converts to and
from the pure type the stage computes (`AudioProfile`, `Timeline`, `EditPlan`, `FramingPath`,
`Transcript`, `DecodeReport`) and says what the manifest records of it (`manifest_summary`). The
shapes are the ones the stages have always written, plus ``schema_version``. Where the pure type's
fields are the document's (the audio profile, the track table's columns), the model is derived
from them, so the two cannot drift.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Annotated, Any, Literal, get_type_hints

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from clipmill.artifacts.document import Document
from clipmill.audio.analysis import fillers_document, silences_document, timeline_document
from clipmill.audio.profile import AudioProfile
from clipmill.audio.silence import SilenceResult
from clipmill.captions.transcript import Transcript, transcript_from_dict, transcript_to_dict
from clipmill.edit.edl import EditPlan
from clipmill.errors import InternalError
from clipmill.events import LabelledEvent, LabelledEvents
from clipmill.media.tool import DecodeReport
from clipmill.timebase import FrameRate
from clipmill.timeline import Timeline
from clipmill.vision.chunks import TABLE_COLUMNS
from clipmill.vision.framing import FramingPath

Seconds = Annotated[float, Field(ge=0)]
Span = tuple[Seconds, Seconds]
Share = Annotated[float, Field(ge=0, le=1)]
Rate = Annotated[str, Field(pattern=r"^[0-9]+(/[0-9]+)?$", description="Frame rate as a ratio, e.g. 30000/1001.")]


class _Part(BaseModel):
    """A nested part of a document: strict like the document, not versioned on its own."""

    model_config = ConfigDict(extra="forbid")


def _fields(types: Mapping[str, Any], rules: Mapping[str, Any], *, what: str) -> dict[str, tuple[Any, Any]]:
    """Model fields for a document derived from its pure type's fields (`types`, in order): each one
    required, with `rules` (pydantic `Field`s) where a value must hold more than its type."""
    if unknown := set(rules) - set(types):
        raise InternalError(f"rules name fields the {what} does not have: {sorted(unknown)}")
    return {name: (kind, rules.get(name, ...)) for name, kind in types.items()}


class DecodeReportDocument(Document):
    """``segment-decode.json``: what the decoders reported while the segment was extracted (stored only
    when they reported errors)."""

    contract = "segment_decode.schema.json"

    decode_errors: int = Field(ge=0)
    first_decode_error: str | None = Field(description="The first error line, escaped to ASCII.")

    @classmethod
    def of(cls, report: DecodeReport) -> DecodeReportDocument:
        return cls.model_validate(report.to_dict())

    def report(self) -> DecodeReport:
        return DecodeReport(errors=self.decode_errors, first=self.first_decode_error)


class _ProfileDocument(Document):
    contract = "profile.schema.json"

    @classmethod
    def of(cls, profile: AudioProfile) -> ProfileDocument:
        return cls.model_validate(profile.to_dict())

    def profile(self) -> AudioProfile:
        return AudioProfile(**self.model_dump(exclude={"schema_version"}))

    def manifest_summary(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("noise_floor_db", "snr_db", "loudness_db", "clipping_ratio")}


ProfileDocument = create_model(
    "ProfileDocument", __base__=_ProfileDocument,
    __doc__="``profile.json``: the levels every threshold is placed from (see `AudioProfile`).",
    **_fields(get_type_hints(AudioProfile), {
        "sample_rate": Field(gt=0), "duration_s": Field(ge=0), "clipping_ratio": Field(ge=0, le=1),
        "frame_s": Field(gt=0), "hop_s": Field(gt=0),
    }, what="audio profile"),
)


class TimelineSummary(_Part):
    count: int = Field(ge=0)
    total_s: Seconds
    share_pct: float = Field(ge=0)


class _TimelineDocument(Document):
    duration_s: Seconds = Field(description="Length of the analysed audio in seconds.")
    intervals: list[Span] = Field(description="[start_s, end_s] from the segment start, half-open, sorted.")
    totals: TimelineSummary = Field(alias="summary", description="Count, total seconds and share of the segment.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    def timeline(self) -> Timeline:
        return Timeline.from_list([list(span) for span in self.intervals])


class SpeechDocument(_TimelineDocument):
    """``speech.json``: where the VAD heard speech."""

    contract = "speech.schema.json"

    kind: Literal["speech"] = "speech"
    backend: str = Field(description="The VAD backend that found it.")
    sliced_from: str | None = Field(
        default=None, description="Key of the whole-source analysis it was cut from; null when the VAD ran on the range.")

    @classmethod
    def of(cls, speech: Timeline, *, duration_s: float, backend: str, sliced_from: str | None = None) -> SpeechDocument:
        return cls.model_validate({**timeline_document("speech", speech, duration_s=duration_s), "backend": backend,
                                   "sliced_from": sliced_from})

    def manifest_summary(self) -> dict[str, Any]:
        return {**self.totals.model_dump(), "backend": self.backend, "sliced_from": self.sliced_from}


class SilencesDocument(_TimelineDocument):
    """``silences.json``: the pauses, and the level and threshold they were found with."""

    contract = "silences.schema.json"

    kind: Literal["silences"] = "silences"
    levels_db: list[float] = Field(description="The level the decision read, per analysis frame.")
    threshold_db: float
    adaptive: bool

    @classmethod
    def of(cls, result: SilenceResult, *, duration_s: float) -> SilencesDocument:
        return cls.model_validate(silences_document(result, duration_s=duration_s))

    def manifest_summary(self) -> dict[str, Any]:
        return {**self.totals.model_dump(), "threshold_db": self.threshold_db}


class FillerEvent(_Part):
    start: Seconds
    end: Seconds
    label: str
    confidence: Share


class FillersSummary(_Part):
    count: int = Field(ge=0)
    total_s: Seconds
    labels: dict[str, int] = Field(description="How many fillers of each label.")


class FillersDocument(Document):
    """``fillers.json``: labelled filler sounds ("um", "uh", ...)."""

    contract = "fillers.schema.json"

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    kind: Literal["fillers"] = "fillers"
    duration_s: Seconds
    events: list[FillerEvent]
    totals: FillersSummary = Field(alias="summary", description="Count, total seconds and count per label.")
    backend: str = Field(description="The filler backend that found them.")

    @classmethod
    def of(cls, fillers: LabelledEvents, *, duration_s: float, backend: str) -> FillersDocument:
        return cls.model_validate({**fillers_document(fillers, duration_s=duration_s), "backend": backend})

    def fillers(self) -> LabelledEvents:
        """The stored events, each on its own (touching fillers are not merged)."""
        return LabelledEvents(LabelledEvent(e.start, e.end, e.label, e.confidence) for e in self.events)

    def manifest_summary(self) -> dict[str, Any]:
        return {**self.totals.model_dump(), "backend": self.backend}


class TimelinesDocument(Document):
    """``timelines.json``: speech, silences and fillers of one segment, as ``[[start_s, end_s], ...]``.

    Fillers carry a label and a confidence per interval in parallel lists (same length as ``fillers``).
    """

    contract = "timelines.schema.json"

    segment_duration_s: float = Field(gt=0, description="Length of the analysed segment in seconds.")
    speech: list[Span] = Field(default_factory=list, description="Speech intervals, half-open, seconds.")
    silences: list[Span] = Field(default_factory=list, description="Silence intervals, half-open, seconds.")
    fillers: list[Span] = Field(default_factory=list, description="Filler-word intervals, half-open, seconds.")
    filler_labels: list[str] = Field(default_factory=list, description="Label per filler (um, uh, er, ah).")
    filler_confidence: list[Share] = Field(
        default_factory=list, description="Detector confidence per filler in [0, 1]."
    )

    @model_validator(mode="after")
    def _parallel_filler_lists(self) -> TimelinesDocument:
        lengths = {len(self.fillers), len(self.filler_labels), len(self.filler_confidence)}
        if len(lengths) != 1:
            raise ValueError(
                f"fillers ({len(self.fillers)}), filler_labels ({len(self.filler_labels)}) and "
                f"filler_confidence ({len(self.filler_confidence)}) must have the same length"
            )
        return self

    @classmethod
    def of(cls, speech: SpeechDocument, silences: SilencesDocument, fillers: FillersDocument) -> TimelinesDocument:
        return cls(
            segment_duration_s=speech.duration_s, speech=speech.intervals, silences=silences.intervals,
            fillers=[(e.start, e.end) for e in fillers.events], filler_labels=[e.label for e in fillers.events],
            filler_confidence=[e.confidence for e in fillers.events],
        )


#: Python type of each track-table dtype (`clipmill.vision.chunks.TABLE_COLUMNS` is the definition).
_PYTHON_TYPES: dict[type, type] = {np.int64: int, np.float64: float, np.float32: float, np.bool_: bool}

TrackRow = create_model(
    "TrackRow", __base__=_Part, __doc__="One box of one face track at one time, in source pixels.",
    **_fields({name: _PYTHON_TYPES[dtype] for name, dtype in TABLE_COLUMNS.items()}, {
        "track_id": Field(ge=0),
        "t": Field(ge=0, description="Seconds from the segment start."),
        "confidence": Field(ge=0, le=1),
        "observed": Field(
            True, description="True where a detection backed the box; False where interpolated or predicted."
        ),
    }, what="track table"),
)


class TrackRowsDocument(Document):
    """All face tracks of one segment as rows (the columns of ``tracks.parquet``)."""

    contract = "tracks.schema.json"

    rows: list[TrackRow] = Field(default_factory=list)  # type: ignore[valid-type]


class TrackFacts(_Part):
    id: int = Field(ge=0)
    start_s: Seconds
    end_s: Seconds
    n_frames: int = Field(ge=0)
    n_observed: int = Field(ge=0)
    coverage: Share
    mean_area_px: float = Field(ge=0)
    mean_confidence: Share


class TracksDocument(Document):
    """``tracks.json``: what the face stage found, track by track (the boxes are in ``tracks.parquet``)."""

    contract = "tracks_summary.schema.json"

    n_tracks: int = Field(ge=0)
    n_frames: int = Field(ge=1, description="Frames of the segment at the analysis rate.")
    dominant_track_id: int | None = Field(description="The largest, most persistent face; null without tracks.")
    tracks: list[TrackFacts]
    cut_times_s: list[Seconds] = Field(description="Times of the frames that start a new shot.")

    def manifest_summary(self) -> dict[str, Any]:
        return {"n_tracks": self.n_tracks, "n_frames": self.n_frames, "dominant_track_id": self.dominant_track_id}


Frames = Annotated[int, Field(ge=0)]


class EditPlanDocument(Document):
    """``edl.json``: the source frames kept, in output order, each range with the frames it plays.

    Version 2 counts whole frames of ``fps``; a range plays at speed ``(end_frame - start_frame) /
    output_frames``. The seconds are derived, for readers. A version 1 document (float seconds, as
    clips published before it were planned) is read by putting its times on the frame grid, so an
    audit of an older store still reads its plans.
    """

    contract = "edit_plan.schema.json"

    schema_version: Literal["2"] = "2"
    fps: Rate
    source_duration_s: Seconds = Field(description="The range the job asked for, in seconds.")
    output_frames: Frames = Field(description="Frames the output plays.")
    output_duration_s: Seconds = Field(description="Planned output length in seconds (output_frames / fps).")
    reduction_pct: float = Field(ge=0, le=100)
    removed_silence_frames: Frames
    sped_up_silence_frames: Frames
    removed_filler_frames: Frames
    segments: list[tuple[Frames, Frames, Annotated[int, Field(gt=0)]]] = Field(
        description="[start_frame, end_frame, output_frames] per kept range, frames from the segment start."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_version_1(cls, data: Any) -> Any:
        """A version 1 document (``[src_start_s, src_end_s, speed]`` segments, seconds totals) in frames."""
        if not isinstance(data, dict) or data.get("schema_version", "1") != "1" or "removed_silence_s" not in data:
            return data
        rate = FrameRate.from_ffprobe(str(data.get("fps")))
        try:
            segments = [(rate.nearest_frame(a), rate.nearest_frame(b), Fraction(repr(float(speed))))
                        for a, b, speed in data["segments"]]
            played = [[start, end, math.floor((end - start) / speed + Fraction(1, 2))] for start, end, speed in segments]
            totals = {f"{name}_frames": rate.nearest_frame(data[f"{name}_s"])
                      for name in ("removed_silence", "sped_up_silence", "removed_filler")}
        except (AttributeError, KeyError, TypeError, ValueError, ZeroDivisionError):
            return data  # not a readable version 1 document either: the version 2 rules name what is wrong
        kept = {k: v for k, v in data.items() if k not in {"schema_version", "removed_silence_s", "sped_up_silence_s",
                                                           "removed_filler_s", "segments"}}
        return {**kept, **totals, "schema_version": "2", "segments": played, "output_frames": sum(p[2] for p in played)}

    @classmethod
    def of(cls, plan: EditPlan) -> EditPlanDocument:
        return cls.model_validate(plan.to_dict())

    def plan(self) -> EditPlan:
        return EditPlan.from_dict(self.model_dump())

    def manifest_summary(self) -> dict[str, Any]:
        """The seconds the manifest has always recorded, and the output's frames beside them."""
        return {**self.plan().summary(), "segments": len(self.segments)}


class FramingDocument(Document):
    """``framing.json``: the crop window of every output frame, and how well it holds the subject.

    ``w``, ``h``, ``source_width``, ``source_height`` and ``letterbox_frames`` are there only for a
    composite path (a window that changes size or reaches outside the frame).
    """

    contract = "framing.schema.json"

    aspect: str
    fps: Rate
    crop_width: int = Field(gt=0)
    crop_height: int = Field(gt=0)
    out_width: int = Field(gt=0)
    out_height: int = Field(gt=0)
    subject_inside_share: Share
    tracked_frames: int = Field(ge=0)
    no_face_share: Share
    worst_outside_frames: int = Field(ge=0)
    worst_outside_s: Seconds
    n_shots: int = Field(ge=1)
    jerk: float
    x: list[int]
    y: list[int]
    w: list[int] | None = None
    h: list[int] | None = None
    source_width: int | None = None
    source_height: int | None = None
    letterbox_frames: int | None = None

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def of(cls, path: FramingPath) -> FramingDocument:
        return cls.model_validate(path.to_dict())

    def path(self) -> FramingPath:
        return FramingPath.from_dict(self.model_dump(exclude_none=True))

    def manifest_summary(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"schema_version", "x", "y", "w", "h"})


class TranscriptCue(_Part):
    start: Seconds
    end: Seconds
    text: str
    line: int = Field(ge=0, description="Where the transcript file gives the cue (for messages).")
    words: list[tuple[Seconds, Seconds, str, int]] = Field(description="[start_s, end_s, word, line] per timed word.")


class TranscriptDocument(Document):
    """``transcript.json``: the transcript's cues and timed words that overlap the job's range, on its timeline."""

    contract = "transcript.schema.json"

    format: str = Field(description="The format the transcript was given in (srt, vtt, json).")
    words_known: bool = Field(description="Whether every cue's words carry their own times.")
    cues: list[TranscriptCue]

    @classmethod
    def of(cls, transcript: Transcript) -> TranscriptDocument:
        return cls.model_validate(transcript_to_dict(transcript))

    def transcript(self) -> Transcript:
        return transcript_from_dict(self.model_dump())


class CaptionCueRow(_Part):
    """One caption cue on the clip's timeline: its lines, and its words with their times when known."""

    start_s: Seconds = Field(description="Seconds from the clip's first frame.")
    end_s: Seconds
    lines: list[str] = Field(min_length=1, description="The cue's text, one entry per line.")
    words: list[tuple[Seconds, Seconds, str]] = Field(default_factory=list, description="[start_s, end_s, word] per word.")


class CaptionsDocument(Document):
    """``captions.json``: the captions of one clip, re-timed through its edit plan (what the .srt/.vtt or
    the burn shows)."""

    contract = "captions.schema.json"

    format: Literal["srt", "vtt"] = Field(description="Format of the published sidecar.")
    burned: bool = Field(description="Whether the cues are also burned into the video.")
    clip_duration_s: float = Field(gt=0, description="The edit plan's output duration.")
    width: int = Field(gt=0, description="Output frame width the lines were laid out for.")
    height: int = Field(gt=0)
    cues: list[CaptionCueRow] = Field(default_factory=list)
