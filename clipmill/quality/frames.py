"""Flat tables from manifests, timelines and tracks: what the expectation suites validate.

Pure functions from documents to pandas DataFrames. Rules that compare a row with its neighbours
(sorted, non-overlapping, strictly increasing) or with a total (speech + silence) are turned into
derived columns here (``prev_end_s``, ``dt_s``, ``speech_silence_excess_s``), so every rule becomes
a per-row expectation that can name the failing rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema
import numpy as np
import pandas as pd

from clipmill.manifest import checked_in_schema
from clipmill.timebase import DURATION_SLACK_S, FrameRate

#: Slack on duration comparisons on top of one frame (container timestamps are rounded to 1 ms).

MANIFEST_COLUMNS = [
    "clip_id", "job_id", "created_at", "schema_version", "source_uri", "source_sha256", "source_fps",
    "frame_s", "source_width", "source_height", "request_start_s", "request_end_s", "requested_duration_s",
    "planned_duration_s", "reduction_pct", "output_key", "output_sha256", "output_size_bytes",
    "output_duration_s", "video_codec", "audio_codec", "pix_fmt", "output_width", "output_height", "output_fps",
    "clipmill_version", "tolerance_s", "output_excess_s", "duration_error_s", "timelines_key", "tracks_key",
    "schema_violations", "artifact_problems",
]
TIMELINE_COLUMNS = [
    "clip_id", "kind", "index", "start_s", "end_s", "segment_duration_s", "prev_start_s", "prev_end_s",
    "label", "confidence", "speech_silence_excess_s",
]
CAPTION_COLUMNS = [
    "clip_id", "index", "start_s", "end_s", "clip_duration_s", "prev_start_s", "prev_end_s", "characters",
]
TRACK_COLUMNS = [
    "clip_id", "track_id", "t", "x1", "y1", "x2", "y2", "confidence", "frame_width", "frame_height", "dt_s",
    "id_gap_s",
]
EDIT_COLUMNS = [
    "clip_id", "index", "src_start_s", "src_end_s", "speed", "prev_src_end_s", "source_duration_s",
    "output_duration_s", "output_duration_error_s",
]
RECHECK_COLUMNS = [
    "clip_id", "output_key", "problem", "recorded_sha256", "actual_sha256", "recorded_size_bytes",
    "actual_size_bytes", "recorded_duration_s", "probed_duration_s", "tolerance_s", "duration_error_s",
]


def _get(document: Mapping[str, Any], *path: str | int) -> Any:
    """`document[path[0]][path[1]]...`, or None where any step is missing or of the wrong type."""
    value: Any = document
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _number(value: Any) -> float:
    """A float, NaN for anything that is not a real number (so expectations flag it, not the builder)."""
    if isinstance(value, bool):
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def frame_seconds(fps: Any) -> float:
    """Length of one frame for an ``"num/den"`` rate (``"25/1"`` -> 0.04); NaN when unusable."""
    rate = FrameRate.from_ffprobe(str(fps))
    return rate.frame_s if rate else np.nan


def schema_violations(document: Mapping[str, Any]) -> str | None:
    """Violations of data_contracts/manifest.schema.json joined with ``; ``, or None when valid."""
    validator = jsonschema.Draft202012Validator(checked_in_schema())
    problems = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if not problems:
        return None
    return "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in problems)


def manifest_row(document: Mapping[str, Any]) -> dict[str, Any]:
    """One manifest flattened to the columns of `MANIFEST_COLUMNS`."""
    start, end = _number(_get(document, "request", "start_s")), _number(_get(document, "request", "end_s"))
    requested = end - start
    plan = _get(document, "stages", "edit", "output_duration_s")
    planned = requested if plan is None else _number(plan)
    output = _number(_get(document, "outputs", 0, "duration_s"))
    frame_s = frame_seconds(_get(document, "source", "probe", "fps"))
    created = pd.to_datetime(_get(document, "created_at"), utc=True, errors="coerce")
    return {
        "clip_id": _get(document, "clip_id"),
        "job_id": _get(document, "job_id"),
        "created_at": created,
        "schema_version": _get(document, "schema_version"),
        "source_uri": _get(document, "source", "uri"),
        "source_sha256": _get(document, "source", "sha256"),
        "source_fps": _get(document, "source", "probe", "fps"),
        "frame_s": frame_s,
        "source_width": _number(_get(document, "source", "probe", "width")),
        "source_height": _number(_get(document, "source", "probe", "height")),
        "request_start_s": start,
        "request_end_s": end,
        "requested_duration_s": requested,
        "planned_duration_s": planned,
        "reduction_pct": round(100.0 * (requested - planned) / requested, 6) if requested > 0 else np.nan,
        "output_key": _get(document, "outputs", 0, "key"),
        "output_sha256": _get(document, "outputs", 0, "sha256"),
        "output_size_bytes": _number(_get(document, "outputs", 0, "size_bytes")),
        "output_duration_s": output,
        "video_codec": _get(document, "outputs", 0, "video_codec"),
        "audio_codec": _get(document, "outputs", 0, "audio_codec"),
        "pix_fmt": _get(document, "outputs", 0, "pix_fmt"),
        "output_width": _number(_get(document, "outputs", 0, "width")),
        "output_height": _number(_get(document, "outputs", 0, "height")),
        "output_fps": _get(document, "outputs", 0, "fps"),
        "clipmill_version": _get(document, "versions", "clipmill"),
        "tolerance_s": frame_s + DURATION_SLACK_S,
        "output_excess_s": output - requested,
        "duration_error_s": abs(output - planned),
        "timelines_key": _get(document, "stages", "timelines", "key"),
        "tracks_key": _get(document, "stages", "tracks", "key"),
        "schema_violations": schema_violations(document),
        "artifact_problems": None,
    }


def manifests_to_frame(documents: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The manifest table: one row per clip, columns `MANIFEST_COLUMNS`, in the documents' order.

    ``planned_duration_s`` is ``stages.edit.output_duration_s`` when the edit stage recorded one,
    else the requested duration; ``reduction_pct`` is how much of the request the plan cut.
    """
    return pd.DataFrame([manifest_row(d) for d in documents], columns=MANIFEST_COLUMNS)


