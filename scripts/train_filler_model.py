"""Train the acoustic filler model and report it leave-one-recording-out.

Every recording in ../shared/media/fillers (labelled "uh"/"um", negatives included) and the
fluent speech of other voices (GRID, LibriSpeech, praatio, the real address footage) is run
through `acoustic.candidates`; a candidate is positive when it matches a labelled filler
(overlap or onsets within 0.25 s). A logistic regression over the standardised features is fit
on all recordings but one and scored on that one, for each recording in turn; the committed
weights (clipmill/audio/filler_backends/filler_model.json) are the fit on everything.

The ``ensemble`` backend is scored beside it: the same held-out probabilities combined with
the phone decoder's speech noise (`ensemble.decoded_sounds`, nothing of the decoder fitted). Its three
settings, the probability an acoustic filler needs alone, the widest pitch spread of a decoded
one and the level dip that splits a decoded span in two (or no split), are chosen together on the
other recordings of each fold (nested), preferring the stricter on a tie (precision first): so no
part of its leave-one-out figure is in-sample. ``--unseen NAME`` leaves a recording out of
everything, to keep it unseen while choosing.

    python scripts/train_filler_model.py [--media ../shared/media] [--threshold 0.85] [--unseen NAME] [--write]

The committed model: the defaults (mean spectral change, pause dip, pitch spread, duration,
front-vowel share; threshold 0.85).
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from clipmill.audio.filler_backends import acoustic, ensemble, phonetic
from clipmill.audio.fillers import FillerConfig
from clipmill.audio.profile import SPEECH_BAND_HZ, band_levels_db, compute_profile, shared_spectrogram
from clipmill.audio.vad import detect_speech
from clipmill.events import LabelledEvents

ONSET_TOLERANCE_S = 0.25
MODEL_PATH = Path(__file__).resolve().parents[1] / "clipmill/audio/filler_backends/filler_model.json"
L2 = 1.0


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    if path.suffix in (".wav", ".flac"):
        samples, sr = sf.read(path, dtype="float32", always_2d=True)
        return samples.mean(axis=1), sr
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path), "-ac", "1", "-ar", "16000",
         "-f", "f32le", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.float32).copy(), 16000


def recordings(media: Path) -> list[tuple[str, Path, list[dict]]]:
    """``(name, audio path, filler labels)``; fluent speech has no labels."""
    found = []
    for labels in sorted((media / "fillers").glob("*.fillers.json")):
        name = labels.name.removesuffix(".fillers.json")
        audio = next(p for p in (labels.with_name(name + ext) for ext in (".flac", ".wav")) if p.exists())
        found.append((name, audio, json.loads(labels.read_text())))
    fluent = sorted((media / "video/grid").glob("*.mpg")) + sorted((media / "words").glob("*.flac")) \
        + sorted((media / "words").glob("*.wav")) + sorted((media / "video/real").glob("*.mp4"))
    found += [(path.stem, path, []) for path in fluent]
    return found


def matches(start: float, end: float, label: dict) -> bool:
    overlap = min(end, label["end"]) > max(start, label["start"])
    return overlap or abs(start - label["start"]) <= ONSET_TOLERANCE_S


def event_hits(events: list[tuple[float, float]], labels: list[dict]) -> int:
    """Greedy one-to-one matching in time order: the number of labels matched."""
    used: set[int] = set()
    hits = 0
    for label in labels:
        for index, (start, end) in enumerate(events):
            if index not in used and matches(start, end, label):
                used.add(index)
                hits += 1
                break
    return hits


def fit(x: np.ndarray, y: np.ndarray) -> dict:
    """L2-regularised, class-balanced logistic regression (Newton steps) on standardised x."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    weight_of = np.where(y == 1, len(y) / (2 * max(y.sum(), 1)), len(y) / (2 * max((1 - y).sum(), 1)))
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], L2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ w))
        grad = z.T @ (weight_of * (p - y)) + penalty * w
        hess = (z * (weight_of * p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        w -= np.linalg.solve(hess, grad)
    return {"mean": mean.tolist(), "scale": scale.tolist(), "weights": w[:-1].tolist(),
            "bias": float(w[-1])}


def probability(model: dict, x: np.ndarray) -> np.ndarray:
    z = (x - np.array(model["mean"])) / np.array(model["scale"])
    return 1 / (1 + np.exp(-(z @ np.array(model["weights"]) + model["bias"])))


#: the ensemble's thresholds for an acoustic filler no decoded one confirms, tried in turn
ALONE_THRESHOLDS = (0.85, 0.9, 0.95, 0.98, 0.99, 1.01)
#: the ensemble's widest pitch spread (semitones) of a decoded filler, tried in turn (an octave: no limit)
PITCH_LIMITS = (1.5, 2.0, 3.0, 12.0)
#: the ensemble's level dips (dB) that split a decoded span in two, tried in turn (inf: no split)
PAUSE_DEPTHS = (15.0, 20.0, 25.0, 30.0, 35.0, float("inf"))
#: every ``(alone threshold, pitch limit, pause depth)`` the ensemble is tried with
SETTINGS = tuple(itertools.product(ALONE_THRESHOLDS, PITCH_LIMITS, PAUSE_DEPTHS))


def reported(found, p: np.ndarray, threshold: float, decoded: dict | None,
             setting: tuple[float, float, float] | None) -> list[tuple[float, float]]:
    """``(start, end)`` of the acoustic fillers and, for the ensemble, the decoded ones (``decoded``:
    pause depth -> sounds) held to ``setting`` (alone threshold, pitch limit, pause depth), as
    `clipmill.audio.fillers.detect_fillers` reports them (the most confident of overlapping ones)."""
    events = acoustic.filler_events(found, p, threshold)
    if decoded is not None:
        alone, pitch_limit, depth = setting
        held = [(sound.start, sound.end, "uh") for sound in decoded[depth] if sound.held(pitch_limit)]
        events = ensemble.combine(events, held, alone)
    return [(event.start, event.end) for event in LabelledEvents.exclusive(events)]


def evaluate(rows, probabilities: list[np.ndarray], threshold: float, decoded: list | None = None,
             settings: list[tuple[float, float, float]] | None = None) -> dict:
    """Event precision, recall and F1 on the labelled recordings, reports per minute on the fluent
    ones; ``decoded`` (per recording, pause depth -> `ensemble.decoded_sounds`) and ``settings``
    (per recording) for the ensemble."""
    hits = detections = labelled = 0
    fluent_detections, fluent_s = 0, 0.0
    for index, ((name, duration, labels, found, _), p) in enumerate(zip(rows, probabilities)):
        events = reported(found, p, threshold, None if decoded is None else decoded[index],
                          None if settings is None else settings[index])
        if labels or name.startswith("mfa_"):
            hits += event_hits(events, labels)
            detections += len(events)
            labelled += len(labels)
        else:
            fluent_detections += len(events)
            fluent_s += duration
    precision = hits / detections if detections else 1.0
    recall = hits / labelled if labelled else 1.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {"hits": hits, "detections": detections, "labelled": labelled, "precision": precision,
            "recall": recall, "f1": f1, "fluent_per_min": 60 * fluent_detections / fluent_s if fluent_s else 0.0,
            "fluent_detections": fluent_detections, "fluent_min": fluent_s / 60}


def held_out_probabilities(rows, x_of, indices: list[int]) -> dict[int, np.ndarray]:
    """For each recording in ``indices``, its candidates' probabilities under the fit on the others
    in ``indices``."""
    found = {}
    for index in indices:
        others = [i for i in indices if i != index]
        model = fit(np.vstack([x_of[i] for i in others]), np.concatenate([rows[i][4] for i in others]))
        found[index] = probability(model, x_of[index])
    return found


def best_setting(rows, probabilities: dict[int, np.ndarray], decoded,
                 threshold: float) -> tuple[float, float, float]:
    """The `SETTINGS` with the best ensemble F1 over the recordings of ``probabilities``; on a tie
    the stricter (higher alone threshold, then lower pitch limit, then a deeper pause: fewer splits)."""
    indices = sorted(probabilities)
    subset = [rows[i] for i in indices]
    return max(SETTINGS, key=lambda setting: (evaluate(
        subset, [probabilities[i] for i in indices], threshold, [decoded[i] for i in indices],
        [setting] * len(indices))["f1"], setting[0], -setting[1], setting[2]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=Path(__file__).resolve().parents[2] / "shared/media")
    parser.add_argument("--threshold", type=float, default=0.85)
    parser.add_argument("--dip", type=float, default=FillerConfig().pause_dip_db)
    parser.add_argument("--change", type=float, default=FillerConfig().max_change_db)
    parser.add_argument("--margin", type=float, default=FillerConfig().min_level_re_floor_db)
    parser.add_argument("--features", default="mean_change,dip_db,pitch_std_st,duration_s,upper_band_share")
    parser.add_argument("--unseen", default="", help="a recording left out of everything (kept unseen)")
    parser.add_argument("--write", action="store_true", help="write the fit on all recordings")
    args = parser.parse_args()
    config = FillerConfig(pause_dip_db=args.dip, max_change_db=args.change,
                          min_level_re_floor_db=args.margin)
    rows, decoded = [], []
    decoder_settings = phonetic.decoder_config()
    for name, path, labels in recordings(args.media):
        if name == args.unseen:
            continue
        samples, sr = read_audio(path)
        profile = compute_profile(samples, sr)
        speech = detect_speech(samples, sr, profile=profile)
        found = acoustic.candidates(samples, sr, speech=speech, profile=profile, config=config)
        y = np.array([float(any(matches(c.start, c.end, label) for label in labels)) for c in found])
        rows.append((name, len(samples) / sr, labels, found, y))
        power, freqs = shared_spectrogram(samples, sr, None, frame_s=acoustic.FRAME_S, hop_s=acoustic.HOP_S)
        levels = band_levels_db(power, freqs, SPEECH_BAND_HZ)
        spans = phonetic.speech_noise(samples, sr, decoder_settings, speech=speech,
                                      min_duration_s=config.min_duration_s)
        decoded.append({depth: ensemble.decoded_sounds(samples, sr, spans, levels=levels, config=config,
                                                       pause_depth_db=depth) for depth in PAUSE_DEPTHS})
        hit = event_hits([(c.start, c.end) for c in found], labels)
        print(f"{name} ({len(samples) / sr:.1f} s): {len(found)} candidates, {int(y.sum())} positive, "
              f"{hit} of {len(labels)} labels reachable")
    columns = [acoustic.FEATURE_NAMES.index(name) for name in args.features.split(",")]
    x_of = [np.array([c.features for c in found]).reshape(-1, len(acoustic.FEATURE_NAMES))[:, columns]
            for *_, found, _ in rows]
    everything = fit(np.vstack(x_of), np.concatenate([y for *_, y in rows]))
    in_sample = [probability(everything, x) for x in x_of]
    everyone = list(range(len(rows)))
    by_index = held_out_probabilities(rows, x_of, everyone)
    held_out = [by_index[i] for i in everyone]
    for threshold in sorted({0.5, 0.6, 0.7, 0.8, 0.9, args.threshold}):
        print(f"threshold {threshold}: in-sample {evaluate(rows, in_sample, threshold)}")
        print(f"threshold {threshold}: leave-one-out {evaluate(rows, held_out, threshold)}")
    # the ensemble's settings, chosen on the held-out probabilities of all recordings (the
    # committed one) and, to score it, inside each fold on the other recordings only (nested)
    chosen = best_setting(rows, by_index, decoded, args.threshold)
    nested = [best_setting(rows, held_out_probabilities(rows, x_of, [i for i in everyone if i != index]),
                           decoded, args.threshold) for index in everyone]
    print(f"ensemble, alone threshold, pitch limit and pause depth {chosen}: in-sample "
          f"{evaluate(rows, in_sample, args.threshold, decoded, [chosen] * len(rows))}")
    print(f"ensemble, settings chosen per fold: leave-one-out "
          f"{evaluate(rows, held_out, args.threshold, decoded, nested)}")
    for index in everyone:
        scores = evaluate([rows[index]], [held_out[index]], args.threshold, [decoded[index]], [nested[index]])
        print(f"  ensemble {rows[index][0]}: settings {nested[index]}, {scores['hits']} of {scores['labelled']} "
              f"found, {scores['detections'] + scores['fluent_detections']} reported")
    for (name, _, labels, found, _), p, sounds in zip(rows, held_out, decoded):
        kept = [(round(start, 2), round(end, 2), round(q, 2))
                for start, end, _, q in acoustic.filler_events(found, p, args.threshold)]
        print(f"  {name}: labels {[(l['start'], l['end']) for l in labels]} held-out kept {kept} decoded "
              f"{[(round(s.start, 2), round(s.end, 2), round(s.pitch_std_st, 2)) for s in sounds[chosen[2]]]}")
    print(dict(zip(args.features.split(","), np.round(everything["weights"], 2))))
    if args.write:
        everything.update(features=args.features.split(","), threshold=args.threshold,
                          ensemble_alone_threshold=chosen[0], ensemble_max_pitch_std_st=chosen[1],
                          ensemble_pause_depth_db=None if np.isinf(chosen[2]) else chosen[2])
        MODEL_PATH.write_text(json.dumps(everything, indent=1) + "\n")


if __name__ == "__main__":
    main()
