"""Data quality: Great Expectations suites over manifests, timelines, tracks and published outputs.

`frames` flattens documents into tables, `suites` builds the expectation suites, `validate` runs
them and returns typed results, `report` renders them as an HTML page.
"""

from clipmill.quality.frames import manifests_to_frame, recheck_frame, timelines_to_frame, tracks_to_frame
from clipmill.quality.validate import AuditFailed, Failure, QualityReport, SuiteResult, validate_frame, validate_frames

__all__ = [
    "AuditFailed",
    "Failure",
    "QualityReport",
    "SuiteResult",
    "manifests_to_frame",
    "recheck_frame",
    "timelines_to_frame",
    "tracks_to_frame",
    "validate_frame",
    "validate_frames",
]
