"""Filler detection as published (acoustic backend, committed model) on ../shared/media.

Labelled: the 17 hand-timed "uh"/"um" in the five MFA recordings of ``fillers/`` plus the four
negatives (names, "what's it called", "you know", laughter). Fluent speech of other voices, which
has no filler: GRID sentences, LibriSpeech, praatio, the real address footage and the AMI headset
excerpt whose transcript (AMI ES2011a, 40-46 s: "I'm Abigail Claflin, you can call me Abbie") has
none; the model was trained on all but that excerpt. A detection
matches a label when they overlap or their onsets are within 0.25 s; each label and each
detection is matched at most once. The committed model (five features, with
the front-vowel share ``upper_band_share``) reaches leave-one-recording-out
(``scripts/train_filler_model.py``) F1 0.62, precision 8/9 = 0.89, recall 8/17 = 0.47, 0 per minute
on fluent speech; in-sample F1 0.71, precision 10/11 = 0.91, recall 10/17 = 0.59, and its floors
sit just under that, so that the four-feature model before it (precision 10/12) fails them. The
``ensemble`` backend (acoustic + pocketsphinx's speech noise, split at pauses, without word tails
and laughter's wide pitch): leave-one-recording-out, its three settings chosen inside each fold,
F1 0.81 (precision 13/15 = 0.87, recall 13/17 = 0.76), in-sample F1 0.91 (15/16, 15/17); its floors
sit one event under the in-sample figures, so that switching off the split at pauses (recall
14/17) or the pitch check (precision 15/17) fails them."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import numpy as np
import pytest

from clipmill.audio.fillers import detect_fillers
from clipmill.audio.profile import compute_profile
from clipmill.audio.vad import detect_speech

from audio_media import fillers, read_mono
from talk import FILLER_WORDS, TUNED, WORD_TOLERANCE_S, build_talk

ONSET_TOLERANCE_S = 0.25
#: backend -> (F1, precision, recall) floors on the labelled recordings
FLOORS = {"acoustic": (0.65, 0.85, 0.55), "ensemble": (0.88, 0.9, 0.85)}
MAX_FLUENT_PER_MIN = 1.0


def decoded(path: Path) -> tuple[np.ndarray, int]:
    """Mono 16 kHz samples of a wav/flac file or of a video's audio track (ffmpeg)."""
    if path.suffix in (".wav", ".flac"):
        return read_mono(path)
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path), "-ac", "1", "-ar", "16000",
         "-f", "f32le", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.float32).copy(), 16000


@functools.cache
def analysed(path: Path):
    """Samples, rate, profile and VAD speech of a file, computed once for both backends."""
    samples, sr = decoded(path)
    profile = compute_profile(samples, sr)
    return samples, sr, profile, detect_speech(samples, sr, profile=profile)


def found_fillers(path: Path, backend: str) -> tuple[list[dict], float]:
    samples, sr, profile, speech = analysed(path)
    found = detect_fillers(samples, sr, speech=speech, profile=profile, backend=backend)
    return found.to_list(), len(samples) / sr


def matches(detection: dict, label: dict) -> bool:
    overlap = min(detection["end"], label["end"]) > max(detection["start"], label["start"])
    return overlap or abs(detection["start"] - label["start"]) <= ONSET_TOLERANCE_S


def score(found: list[dict], labels: list[dict]) -> int:
    """Greedy one-to-one matching in time order; returns the number of matched labels."""
    used: set[int] = set()
    hits = 0
    for label in labels:
        for index, detection in enumerate(found):
            if index not in used and matches(detection, label):
                used.add(index)
                hits += 1
                break
    return hits


@pytest.mark.parametrize("backend", FLOORS)
def test_fillers_on_labelled_recordings(shared_media, backend):
    hits = detections = labelled = 0
    for label_path in sorted((shared_media / "fillers").glob("*.fillers.json")):
        name = label_path.name.removesuffix(".fillers.json")
        audio = next(label_path.with_name(name + ext) for ext in (".flac", ".wav")
                     if label_path.with_name(name + ext).exists())
        found, _ = found_fillers(audio, backend)
        labels = fillers(label_path)
        print(f"\n[fillers] {name}: labels {[(l['start'], l['end']) for l in labels]} found "
              f"{[(round(d['start'], 2), round(d['end'], 2), d['label']) for d in found]}", end="")
        hits += score(found, labels)
        detections += len(found)
        labelled += len(labels)
    recall = hits / labelled
    precision = hits / detections if detections else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    print(f"\n[fillers] {backend}: recall {hits}/{labelled} = {recall:.2f}, precision "
          f"{hits}/{detections} = {precision:.2f}, F1 {f1:.2f}")
    min_f1, min_precision, min_recall = FLOORS[backend]
    assert labelled == 17
    assert f1 >= min_f1
    assert precision >= min_precision
    assert recall >= min_recall


@pytest.mark.parametrize("backend", FLOORS)
def test_fillers_stay_off_fluent_speech(shared_media, backend):
    paths = (sorted((shared_media / "video/grid").glob("*.mpg"))
             + sorted((shared_media / "words").glob("*.flac"))
             + sorted((shared_media / "words").glob("*.wav"))
             + sorted((shared_media / "video/real").glob("*.mp4"))
             + sorted((shared_media / "audio_labelled/ami_lhotse").glob("*.wav")))
    reported, total_s = [], 0.0
    for path in paths:
        found, duration = found_fillers(path, backend)
        reported += [(path.stem, round(d["start"], 2)) for d in found]
        total_s += duration
    per_minute = 60 * len(reported) / total_s
    print(f"\n[fillers] {backend} on fluent speech, {len(paths)} files, {total_s:.0f} s: {len(reported)} reported "
          f"= {per_minute:.2f}/min {reported}")
    assert len(paths) >= 18
    assert per_minute <= MAX_FLUENT_PER_MIN


def test_ensemble_fillers_touch_no_word_of_the_tuned_talk(shared_media, tmp_path):
    """On the 65 s tuned talk of the cut tests (its audio track, as a clip job decodes it), no
    filler the ensemble reports takes more than `talk.WORD_TOLERANCE_S` of a word that is not a
    filler. It reported the fading vowel of "pause" (160 ms) before its decoded spans had to be
    sounds of their own; the acoustic backend alone reported 290 ms of "intensity" here until its
    front-vowel feature (README). The published cut is measured in the README."""
    backend = "ensemble"
    talk = build_talk(shared_media, TUNED, tmp_path)
    found, _ = found_fillers(talk.video, backend)
    touched = [(word.text, round(overlap, 3)) for word in talk.words if word.text not in FILLER_WORDS
               for overlap in [sum(max(0.0, min(d["end"], word.end) - max(d["start"], word.start)) for d in found)]
               if overlap > WORD_TOLERANCE_S]
    fillers_found = score(found, [{"start": w.start, "end": w.end} for w in talk.words if w.text in FILLER_WORDS])
    print(f"\n[fillers] {backend} on the tuned talk: {len(found)} reported, {fillers_found} on its labelled "
          f"fillers, words touched {touched}")
    assert touched == []
