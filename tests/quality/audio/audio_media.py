"""Readers for the labelled audio in ../shared/media (tests only: the library does no I/O)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from clipmill.timeline import Timeline

AMI_URIS = ("dev00", "dev01")


def read_mono(path: Path) -> tuple[np.ndarray, int]:
    """Float32 mono samples and the sample rate of a wav/flac file."""
    samples, sr = sf.read(path, dtype="float32", always_2d=True)
    return samples.mean(axis=1), sr


def rttm_speech(path: Path, uri: str) -> Timeline:
    """Union of all speaker turns of ``uri`` in an RTTM file: the VAD reference."""
    turns = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER" and fields[1] == uri:
            onset, duration = float(fields[3]), float(fields[4])
            turns.append((onset, onset + duration))
    return Timeline(turns)


def ami_turns(directory: Path, uri: str) -> Timeline:
    """Union of the speaker turns of one ``ami_pyannote`` excerpt (its own ``<uri>.rttm`` when it has
    one, else the development RTTM)."""
    own = directory / f"{uri}.rttm"
    return rttm_speech(own if own.exists() else directory / "debug.development.rttm", uri)


def lhotse_speech(path: Path) -> Timeline:
    """Supervision intervals of the single lhotse cut in ``cuts.json``."""
    (cut,) = json.loads(path.read_text())
    return Timeline(
        [(sup["start"], sup["start"] + sup["duration"]) for sup in cut["supervisions"]]
    )


def fillers(path: Path) -> list[dict]:
    """Hand-set filler labels ``[{"start", "end", "label"}]`` of one recording."""
    return json.loads(path.read_text())
