"""VAD backends side by side: frame F1 on the labelled AMI speech and speed.

References are read with the readers of ``tests/quality/audio/audio_media.py`` (loaded by path, not
edited). ``lhotse`` is scored on raw 10 ms frames; ``ami`` turns (which include the speaker's pauses)
are scored after bridging hypothesis gaps shorter than 1 s, as the quality tests do.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np

from bench.rows import Row, guarded, stopwatch
from clipmill.audio.profile import compute_profile
from clipmill.audio.vad import detect_speech
from clipmill.timeline import Timeline

REPO = Path(__file__).resolve().parents[1]
LABELLED = REPO.parent / "shared" / "media" / "audio_labelled"
READERS = REPO / "tests" / "quality" / "audio" / "audio_media.py"
BACKENDS = ("silero", "webrtc", "energy")
HOP_S = 0.01
TURN_GAP_S = 1.0


def _readers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_audio_media", READERS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def frame_f1(hypothesis: list[Timeline], reference: list[Timeline], totals: list[float]) -> float:
    """F1 of speech frames (``HOP_S``) pooled over recordings."""
    hyp = np.concatenate([h.to_mask(HOP_S, t) for h, t in zip(hypothesis, totals)])
    ref = np.concatenate([r.to_mask(HOP_S, t) for r, t in zip(reference, totals)])
    hits = np.sum(hyp & ref)
    return 0.0 if hits == 0 else float(2 * hits / (hyp.sum() + ref.sum()))


def _recordings(readers: ModuleType) -> dict[str, list[tuple[np.ndarray, int, Timeline]]]:
    ami = LABELLED / "ami_pyannote"
    lhotse = LABELLED / "ami_lhotse"
    return {
        "ami": [(*readers.read_mono(ami / f"{uri}.wav"), readers.rttm_speech(ami / "debug.development.rttm", uri))
                for uri in readers.AMI_URIS],
        "lhotse": [(*readers.read_mono(next(lhotse.glob("*.wav"))), readers.lhotse_speech(lhotse / "cuts.json"))],
    }


def vad_rows() -> list[Row]:
    """One row per backend: lhotse raw F1, AMI turn F1, real-time factor over all labelled audio."""
    def measure() -> list[Row]:
        sets = _recordings(_readers())
        media_s = sum(len(x) / sr for recs in sets.values() for x, sr, _ in recs)
        return [_backend_row(backend, sets, media_s) for backend in BACKENDS]
    return guarded("vad quality", "labelled AMI", measure)


def _backend_row(backend: str, sets: dict, media_s: float) -> Row:
    scores, seconds = {}, 0.0
    for name, recordings in sets.items():
        hyps, refs, totals = [], [], []
        for samples, sr, reference in recordings:
            profile = compute_profile(samples, sr)
            with stopwatch() as elapsed:
                speech = detect_speech(samples, sr, backend=backend, profile=profile)
            seconds += elapsed()
            hyps.append(speech.merge_gaps(TURN_GAP_S) if name == "ami" else speech)
            refs.append(reference)
            totals.append(len(samples) / sr)
        scores[name] = frame_f1(hyps, refs, totals)
    detail = f"F1 lhotse {scores['lhotse']:.3f} (raw frames), AMI {scores['ami']:.3f} (turns, gaps < 1 s bridged)"
    return Row("vad quality", backend, seconds=seconds, rtf=media_s / seconds, detail=detail,
               data={"f1": scores, "media_s": media_s})
