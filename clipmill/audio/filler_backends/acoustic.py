"""Acoustic filler detector: stable-spectrum voiced islands bounded by a pause, scored by a tiny model.

Steps: (1) inside speech, mark 10 ms frames whose MFCCs barely change across +-20 ms (a held
vowel, not the transitions of a word) and that are loud enough to be voice; (2) runs of such
frames of filler length, no louder than the speaker's words and next to a level dip, are
candidates, with the share of their power where a front vowel's second formant lies (a filler
is a mid-central vowel: the held /i/ that ends "intensity" is not); (3) pYIN on each candidate
only (never the whole signal) gives voicing and pitch stability; (4) a logistic regression over those features (weights in ``filler_model.json``,
trained leave-one-recording-out by ``scripts/train_filler_model.py``) keeps the confident ones.
A nasal murmur right after the vowel makes it "um", else "uh".
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clipmill.audio.mfcc import mfcc
from clipmill.audio.profile import (
    SPEECH_BAND_HZ,
    AudioProfile,
    band_levels_db,
    shared_spectrogram,
)
from clipmill.audio.pyin import pyin
from clipmill.timeline import Timeline

logger = logging.getLogger(__name__)

HOP_S = 0.010
FRAME_S = 0.032
N_MELS = 40
N_MFCC = 13
#: a nasal murmur is this far above the speech-band floor (dB)
NASAL_MARGIN_DB = 15.0
#: a frame is nasal when this share of its power lies below NASAL_CUTOFF_HZ
NASAL_RATIO = 0.7
NASAL_CUTOFF_HZ = 400.0
NASAL_SEARCH_S = 0.4
NASAL_MIN_S = 0.1
#: the features the filler model scores, in the order of `FillerCandidate.features`
FEATURE_NAMES = (
    "duration_s", "voiced_ratio", "pitch_std_st", "mean_change", "max_change", "dip_db",
    "min_side_dip_db", "level_re_active_db", "upper_band_share",
)
#: `upper_band_share`: the share of a candidate's power in VOWEL_BAND_HZ that lies above
#: FRONT_VOWEL_HZ. Hesitation fillers are mid-central or back vowels ("uh", "um", "er", "ah":
#: second formant under ~1.6 kHz); front vowels (/i/, /e/: F2 over ~1.8 kHz) put their power there
VOWEL_BAND_HZ = (300.0, 3500.0)
FRONT_VOWEL_HZ = 1800.0


#: index in `FEATURE_NAMES` -> range of the features that need pYIN (pitch std is capped)
MAX_PITCH_STD_ST = 5.0
PITCH_FEATURE_RANGES = {
    FEATURE_NAMES.index("voiced_ratio"): (0.0, 1.0),
    FEATURE_NAMES.index("pitch_std_st"): (0.0, MAX_PITCH_STD_ST),
}
MODEL_PATH = Path(__file__).with_name("filler_model.json")


@dataclass(frozen=True)
class FillerModel:
    """Logistic regression over standardised candidate features (``scripts/train_filler_model.py``).

    Attributes
    ----------
    columns
        Indices into `FEATURE_NAMES` of the features the model scores.
    mean, scale, weights, bias
        Standardisation and the linear score; probability = sigmoid(score).
    threshold
        Probability at or above which a candidate is reported as a filler.
    alone_threshold
        The ``ensemble`` backend's: an acoustic filler that no decoded filler confirms is kept at
        or above this probability (chosen leave-one-recording-out by the training script).
    max_pitch_std_st
        The ``ensemble`` backend's: a decoded speech-noise span whose voiced pitch spreads wider
        than this (semitones) is no held vowel (laughter); chosen by the training script.
    pause_depth_db
        The ``ensemble`` backend's: a level dip this deep inside a decoded span is a pause between
        two sounds (`decoded_sounds.split_at_pauses`); inf (``null`` in the JSON): no split. Chosen
        by the training script.
    """

    columns: tuple[int, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float
    alone_threshold: float
    max_pitch_std_st: float
    pause_depth_db: float

    def probability(self, features: np.ndarray) -> float:
        """Filler probability of one candidate's full `FEATURE_NAMES` vector."""
        z = (features[list(self.columns)] - self.mean) / self.scale
        return float(1.0 / (1.0 + np.exp(-(z @ self.weights + self.bias))))

    def could_pass(self, features: np.ndarray) -> bool:
        """Whether a candidate whose pitch features are still NaN can reach `threshold`: each
        unknown feature at the end of its `PITCH_FEATURE_RANGES` range that favours a filler."""
        best = features.copy()
        for index, (low, high) in PITCH_FEATURE_RANGES.items():
            if index in self.columns:
                weight = self.weights[self.columns.index(index)]
                best[index] = high if weight > 0 else low
        return self.probability(np.nan_to_num(best)) >= self.threshold


