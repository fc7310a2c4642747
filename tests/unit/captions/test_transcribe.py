"""The transcription backend's loading code: no model, no library -> a message naming what is missing."""

from __future__ import annotations

import numpy as np
import pytest

from clipmill.captions.transcribe import transcribe
from clipmill.config import ClipOptions
from clipmill.errors import ModelUnavailable

SILENCE = np.zeros(16000, dtype=np.float32)


def test_without_a_model_path_the_setting_is_named(monkeypatch):
    monkeypatch.delenv("CLIPMILL_WHISPER_MODEL", raising=False)
    with pytest.raises(ModelUnavailable, match="transcription=whisper needs a local Whisper-class model: set the "
                                               "environment variable CLIPMILL_WHISPER_MODEL"):
        transcribe(SILENCE, 16000)


def test_a_missing_model_folder_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("CLIPMILL_WHISPER_MODEL", str(tmp_path / "absent"))
    with pytest.raises(ModelUnavailable, match="Whisper-class model not found at .*absent"):
        transcribe(SILENCE, 16000)


def test_a_model_folder_without_its_library_names_the_package(tmp_path):
    import importlib.util

    if importlib.util.find_spec("faster_whisper") or importlib.util.find_spec("whisper"):
        pytest.skip("a Whisper library is installed: this checks the message without one")
    with pytest.raises(ModelUnavailable, match="install faster-whisper .* or give the transcript as a file"):
        transcribe(SILENCE, 16000, model_path=str(tmp_path))


def test_captions_need_a_transcript_or_transcription():
    assert ClipOptions(captions="srt", transcription="whisper").captions == "srt"
    with pytest.raises(ValueError, match="needs a transcript"):
        ClipOptions(captions="vtt")
    with pytest.raises(ValueError, match="exclude each other"):
        ClipOptions(transcript="a.srt", transcription="whisper")
