"""The document clip suggestions are made from: a whole source's analysis, stored once by content.

``analyses/<sha256>/<settings digest>.json`` holds what `clipmill.segment.suggest` reads (speech,
pauses with their cut points and pitch, the level envelope, shot cuts, faces on screen), shared by
`clipmill suggest`, library batches and later runs. Its shape is the one `to_document` in
`clipmill.segment_analysis` has always written, plus ``schema_version``.
"""

from __future__ import annotations

from pydantic import Field

from clipmill.artifacts.document import Document
from clipmill.artifacts.stages import Seconds, Span, _Part

#: A measured value, or null where there was none (a pause without pitch on one side).
Measured = float | None


class FaceSamplesPart(_Part):
    times_s: list[Measured] = Field(description="Sample times in seconds from the source start.")
    counts: list[int] = Field(description="Faces found per sample.")
    dominant: list[bool] = Field(description="Whether one face dominated the sample.")


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
