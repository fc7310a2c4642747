"""Clip suggestions for one source: its whole analysis, stored once by content, and the candidates.

    source (local path + sha256) → ``analyses/<sha256>/<settings digest>.json`` (measured once,
    then read back) → `clipmill.segment.suggest` → ``suggestions/<sha256>/<digest>.json``

The analysis key hashes the source's content and the analysis settings, never its name, so a
renamed or re-uploaded file is not measured again; `clipmill suggest`, library batches and later
runs share it, and the clip jobs of the suggested ranges slice its speech (`clipmill.analysis_slice`).
The suggestion document (`SuggestionDocument`) starts with what ``clipmill suggest --json`` prints.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from clipmill import media
from clipmill.artifacts.store import load, save
from clipmill.artifacts.suggestions import SourceAnalysisDocument, SuggestionDocument
from clipmill.version import __version__
from clipmill.errors import InputError
from clipmill.segment import Candidate, LengthRange, SourceAnalysis, suggest
from clipmill.segment_analysis import (
    AnalysisSettings, chunk_length, from_document, measure_chunks, measure_video, to_document,
)
from clipmill.storage import ObjectStore
from clipmill.storage.keys import ANALYSES_PREFIX, SUGGESTIONS_PREFIX

#: bump when what `measure_audio` / `measure_video` produce changes, so stored analyses are remade
ANALYSIS_VERSION = "1"


@dataclass(frozen=True)
class StoredAnalysis:
    """A whole-source analysis, the key it is stored under, and whether it was read back (reused)."""

    analysis: SourceAnalysis
    key: str
    reused: bool


def analysis_key(sha256: str, settings: AnalysisSettings) -> str:
    """``analyses/<sha256>/<digest of the settings>.json``."""
    return f"{ANALYSES_PREFIX}{sha256}/{_digest({'settings': settings.to_dict(), 'version': ANALYSIS_VERSION})}.json"


def check_duration(duration_s: float, length: LengthRange, source: str) -> None:
    """A source shorter than the shortest clip asked for is bad input (checked before measuring)."""
    if duration_s < length.min_s:
        raise InputError(
            f"{source} lasts {duration_s:.2f} s, shorter than the shortest clip asked for ({length.min_s:g} s): "
            "give a smaller --length"
        )


def measure_source_audio(path: Path, settings: AnalysisSettings, *, ffmpeg: str = "ffmpeg") -> SourceAnalysis:
    """The audio analysis of a whole file, decoded in chunks that are measured while the next one decodes."""
    sr = media.ANALYSIS_SAMPLE_RATE
    chunks = media.stream_audio(path, has_audio=True, chunk_samples=chunk_length(sr, settings=settings), ffmpeg=ffmpeg)
    return measure_chunks(chunks, sr, settings=settings)


def whole_source_analysis(
    store: ObjectStore, path: Path, sha256: str, settings: AnalysisSettings, *, ffmpeg: str = "ffmpeg",
    ffprobe: str = "ffprobe",
) -> StoredAnalysis:
    """The stored analysis of the file at `path`, measuring and storing it first when there is none."""
    key = analysis_key(sha256, settings)
    if store.exists(key):
        return StoredAnalysis(from_document(load(store, key, SourceAnalysisDocument).model_dump()), key, reused=True)
    info = media.probe_audio(path, ffprobe=ffprobe)
    if not info.has_audio:
        raise InputError(f"{path.name!r} has no audio track: clip edges are found in the pauses of speech")
    analysis = measure_source_audio(path, settings, ffmpeg=ffmpeg)
    if settings.video:
        video = media.probe(path, ffprobe=ffprobe)
        width, height = video.display_size
        size = (640, max(2, round(640 * height / width / 2) * 2)) if width > 640 else (width, height)
        cuts, faces = measure_video(
            path, duration_s=analysis.duration_s, size=size, settings=settings, ffmpeg=ffmpeg,
        )
        analysis = replace(analysis, cuts_s=cuts, faces=faces)
    save(store, key, SourceAnalysisDocument.model_validate({**to_document(analysis), "settings": settings.to_dict()}))
    return StoredAnalysis(analysis, key, reused=False)


def with_words(analysis: SourceAnalysis, words: list[dict[str, Any]] | None) -> SourceAnalysis:
    """The analysis with a known transcript's word times (``[{"start", "end", ...}]``) for the speaking rate."""
    if not words:
        return analysis
    try:
        times = np.asarray([[float(w["start"]), float(w["end"])] for w in words], float)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"words must be a JSON list of {{\"start\", \"end\", \"word\"}} objects ({exc})") from None
    return replace(analysis, words=times)


def suggestion_document(
    source: str, analysis: SourceAnalysis, candidates: list[Candidate], *, length: LengthRange, count: int,
    analysis_key: str,
) -> SuggestionDocument:
    """``{"source", "duration_s", "candidates": [{"start", "end", "score", "reasons"}], ...}``.

    The first three fields are the stable shape `clipmill suggest --json` prints; ``length``,
    ``count``, ``analysis_key`` and ``clipmill`` say how it was made.
    """
    return SuggestionDocument(
        source=source, duration_s=round(analysis.duration_s, 3),
        candidates=[candidate.to_json() for candidate in candidates], length=str(length), count=count,
        analysis_key=analysis_key, clipmill=__version__,
    )


def suggest_for(
    store: ObjectStore, path: Path, *, source: str, sha256: str, settings: AnalysisSettings, length: LengthRange,
    count: int, words: list[dict[str, Any]] | None = None, ffmpeg: str = "ffmpeg", ffprobe: str = "ffprobe",
) -> tuple[SuggestionDocument, str, StoredAnalysis]:
    """Suggest clips for one source; store the suggestion document. Returns it, its key and the analysis."""
    check_duration(media.probe_audio(path, ffprobe=ffprobe).duration_s, length, source)
    stored = whole_source_analysis(store, path, sha256, settings, ffmpeg=ffmpeg, ffprobe=ffprobe)
    analysis = with_words(stored.analysis, words)
    document = suggestion_document(
        source, analysis, suggest(analysis, length, count), length=length, count=count, analysis_key=stored.key
    )
    made_by = {"length": document.length, "count": document.count, "analysis_key": document.analysis_key}
    key = f"{SUGGESTIONS_PREFIX}{sha256}/{_digest(made_by | {'words': bool(words)})}.json"
    return document, save(store, key, document), stored


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]
