"""A clip request checked against its source, and the ids that make runs idempotent.

`job_id` hashes what determines the output — source content, range, effective options and the
clipmill version — so re-running the same request finds the same stored stages and clip.
`analysis_id` hashes only what determines the analysis (source, range, analysis options, and the
whole-source analysis its speech is cut from, if any): the segment and its analysis are stored
under it, so changing an edit or encode option re-plans and re-renders without re-analysing.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from clipmill.version import __version__
from clipmill.config import ANALYSIS_OPTIONS, ClipOptions
from clipmill.errors import InputError
from clipmill.media.probe import MediaInfo
from clipmill.sources import SourceRef
from clipmill.storage.keys import safe_name
from clipmill.timebase import SECONDS_RESOLUTION_S


@dataclass(frozen=True)
class ClipJob:
    """Everything later stages need to know about one request, after validation."""

    job_id: str
    analysis_id: str
    clip_id: str
    source: SourceRef
    start_s: float
    end_s: float
    options: ClipOptions
    transcript: SourceRef | None = None
    speech_from: str | None = None  # key of the whole-source analysis whose speech the job slices (None: its VAD runs)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def seconds(name: str, value: object) -> float:
    """`value` as seconds: numbers and numeric strings pass; bools, NaN and infinities do not."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise InputError(f"{name} must be a finite number of seconds (got {value!r})")
    return number


def check_times(start_s: object, end_s: object) -> tuple[float, float]:
    """Reject times that are wrong whatever the media: not numbers, negative, or an empty range."""
    start_s, end_s = seconds("start", start_s), seconds("end", end_s)
    if start_s < 0:
        raise InputError(f"start must be >= 0 s (got {start_s!r})")
    if start_s >= end_s:
        raise InputError(f"start ({start_s} s) must be before end ({end_s} s)")
    return start_s, end_s


def check_open_times(start_s: object, end_s: object | None) -> tuple[float, float | None]:
    """`check_times` where the end may be None: up to the end of the source, known after the probe."""
    if end_s is not None:
        return check_times(start_s, end_s)
    start_s = seconds("start", start_s)
    if start_s < 0:
        raise InputError(f"start must be >= 0 s (got {start_s!r})")
    return start_s, None


def check_range(start_s: float, end_s: float, info: MediaInfo) -> None:
    """Reject a range that does not fit the source, or is shorter than one frame."""
    check_times(start_s, end_s)
    if end_s > info.duration_s + SECONDS_RESOLUTION_S:
        raise InputError(
            f"end ({end_s} s) is past the end of the source ({info.duration_s:.3f} s); "
            f"use an end of at most {info.duration_s:.3f}"
        )
    if end_s - start_s < info.frame_s:
        raise InputError(
            f"range {start_s}-{end_s} s is shorter than one frame ({info.frame_s:.4f} s at {info.fps} fps)"
        )


def plan_job(
    source: SourceRef, info: MediaInfo, *, start_s: float, end_s: float, options: ClipOptions,
    transcript: SourceRef | None = None, speech_from: str | None = None,
) -> ClipJob:
    """Validate the request against the probe and derive its job and clip ids (the transcript's
    content, when there is one, is part of the job's identity: its path alone is not; so is the
    whole-source analysis `speech_from` whose speech the job slices, when it does)."""
    check_range(start_s, end_s, info)
    every = options.model_dump(mode="json")
    sliced = {"speech_from": speech_from} if speech_from else {}
    analysis_options = {**{name: every[name] for name in ANALYSIS_OPTIONS},
                        "filler_backend": options.used_filler_backend, **sliced}
    job_id = _digest(source, start_s, end_s, {**every, **sliced, "transcript_sha256": transcript.sha256 if transcript else None})
    analysis_id = _digest(source, start_s, end_s, analysis_options)
    clip_id = options.clip_name or f"{safe_name(Path(source.name).stem, max_length=48)}-{job_id[:12]}"
    return ClipJob(
        job_id=job_id, analysis_id=analysis_id, clip_id=clip_id, source=source, start_s=float(start_s), end_s=float(end_s),
        options=options, transcript=transcript, speech_from=speech_from,
    )


def _digest(source: SourceRef, start_s: float, end_s: float, options: dict[str, object]) -> str:
    identity = {
        "source_sha256": source.sha256,
        "start_s": round(float(start_s), 6),
        "end_s": round(float(end_s), 6),
        "options": options,
        "clipmill": __version__,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]