@functools.cache
def _read_model(path: Path) -> FillerModel:
    data = json.loads(path.read_text())
    return FillerModel(
        columns=tuple(FEATURE_NAMES.index(name) for name in data["features"]),
        mean=np.array(data["mean"]), scale=np.array(data["scale"]),
        weights=np.array(data["weights"]), bias=float(data["bias"]),
        threshold=float(data["threshold"]), alone_threshold=float(data["ensemble_alone_threshold"]),
        max_pitch_std_st=float(data["ensemble_max_pitch_std_st"]),
        pause_depth_db=float("inf" if data["ensemble_pause_depth_db"] is None else data["ensemble_pause_depth_db"]),
    )


def load(config) -> FillerModel:
    """The committed filler model (a small JSON, read once per process)."""
    return _read_model(MODEL_PATH)


def spectral_change(power: np.ndarray, sr: int, context: int) -> np.ndarray:
    """Per-frame RMS difference of MFCCs 1..12 between frames ``t - context`` and ``t + context``."""
    cepstra = mfcc(power, sr, n_mels=N_MELS, n_mfcc=N_MFCC)[1:]
    n = cepstra.shape[1]
    change = np.full(n, np.inf)
    if n > 2 * context:
        diff = cepstra[:, 2 * context :] - cepstra[:, : n - 2 * context]
        change[context : n - context] = np.sqrt(np.mean(diff**2, axis=0))
    return change


def pitch_stats(segment: np.ndarray, sr: int, config) -> tuple[float, float]:
    """(voiced ratio, pitch standard deviation in semitones) of a candidate from pYIN."""
    f0, voiced = pyin(
        segment, sr, fmin=config.fmin_hz, fmax=config.fmax_hz,
        frame_length=int(2 ** np.ceil(np.log2(3 * sr / config.fmin_hz))),
        hop_length=round(HOP_S * sr),
    )
    f0 = f0[voiced]
    if f0.size < 3:
        return float(np.mean(voiced)), np.inf
    semitones = 12.0 * np.log2(f0 / np.median(f0))
    return float(np.mean(voiced)), float(np.std(semitones))


def is_nasal_after(
    end_frame: int, power: np.ndarray, freqs: np.ndarray, levels: np.ndarray, floor_db: float
) -> bool:
    """True when a voiced, low-frequency murmur follows the vowel ("um" rather than "uh")."""
    stop = min(len(levels), end_frame + round(NASAL_SEARCH_S / HOP_S))
    window = power[:, end_frame:stop]
    low_share = window[freqs < NASAL_CUTOFF_HZ].sum(axis=0) / np.maximum(window.sum(axis=0), 1e-30)
    nasal = (low_share >= NASAL_RATIO) & (levels[end_frame:stop] >= floor_db + NASAL_MARGIN_DB)
    return int(nasal.sum()) * HOP_S >= NASAL_MIN_S


@dataclass(frozen=True)
class FillerCandidate:
    """A stable voiced run inside speech and the features the filler model scores it on."""

    start: float
    end: float
    features: np.ndarray
    nasal_after: bool


