"""The JSON Schemas under ``data_contracts/``, generated from the documents that define them.

Every stored document is a model in `clipmill.artifacts.stages` (the manifest's is
`clipmill.manifest.Manifest`); its schema file is generated from it, and a test fails when a
checked-in file drifts from its model. The models check structure only; rules that span rows
(sorted, non-overlapping, inside the frame) are the Great Expectations suites of `clipmill.quality`,
so an audit can name each broken rule instead of stopping at the first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clipmill.artifacts.document import CONTRACTS_DIR, Document
from clipmill.artifacts.suggestions import SourceAnalysisDocument, SuggestionDocument
from clipmill.artifacts.stages import (
    CaptionsDocument, DecodeReportDocument, EditPlanDocument, FillersDocument, FramingDocument, ProfileDocument, SilencesDocument,
    SpeechDocument, TimelinesDocument, TrackRowsDocument, TracksDocument, TranscriptDocument,
)
from clipmill.manifest import Manifest

#: Every contract by its schema file name.
CONTRACTS: dict[str, type[Document]] = {
    kind.contract: kind
    for kind in (
        Manifest, DecodeReportDocument, ProfileDocument, SpeechDocument, SilencesDocument, FillersDocument,
        TimelinesDocument, TrackRowsDocument, TracksDocument, EditPlanDocument, FramingDocument, TranscriptDocument,
        CaptionsDocument, SourceAnalysisDocument, SuggestionDocument,
    )
}


def generated_schema(filename: str) -> dict[str, Any]:
    """The JSON Schema of the contract stored as `filename`, as its model defines it today."""
    schema = CONTRACTS[filename].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://clipmill.dev/schemas/{filename}"
    return schema


def schema_files() -> list[str]:
    """Every checked-in schema file name."""
    return list(CONTRACTS)


def checked_in_schema(filename: str) -> dict[str, Any]:
    return json.loads((CONTRACTS_DIR / filename).read_text())


def write_schemas(directory: Path = CONTRACTS_DIR) -> list[Path]:
    """Regenerate every schema file from its model (run after changing a model, then commit)."""
    written = []
    for filename in schema_files():
        path = directory / filename
        path.write_text(json.dumps(generated_schema(filename), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
