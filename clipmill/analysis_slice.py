"""A clip job's speech taken from its source's stored whole-source analysis instead of a VAD run.

A suggested clip (or a snapped window) of a library batch was chosen from a whole-source analysis
(`clipmill.suggest`) whose VAD already ran over the whole source. When that VAD is the clip job's
own model-based backend, its speech timeline cut to the clip's range and moved onto the range's
timeline is what the job's VAD would find there, without running the model again; the range's
edges lie in the pauses that analysis found. The stages that adapt to the range's own audio (the
profile, the silence threshold, fillers) still read the range. Pure: the caller loads the document.
"""

from __future__ import annotations

from clipmill.artifacts.suggestions import SourceAnalysisDocument
from clipmill.storage.keys import ANALYSES_PREFIX
from clipmill.timebase import SECONDS_RESOLUTION_S
from clipmill.timeline import Timeline

__all__ = ["LEVEL_VADS", "is_analysis_of", "refusal", "speech_in_range"]

#: VADs whose thresholds come from the levels of what they analyse (energy: the profile's noise floor
#: and the span's loudest frames): their speech over a whole source is not what they hear in a range
#: of it (a clip in the joined talk's noisy recording kept 3.6 s more of its pauses, 1 of 3 long
#: pauses cut instead of 3), and on a range they cost a tenth of a second: never sliced.
LEVEL_VADS = frozenset({"energy"})


def is_analysis_of(key: str, sha256: str) -> bool:
    """Whether `key` names a whole-source analysis of the content `sha256` (``analyses/<sha256>/…``)."""
    return key.startswith(f"{ANALYSES_PREFIX}{sha256}/")


def refusal(
    document: SourceAnalysisDocument | None, *, key: str, sha256: str, vad_backend: str, end_s: float
) -> str | None:
    """Why the analysis at `key` cannot give the speech of a clip ending at `end_s` of the source whose
    content is `sha256`, heard with `vad_backend`; None when it can."""
    if not is_analysis_of(key, sha256):
        return f"{key} is not an analysis of this source (sha256 {sha256[:16]})"
    if document is None:
        return f"{key} is not stored"
    if document.settings is None:
        return f"{key} does not record the VAD it was measured with"
    if document.settings.vad_backend != vad_backend:
        return f"{key} holds {document.settings.vad_backend} speech, this clip's VAD is {vad_backend}"
    if vad_backend in LEVEL_VADS:
        return f"{vad_backend} speech follows the levels of what it heard: the range's own differ from the source's"
    if end_s > document.duration_s + SECONDS_RESOLUTION_S:
        return f"{key} covers {document.duration_s:.3f} s, the clip ends at {end_s:.3f} s"
    return None


def speech_in_range(document: SourceAnalysisDocument, start_s: float, duration_s: float) -> Timeline:
    """The analysis's speech inside ``[start_s, start_s + duration_s)``, in seconds from `start_s`."""
    speech = Timeline.from_list([list(span) for span in document.speech])
    return speech.clip(start_s, start_s + duration_s).shift(-start_s).clip(0.0, duration_s)