def candidates(
    samples: np.ndarray, sr: int, *, speech: Timeline, profile: AudioProfile, config,
    spectrogram: tuple[np.ndarray, np.ndarray] | None = None,
    worth_pitch: Callable[[np.ndarray], bool] | None = None,
) -> list[FillerCandidate]:
    """Every spectrally stable run of filler length inside ``speech``, with its features.

    Only the cheap gates (duration, loudness, a pause dip of ``config.pause_dip_db``) prune
    here; pYIN runs on the runs that pass them and, when given, ``worth_pitch`` (called on the
    features with the pitch ones NaN), so the whole signal is never pitch-tracked.
    """
    total_s = len(samples) / sr
    speech = speech.clip(0.0, total_s)
    if not len(speech):
        return []
    power, freqs = shared_spectrogram(samples, sr, spectrogram, frame_s=FRAME_S, hop_s=HOP_S)
    levels = band_levels_db(power, freqs, SPEECH_BAND_HZ)
    floor = profile.noise_floor_band_db["speech"]
    in_speech = speech.to_mask(HOP_S, len(levels) * HOP_S)[: len(levels)]
    active_level = float(np.percentile(levels[in_speech], 95)) if in_speech.any() else floor
    change = spectral_change(power, sr, config.context_frames)
    stable = (change < config.max_change_db) & (levels >= floor + config.min_level_re_floor_db)
    # the difference spans +-context frames: widen the runs back to the frames they describe
    widen = config.context_frames * HOP_S
    runs = (
        Timeline.from_mask(stable, HOP_S)
        .merge_gaps(HOP_S * 3)
        .intersect(speech)
        .pad(widen, span=(0.0, total_s))
        .intersect(speech)
    )
    context = round(config.pause_context_s / HOP_S)
    in_vowel_band = (freqs >= VOWEL_BAND_HZ[0]) & (freqs < VOWEL_BAND_HZ[1])
    found = []
    for start, end in runs.array:
        # frames are centred on the run's edges, so the audio they describe is FRAME_S longer
        duration = end - start + FRAME_S
        if not config.min_duration_s <= duration <= config.max_duration_s:
            continue
        first, last = round(start / HOP_S), round(end / HOP_S)
        mean_level = float(np.mean(levels[first:last]))
        if mean_level > active_level + config.max_level_re_active_db:
            continue
        before = levels[max(0, first - context) : first]
        after = levels[last : last + context]
        # a dip ends at the room's floor: digital silence (a file's zero-padded end) is no deeper a pause
        dips = [mean_level - max(side.min(), floor) if side.size else 0.0 for side in (before, after)]
        if max(dips) < config.pause_dip_db:
            continue
        inside = change[first:last][np.isfinite(change[first:last])]
        band = power[in_vowel_band, first:last].sum(axis=1)
        upper = band[freqs[in_vowel_band] >= FRONT_VOWEL_HZ].sum()
        features = np.array([
            duration, np.nan, np.nan,
            float(np.mean(inside)) if inside.size else config.max_change_db,
            float(np.max(inside)) if inside.size else config.max_change_db,
            max(dips), min(dips), mean_level - active_level, float(upper / max(band.sum(), 1e-30)),
        ])
        if worth_pitch is not None and not worth_pitch(features):
            continue
        segment = samples[round(start * sr) : round(end * sr)]
        voiced_ratio, pitch_std = pitch_stats(segment, sr, config)
        features[1:3] = voiced_ratio, min(pitch_std, MAX_PITCH_STD_ST)
        nasal = is_nasal_after(last, power, freqs, levels, floor)
        found.append(FillerCandidate(float(start), float(end), features, nasal))
    return found


#: kept candidates closer than this are one held vowel split by a single moving frame (s)
SPLIT_GAP_S = 0.015


def filler_events(found: list[FillerCandidate], probabilities: np.ndarray,
                  threshold: float) -> list[tuple[float, float, str, float]]:
    """``(start, end, label, confidence)`` of the candidates at or over ``threshold``.

    Kept candidates that (nearly) touch are one vowel that a single frame of spectral movement
    split, so they join (label of the first, highest probability); fillers said one after the
    other are further apart than `SPLIT_GAP_S` once the runs are widened back to their frames.
    """
    events: list[tuple[float, float, str, float]] = []
    for candidate, probability in zip(found, probabilities):
        if probability < threshold:
            continue
        label = "um" if candidate.nasal_after else "uh"
        if events and candidate.start - events[-1][1] < SPLIT_GAP_S:
            start, _, first_label, best = events.pop()
            events.append((start, candidate.end, first_label, max(best, float(probability))))
        else:
            events.append((candidate.start, candidate.end, label, float(probability)))
    return events


def detect(
    samples: np.ndarray, sr: int, model, *, speech: Timeline, profile: AudioProfile, config,
    spectrogram: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[tuple[float, float, str, float]]:
    """Filler events ``(start, end, label, confidence)`` inside ``speech`` (``spectrogram``: the
    32 ms / 10 ms `power_spectrogram` of ``samples`` when already computed)."""
    found = candidates(samples, sr, speech=speech, profile=profile, config=config,
                       spectrogram=spectrogram, worth_pitch=model.could_pass)
    probabilities = np.array([model.probability(candidate.features) for candidate in found])
    return filler_events(found, probabilities, model.threshold)
