"""What a stage task hands the flow: where its document is stored and what the manifest records of it.

The flow collects them in `JobStages`, whose `JobStages.to_manifest` is the manifest's ``stages``
section: each stage's key beside the summary its document gives (`manifest_summary`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clipmill.artifacts.document import Document

#: The manifest's ``stages`` entry of a clip without an audio track.
NO_AUDIO = {"status": "no audio track"}


@dataclass(frozen=True)
class StageResult:
    """Where a stage's document is stored, and the summary the manifest records."""

    key: str
    summary: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, key: str, document: Document) -> StageResult:
        """The result of the stage that stored `document` at `key`."""
        return cls(key=key, summary=document.manifest_summary())

    def entry(self) -> dict[str, Any]:
        """The stage as the manifest records it: ``{"key": ..., **summary}``."""
        return {"key": self.key, **self.summary}


@dataclass(frozen=True)
class AudioStages:
    """The audio stages of one job, in the order they run."""

    profile: StageResult
    speech: StageResult
    silences: StageResult
    fillers: StageResult
    timelines: StageResult


@dataclass(frozen=True)
class JobStages:
    """Every stage a clip job ran; ``None`` where it did not run (no audio track, no transcript, no
    faces, no crop, no captions, no OpenTimelineIO export)."""

    audio: AudioStages | None = None
    transcript: StageResult | None = None
    tracks: StageResult | None = None
    edit: StageResult | None = None
    framing: StageResult | None = None
    captions: StageResult | None = None
    timeline: StageResult | None = None

    def to_manifest(self) -> dict[str, dict[str, Any]]:
        """The manifest's ``stages``: profile, speech, silences, fillers, timelines (or ``audio``:
        no audio track), then each later stage that ran, in the order they run."""
        audio = {"audio": NO_AUDIO} if self.audio is None else {
            name: getattr(self.audio, name).entry() for name in AudioStages.__dataclass_fields__
        }
        later = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "audio"}
        return {**audio, **{name: result.entry() for name, result in later.items() if result is not None}}
