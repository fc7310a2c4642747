"""The Great Expectations (1.x) suites over the tables of `clipmill.quality.frames`, built in code.

Every expectation carries ``meta["check"]``: a stable, human name for the rule (several
expectations may share one, e.g. the four sides of "box inside the frame"). Audits, reports and
tests refer to rules by that name; the GE expectation type says how it is checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import great_expectations as gx
from great_expectations.expectations import Expectation

from clipmill.quality.frames import CAPTION_COLUMNS, MANIFEST_COLUMNS, RECHECK_COLUMNS, TIMELINE_COLUMNS, TRACK_COLUMNS

E = gx.expectations

ALLOWED_VIDEO_CODECS = ["h264"]
ALLOWED_PIX_FMTS = ["yuv420p"]
ALLOWED_AUDIO_CODECS = ["aac"]  # null (no audio track) is allowed too: map expectations skip nulls
FILLER_LABELS = ["um", "uh", "er", "ah"]
SHA256_REGEX = r"^[0-9a-f]{64}$"
#: Longest time between two boxes of one track; longer means the id was reused after its track ended
#: (the tracker ends a track after ``TrackerConfig.max_age_s`` = 2 s without a detection).
MAX_TRACK_GAP_S = 3.0

REQUIRED_MANIFEST_COLUMNS = [
    "clip_id", "job_id", "created_at", "source_sha256", "frame_s", "requested_duration_s", "output_key",
    "output_sha256", "output_duration_s", "video_codec", "pix_fmt", "clipmill_version",
]


@dataclass(frozen=True)
class SuiteSpec:
    """A suite and how to report its failing rows: the columns that identify a row."""

    name: str
    index_columns: tuple[str, ...]
    expectations: tuple[Expectation, ...]
    columns: tuple[str, ...]


def _named(check: str, description: str, expectation: Expectation) -> Expectation:
    expectation.meta = {"check": check}
    expectation.description = description
    return expectation


def _between(check: str, description: str, column: str, **bounds: object) -> Expectation:
    return _named(check, description, E.ExpectColumnValuesToBeBetween(column=column, **bounds))


def _a_at_least_b(check: str, description: str, a: str, b: str, *, strict: bool = False) -> Expectation:
    return _named(check, description, E.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=a, column_B=b, or_equal=not strict, ignore_row_if="either_value_is_missing",
    ))


def manifest_suite() -> SuiteSpec:
    """One row per clip: required fields, durations, formats, versions, duration consistency."""
    expectations = [
        *(_named("required_columns_present", f"column {c} exists", E.ExpectColumnToExist(column=c))
          for c in REQUIRED_MANIFEST_COLUMNS),
        *(_named("required_values_present", f"{c} is set", E.ExpectColumnValuesToNotBeNull(column=c))
          for c in REQUIRED_MANIFEST_COLUMNS if c != "clipmill_version"),
        _named("clipmill_version_present", "versions.clipmill is set",
               E.ExpectColumnValuesToNotBeNull(column="clipmill_version")),
        _named("manifest_schema_valid", "manifest matches data_contracts/manifest.schema.json",
               E.ExpectColumnValuesToBeNull(column="schema_violations")),
        _named("linked_artifacts_valid", "linked timelines/tracks exist and match their contracts",
               E.ExpectColumnValuesToBeNull(column="artifact_problems")),
        _between("durations_positive", "requested duration > 0", "requested_duration_s", min_value=0, strict_min=True),
        _between("durations_positive", "output duration > 0", "output_duration_s", min_value=0, strict_min=True),
        _between("durations_positive", "one frame > 0 s (source fps known)", "frame_s", min_value=0, strict_min=True),
        _a_at_least_b("output_not_longer_than_request", "output <= requested duration + one frame",
                      "tolerance_s", "output_excess_s"),
        _between("reduction_pct_in_range", "0 <= reduction % < 100", "reduction_pct",
                 min_value=0, max_value=100, strict_max=True),
        _named("sha256_format", "output sha256 is 64 lowercase hex",
               E.ExpectColumnValuesToMatchRegex(column="output_sha256", regex=SHA256_REGEX)),
        _named("sha256_format", "source sha256 is 64 lowercase hex",
               E.ExpectColumnValuesToMatchRegex(column="source_sha256", regex=SHA256_REGEX)),
        _named("video_codec_allowed", f"video codec in {ALLOWED_VIDEO_CODECS}",
               E.ExpectColumnValuesToBeInSet(column="video_codec", value_set=ALLOWED_VIDEO_CODECS)),
        _named("pix_fmt_allowed", f"pixel format in {ALLOWED_PIX_FMTS}",
               E.ExpectColumnValuesToBeInSet(column="pix_fmt", value_set=ALLOWED_PIX_FMTS)),
        _named("audio_codec_allowed", "audio codec is aac or absent (null)",
               E.ExpectColumnValuesToBeInSet(column="audio_codec", value_set=ALLOWED_AUDIO_CODECS)),
        _named("clipmill_version_present", "versions.clipmill looks like a version",
               E.ExpectColumnValuesToMatchRegex(column="clipmill_version", regex=r"^\d+\.\d+")),
        _a_at_least_b("output_duration_matches_plan", "|output - planned duration| <= one frame",
                      "tolerance_s", "duration_error_s"),
        _named("clip_ids_unique", "one manifest per clip id", E.ExpectColumnValuesToBeUnique(column="clip_id")),
    ]
    return SuiteSpec("manifests", ("clip_id",), tuple(expectations), tuple(MANIFEST_COLUMNS))


def timeline_suite() -> SuiteSpec:
    """One row per interval: valid, sorted, non-overlapping, inside the segment, not over-full."""
    expectations = [
        _a_at_least_b("timeline_intervals_positive", "end > start", "end_s", "start_s", strict=True),
        _between("timeline_inside_segment", "start >= 0", "start_s", min_value=0),
        _a_at_least_b("timeline_inside_segment", "end <= segment duration", "segment_duration_s", "end_s"),
        _a_at_least_b("timeline_sorted", "start >= previous start (same clip and kind)", "start_s", "prev_start_s"),
        _a_at_least_b("timeline_non_overlapping", "start >= previous end (same clip and kind)", "start_s", "prev_end_s"),
        _between("speech_plus_silence_fits", "speech + silence <= segment duration", "speech_silence_excess_s",
                 max_value=1e-6),
        _named("filler_label_allowed", f"filler label in {FILLER_LABELS}",
               E.ExpectColumnValuesToBeInSet(column="label", value_set=FILLER_LABELS)),
        _between("filler_confidence_in_range", "filler confidence in [0, 1]", "confidence", min_value=0, max_value=1),
    ]
    return SuiteSpec("timelines", ("clip_id", "kind", "index"), tuple(expectations), tuple(TIMELINE_COLUMNS))


def caption_suite() -> SuiteSpec:
    """One row per caption cue: non-empty, inside the clip, sorted, never overlapping the cue before."""
    expectations = [
        _a_at_least_b("caption_cues_positive", "end > start", "end_s", "start_s", strict=True),
        _between("caption_inside_clip", "start >= 0", "start_s", min_value=0),
        _a_at_least_b("caption_inside_clip", "end <= the clip's duration", "clip_duration_s", "end_s"),
        _a_at_least_b("caption_sorted", "start >= previous start", "start_s", "prev_start_s"),
        _a_at_least_b("caption_non_overlapping", "start >= previous end", "start_s", "prev_end_s"),
        _between("caption_has_text", "at least one character", "characters", min_value=1),
    ]
    return SuiteSpec("captions", ("clip_id", "index"), tuple(expectations), tuple(CAPTION_COLUMNS))


def track_suite(*, max_gap_s: float = MAX_TRACK_GAP_S) -> SuiteSpec:
    """One row per box: inside the frame, non-empty, times increasing, confidence in range, ids stable."""
    expectations = [
        _between("track_box_inside_frame", "x1 >= 0", "x1", min_value=0),
        _between("track_box_inside_frame", "y1 >= 0", "y1", min_value=0),
        _a_at_least_b("track_box_inside_frame", "x2 <= frame width", "frame_width", "x2"),
        _a_at_least_b("track_box_inside_frame", "y2 <= frame height", "frame_height", "y2"),
        _a_at_least_b("track_box_non_empty", "x2 > x1", "x2", "x1", strict=True),
        _a_at_least_b("track_box_non_empty", "y2 > y1", "y2", "y1", strict=True),
        _between("track_times_increasing", "time strictly increases along a track", "dt_s",
                 min_value=0, strict_min=True),
        _between("track_ids_stable", f"no gap > {max_gap_s} s in a track (an ended id is never reused; "
                 "clips with face identity may rejoin a person after a cut)", "id_gap_s", max_value=max_gap_s),
        _between("track_confidence_in_range", "confidence in [0, 1]", "confidence", min_value=0, max_value=1),
        _named("track_ids_present", "track id set", E.ExpectColumnValuesToNotBeNull(column="track_id")),
    ]
    return SuiteSpec("tracks", ("clip_id", "track_id", "t"), tuple(expectations), tuple(TRACK_COLUMNS))


def recheck_suite() -> SuiteSpec:
    """One row per re-checked output: readable, same bytes as recorded, same duration within a frame."""
    expectations = [
        _named("output_readable", "output exists and ffprobe reads it",
               E.ExpectColumnValuesToBeNull(column="problem")),
        _named("output_sha256_matches", "sha256 of the stored output = recorded sha256",
               E.ExpectColumnPairValuesToBeEqual(
                   column_A="actual_sha256", column_B="recorded_sha256", ignore_row_if="either_value_is_missing")),
        _named("output_size_matches", "size of the stored output = recorded size (catches truncation)",
               E.ExpectColumnPairValuesToBeEqual(
                   column_A="actual_size_bytes", column_B="recorded_size_bytes",
                   ignore_row_if="either_value_is_missing")),
        _a_at_least_b("output_probe_duration_matches", "|ffprobe duration - recorded| <= one frame",
                      "tolerance_s", "duration_error_s"),
    ]
    return SuiteSpec("outputs", ("clip_id",), tuple(expectations), tuple(RECHECK_COLUMNS))


def all_suites() -> dict[str, SuiteSpec]:
    """Every suite by name (the names the audit uses for its tables)."""
    return {spec.name: spec for spec in (manifest_suite(), timeline_suite(), caption_suite(), track_suite(), recheck_suite())}
