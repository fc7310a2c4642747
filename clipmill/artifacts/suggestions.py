"""The documents of clip suggestions: a whole source's analysis, stored once by content, and the
suggestions made from it.

``analyses/<sha256>/<settings digest>.json`` holds what `clipmill.segment.suggest` reads (speech,
pauses with their cut points and pitch, the level envelope, shot cuts, faces on screen) and the
settings it was measured with, shared by `clipmill suggest`, library batches, later runs and the
clip jobs of the suggested ranges. Its shape is the one `to_document` in
`clipmill.segment_analysis` has always written, plus ``schema_version`` and ``settings``.
``suggestions/<sha256>/<digest>.json`` holds the candidates; its first three fields are what
``clipmill suggest --json`` prints.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from clipmill.artifacts.document import Document
from clipmill.artifacts.stages import Seconds, Share, Span, _Part

#: A measured value, or null where there was none (a pause without pitch on one side).
Measured = float | None


class FaceSamplesPart(_Part):
    times_s: list[Measured] = Field(description="Sample times in seconds from the source start.")
    counts: list[int] = Field(description="Faces found per sample.")
    dominant: list[bool] = Field(description="Whether one face dominated the sample.")


class AnalysisSettingsPart(_Part):
    """What the analysis was measured with (`clipmill.segment_analysis.AnalysisSettings`)."""

    vad_backend: str = Field(description="The VAD backend whose speech timeline the analysis holds.")
    min_silence_s: Seconds
    padding_s: Seconds
    hop_s: float = Field(gt=0)
    video: bool
    frame_rate_hz: float = Field(gt=0)
    face_detector: str


class SourceAnalysisDocument(Document):
    """``analyses/<sha256>/<digest>.json``: the whole-source analysis (see `clipmill.segment.SourceAnalysis`)."""

    contract = "source_analysis.schema.json"

    duration_s: Seconds
    speech: list[Span] = Field(description="[start_s, end_s] of speech, sorted.")
    pauses: list[Span] = Field(description="[start_s, end_s] of the pauses between speech, sorted.")
    pause_cut_s: list[Measured] = Field(description="Per pause, the quietest moment: where a clip edge goes.")
    pause_gap_s: list[Measured] = Field(description="Per pause, the silence around it.")
    pitch_fall_st: list[Measured] = Field(description="Per pause, the pitch fall into it in semitones.")
    pitch_before_hz: list[Measured]
    pitch_after_hz: list[Measured]
    hop_s: float = Field(gt=0, description="Step of the level envelope.")
    level_db: list[Measured] = Field(description="Speech-band level per hop, dBFS.")
    syllables: list[int] = Field(description="Syllable nuclei per hop.")
    cuts_s: list[Measured] = Field(description="Shot cuts (empty unless the video was measured).")
    faces: FaceSamplesPart | None = None
    words: list[Span] | None = Field(default=None, description="Known word times, when a transcript was given.")
    settings: AnalysisSettingsPart | None = Field(
        default=None, description="What it was measured with; null in analyses stored before it was recorded.")


class CandidateReasons(_Part):
    """The named features of a candidate (`clipmill.segment.WEIGHTS` says how each counts)."""

    length_s: Seconds
    speech_share: Share
    dead_air_s: Seconds = Field(description="Longest pause inside.")
    speaking_rate: float = Field(ge=0, description="Syllables or words (rate_unit) per second of speech.")
    energy_db: float = Field(description="Mean speech-band level against the source's median speech level.")
    dynamics_db: float = Field(ge=0, description="Spread of that level.")
    start_pause_s: Seconds = Field(description="The gap the clip starts after.")
    end_pause_s: Seconds = Field(description="The gap the clip ends before.")
    starts_on_cut: bool
    ends_on_cut: bool
    speaker_change_at_start: bool
    speaker_change_at_end: bool
    ends_falling: bool
    one_face_share: Share | None = Field(default=None, description="Share of samples with one dominant face (video).")
    rate_unit: Literal["syllables/s", "words/s"]


class SuggestedClip(_Part):
    start: Seconds
    end: Seconds
    score: Share
    reasons: CandidateReasons


#: The fields ``clipmill suggest --json`` prints, in order (a stable shape other tools read).
PRINTED_FIELDS = ("source", "duration_s", "candidates")


class SuggestionDocument(Document):
    """``suggestions/<sha256>/<digest>.json``: the best non-overlapping candidates of one source, best first."""

    contract = "suggestions.schema.json"

    source: str = Field(description="The source as it was named (path or s3:// URI).")
    duration_s: Seconds
    candidates: list[SuggestedClip]
    length: str = Field(description="The clip length asked for, MIN-MAX seconds.")
    count: int = Field(ge=1, description="How many clips were asked for (at most).")
    analysis_key: str = Field(description="Key of the whole-source analysis the candidates come from.")
    clipmill: str = Field(description="The clipmill version that made them.")

    def printed(self) -> dict[str, Any]:
        """What ``clipmill suggest --json`` prints: `PRINTED_FIELDS`, unmeasured reasons left out."""
        return self.model_dump(mode="json", include=set(PRINTED_FIELDS), exclude_none=True)
