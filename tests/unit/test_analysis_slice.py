"""A clip job's speech cut from its source's whole-source analysis: when it may be, and what it is."""

from __future__ import annotations

import pytest

from clipmill.analysis_slice import refusal, speech_in_range
from clipmill.artifacts.suggestions import SourceAnalysisDocument
from clipmill.segment_analysis import AnalysisSettings, to_document
from clipmill.timeline import Timeline
from tests.unit.test_segment import talk

SHA = "ab" * 32
KEY = f"analyses/{SHA}/0123456789abcdef.json"


def _document(settings: AnalysisSettings | None = AnalysisSettings(vad_backend="silero")) -> SourceAnalysisDocument:
    analysis = talk([(1.0, 20.0), (21.5, 40.0), (42.0, 59.0)], 60.0)
    return SourceAnalysisDocument.model_validate(
        {**to_document(analysis), "settings": settings.to_dict() if settings else None})


def test_the_speech_of_a_range_is_the_analysis_speech_on_the_range_timeline():
    speech = speech_in_range(_document(), 20.75, 21.0)
    assert speech == Timeline([(0.75, 19.25)])
    assert speech_in_range(_document(), 41.0, 19.0) == Timeline([(1.0, 18.0)])
    assert speech_in_range(_document(), 0.0, 60.0) == Timeline([(1.0, 20.0), (21.5, 40.0), (42.0, 59.0)])


@pytest.mark.parametrize("document,key,backend,end_s,why", [
    (_document(), KEY, "silero", 59.0, None),
    (_document(), KEY, "energy", 59.0, "holds silero speech, this clip's VAD is energy"),
    (_document(AnalysisSettings(vad_backend="webrtc")), KEY, "webrtc", 59.0, None),
    (_document(AnalysisSettings(vad_backend="energy")), KEY, "energy", 59.0, "follows the levels of what it heard"),
    (_document(), f"analyses/{'cd' * 32}/x.json", "silero", 59.0, "is not an analysis of this source"),
    (None, KEY, "silero", 59.0, "is not stored"),
    (_document(None), KEY, "silero", 59.0, "does not record the VAD"),
    (_document(), KEY, "silero", 61.0, "covers 60.000 s, the clip ends at 61.000 s"),
])
def test_speech_is_cut_from_an_analysis_of_this_source_by_the_same_vad_only(document, key, backend, end_s, why):
    found = refusal(document, key=key, sha256=SHA, vad_backend=backend, end_s=end_s)
    assert found is None if why is None else why in found