def _previous(frame: pd.DataFrame, column: str, by: list[str]) -> pd.Series:
    """The value of `column` in the previous row of the same group (document order); NaN first."""
    return frame.groupby(by, sort=False)[column].shift(1)


def timelines_to_frame(timelines: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The timeline table: one row per interval of every clip's speech, silences and fillers.

    `timelines` maps clip id to a document shaped like `clipmill.artifacts.stages.TimelinesDocument`.
    """
    rows = []
    for clip_id, document in timelines.items():
        segment = _number(document.get("segment_duration_s"))
        covered = sum(
            _number(end) - _number(start)
            for kind in ("speech", "silences") for start, end in document.get(kind, [])
        )
        labels, confidence = document.get("filler_labels", []), document.get("filler_confidence", [])
        for kind, key in (("speech", "speech"), ("silence", "silences"), ("filler", "fillers")):
            for index, (start, end) in enumerate(document.get(key, [])):
                is_filler = kind == "filler"
                rows.append({
                    "clip_id": clip_id, "kind": kind, "index": index, "start_s": _number(start),
                    "end_s": _number(end), "segment_duration_s": segment,
                    "label": labels[index] if is_filler and index < len(labels) else None,
                    "confidence": _number(confidence[index]) if is_filler and index < len(confidence) else np.nan,
                    "speech_silence_excess_s": covered - segment,
                })
    frame = pd.DataFrame(rows, columns=[c for c in TIMELINE_COLUMNS if not c.startswith("prev_")])
    frame["prev_start_s"] = _previous(frame, "start_s", ["clip_id", "kind"])
    frame["prev_end_s"] = _previous(frame, "end_s", ["clip_id", "kind"])
    return frame[TIMELINE_COLUMNS]


def captions_to_frame(captions: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The caption table: one row per cue of every clip, with the previous cue's times and the clip's length.

    `captions` maps clip id to a document shaped like `clipmill.artifacts.stages.CaptionsDocument`.
    """
    rows = [
        {"clip_id": clip_id, "index": index, "start_s": _number(cue.get("start_s")), "end_s": _number(cue.get("end_s")),
         "clip_duration_s": _number(document.get("clip_duration_s")) + DURATION_SLACK_S,
         "characters": len(" ".join(cue.get("lines", [])).strip())}
        for clip_id, document in captions.items() for index, cue in enumerate(document.get("cues", []))
    ]
    frame = pd.DataFrame(rows, columns=[c for c in CAPTION_COLUMNS if not c.startswith("prev_")])
    frame["prev_start_s"] = _previous(frame, "start_s", ["clip_id"])
    frame["prev_end_s"] = _previous(frame, "end_s", ["clip_id"])
    return frame[CAPTION_COLUMNS]


def tracks_to_frame(
    tracks: Mapping[str, Sequence[Mapping[str, Any]]], frame_sizes: Mapping[str, tuple[float, float]],
    reidentified: Mapping[str, bool] | None = None,
) -> pd.DataFrame:
    """The track table: one row per box, with the source frame size and the time since the track's last box.

    `tracks` maps clip id to rows shaped like `clipmill.artifacts.stages.TrackRow`, in stored order;
    `frame_sizes` maps clip id to the source ``(width, height)`` in pixels. ``id_gap_s`` is the time
    since the track's last box, left empty for clips whose tracks were joined by face identity
    (`reidentified`): there one person legitimately reappears after a cut under the same id.
    """
    rows = []
    for clip_id, track_rows in tracks.items():
        width, height = frame_sizes.get(clip_id, (np.nan, np.nan))
        for row in track_rows:
            rows.append({
                "clip_id": clip_id, "track_id": row.get("track_id"), "t": _number(row.get("t")),
                **{name: _number(row.get(name)) for name in ("x1", "y1", "x2", "y2", "confidence")},
                "frame_width": _number(width), "frame_height": _number(height),
            })
    frame = pd.DataFrame(rows, columns=TRACK_COLUMNS[:-1])
    frame["dt_s"] = frame["t"] - _previous(frame, "t", ["clip_id", "track_id"])
    joined = frame["clip_id"].map(lambda clip: bool((reidentified or {}).get(clip, False))).astype(bool)
    frame["id_gap_s"] = frame["dt_s"].where(~joined)
    return frame


def edit_plans_to_frame(plans: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The edit plan table: one row per kept segment of every clip's plan, in play order.

    `plans` maps clip id to a document shaped like `clipmill.artifacts.stages.EditPlanDocument`
    (``[start_frame, end_frame, output_frames]`` per segment on the grid of ``fps``), read here in
    seconds. ``output_duration_error_s`` is how far the segments' played frames, summed, are from the
    plan's ``output_duration_s``.
    """
    rows = []
    for clip_id, plan in plans.items():
        frame_s = frame_seconds(plan.get("fps"))
        segments = [[_number(v) for v in segment] for segment in plan.get("segments", [])]
        played = sum(output for *_, output in segments) * frame_s
        declared = _number(plan.get("output_duration_s"))
        for index, (start, end, output) in enumerate(segments):
            rows.append({
                "clip_id": clip_id, "index": index, "src_start_s": start * frame_s, "src_end_s": end * frame_s,
                "speed": (end - start) / output if output > 0 and end > start else np.nan,
                "source_duration_s": _number(plan.get("source_duration_s")), "output_duration_s": declared,
                "output_duration_error_s": abs(played - declared),
            })
    frame = pd.DataFrame(rows, columns=[c for c in EDIT_COLUMNS if c != "prev_src_end_s"])
    frame["prev_src_end_s"] = _previous(frame, "src_end_s", ["clip_id"])
    return frame[EDIT_COLUMNS]


def frame_sizes(documents: Sequence[Mapping[str, Any]]) -> dict[str, tuple[Any, Any]]:
    """Clip id -> the source's ``(width, height)`` from its manifest's probe (None where unknown)."""
    return {str(_get(d, "clip_id")): (_get(d, "source", "probe", "width"), _get(d, "source", "probe", "height"))
            for d in documents}


def reidentified(documents: Sequence[Mapping[str, Any]]) -> dict[str, bool]:
    """Clip id -> whether its tracks were joined by face identity (a person may reappear after a cut)."""
    return {str(_get(d, "clip_id")): (_get(d, "request", "options", "face_identity") or "none") != "none"
            for d in documents}


def contract_frames(
    documents: Sequence[Mapping[str, Any]], *, timelines: Mapping[str, Mapping[str, Any]],
    tracks: Mapping[str, Sequence[Mapping[str, Any]]], edit_plans: Mapping[str, Mapping[str, Any]],
    captions: Mapping[str, Mapping[str, Any]], problems: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, pd.DataFrame]:
    """The ``manifests``, ``timelines``, ``captions``, ``tracks`` and ``edit_plans`` tables of manifest
    `documents` and the documents they link to (by clip id); ``artifact_problems`` holds what could not
    be read of them (`problems`)."""
    manifests = manifests_to_frame(documents)
    manifests["artifact_problems"] = [
        "; ".join(found) if (found := (problems or {}).get(str(clip))) else None for clip in manifests["clip_id"]
    ]
    return {
        "manifests": manifests,
        "timelines": timelines_to_frame(timelines),
        "captions": captions_to_frame(captions),
        "tracks": tracks_to_frame(tracks, frame_sizes(documents), reidentified(documents)),
        "edit_plans": edit_plans_to_frame(edit_plans),
    }


def recheck_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The re-check table of sampled outputs, with the tolerance and error columns filled in.

    Each row has ``clip_id``, ``output_key``, ``problem`` (None, or why the file could not be read),
    the recorded and actual sha256 and size, the recorded and probed duration and the source ``frame_s``.
    """
    frame = pd.DataFrame(list(rows), columns=[*RECHECK_COLUMNS[:-2], "frame_s"])
    frame["tolerance_s"] = frame["frame_s"].astype(float) + DURATION_SLACK_S
    frame["duration_error_s"] = (frame["probed_duration_s"].astype(float) - frame["recorded_duration_s"].astype(float)).abs()
    return frame[RECHECK_COLUMNS]
