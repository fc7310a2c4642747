"""Acoustic filler detector: stable-spectrum, flat-pitch voiced islands bounded by a pause.

Steps: (1) inside speech, mark 10 ms frames whose MFCCs barely change across +-20 ms (a held
vowel, not the transitions of a word) and that are loud enough to be voice; (2) runs of such
frames of filler length are candidates; (3) pYIN on each candidate: enough voicing and a flat
pitch; (4) a pause dip before or after it and a level no louder than the speaker's words; (5) a
central vowel quality: hesitation vowels are schwa-like ([ə], [ʌ], [ɛ]; second formant near
1200 Hz or above), while held word endings that pass (1)-(4) are mostly back vowels or a dark /l/
("-real", "called": F2 under 1100 Hz). A nasal murmur right after the vowel makes it "um",
else "uh".
"""

from __future__ import annotations

import logging

import librosa
import numpy as np

from clipmill.audio.profile import (
    SPEECH_BAND_HZ,
    AudioProfile,
    band_levels_db,
    power_spectrogram,
)
from clipmill.timeline import Timeline

logger = logging.getLogger(__name__)

HOP_S = 0.010
FRAME_S = 0.032
N_MELS = 40
N_MFCC = 13
#: frames this far above the speech-band floor are voice, not room tone (dB)
VOICE_MARGIN_DB = 15.0
#: a frame is nasal when this share of its power lies below NASAL_CUTOFF_HZ
NASAL_RATIO = 0.7
NASAL_CUTOFF_HZ = 400.0
NASAL_SEARCH_S = 0.4
NASAL_MIN_S = 0.1
#: formant analysis: LPC at 8 kHz (formants below 4 kHz), order 2 + kHz, pre-emphasis
LPC_SR = 8000
LPC_ORDER = 10
PRE_EMPHASIS = 0.63
#: resonances wider than this (Hz) or lower than FORMANT_MIN_HZ are not formants
FORMANT_MAX_BANDWIDTH_HZ = 400.0
FORMANT_MIN_HZ = 200.0


def load(config) -> None:
    """Nothing to load."""
    return None


def spectral_change(power: np.ndarray, sr: int, context: int) -> np.ndarray:
    """Per-frame RMS difference of MFCCs 1..12 between frames ``t - context`` and ``t + context``."""
    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=N_MELS)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel + 1e-12), n_mfcc=N_MFCC)[1:]
    n = mfcc.shape[1]
    change = np.full(n, np.inf)
    if n > 2 * context:
        diff = mfcc[:, 2 * context :] - mfcc[:, : n - 2 * context]
        change[context : n - context] = np.sqrt(np.mean(diff**2, axis=0))
    return change


def _pitch_stats(segment: np.ndarray, sr: int, config) -> tuple[float, float]:
    """(voiced ratio, pitch standard deviation in semitones) of a candidate from pYIN."""
    f0, voiced, _ = librosa.pyin(
        segment, fmin=config.fmin_hz, fmax=config.fmax_hz, sr=sr,
        frame_length=int(2 ** np.ceil(np.log2(3 * sr / config.fmin_hz))),
        hop_length=round(HOP_S * sr),
    )
    f0 = f0[voiced]
    if f0.size < 3:
        return float(np.mean(voiced)), np.inf
    semitones = 12.0 * np.log2(f0 / np.median(f0))
    return float(np.mean(voiced)), float(np.std(semitones))


def second_formant_hz(segment: np.ndarray, sr: int) -> float:
    """F2 (Hz) of a stable vowel from one LPC fit over the whole segment; NaN when not found.

    The candidate is spectrally stable by construction, so one fit on its averaged
    autocorrelation is enough (Markel & Gray's root solving; bandwidths from the pole radius).
    """
    audio = librosa.resample(segment.astype(np.float64), orig_sr=sr, target_sr=LPC_SR)
    if audio.size <= 2 * LPC_ORDER or not np.any(audio):
        return float("nan")
    emphasised = np.append(audio[0], audio[1:] - PRE_EMPHASIS * audio[:-1]) * np.hamming(audio.size)
    roots = np.roots(librosa.lpc(emphasised, order=LPC_ORDER))
    roots = roots[np.imag(roots) > 0]
    freqs = np.angle(roots) * LPC_SR / (2 * np.pi)
    bandwidths = -LPC_SR / np.pi * np.log(np.abs(roots))
    formants = np.sort(freqs[(freqs > FORMANT_MIN_HZ) & (bandwidths < FORMANT_MAX_BANDWIDTH_HZ)])
    return float(formants[1]) if formants.size >= 2 else float("nan")


def _is_nasal_after(
    end_frame: int, power: np.ndarray, freqs: np.ndarray, levels: np.ndarray, floor_db: float
) -> bool:
    """True when a voiced, low-frequency murmur follows the vowel ("um" rather than "uh")."""
    stop = min(len(levels), end_frame + round(NASAL_SEARCH_S / HOP_S))
    window = power[:, end_frame:stop]
    low_share = window[freqs < NASAL_CUTOFF_HZ].sum(axis=0) / np.maximum(window.sum(axis=0), 1e-30)
    nasal = (low_share >= NASAL_RATIO) & (levels[end_frame:stop] >= floor_db + VOICE_MARGIN_DB)
    return int(nasal.sum()) * HOP_S >= NASAL_MIN_S


def detect(
    samples: np.ndarray, sr: int, model, *, speech: Timeline, profile: AudioProfile, config
) -> list[tuple[float, float, str, float]]:
    """Filler events ``(start, end, label, confidence)`` inside ``speech``."""
    total_s = len(samples) / sr
    speech = speech.clip(0.0, total_s)
    if not len(speech):
        return []
    power, freqs = power_spectrogram(samples, sr, frame_s=FRAME_S, hop_s=HOP_S)
    levels = band_levels_db(power, freqs, SPEECH_BAND_HZ)
    floor = profile.noise_floor_band_db["speech"]
    in_speech = speech.to_mask(HOP_S, len(levels) * HOP_S)[: len(levels)]
    active_level = float(np.percentile(levels[in_speech], 95)) if in_speech.any() else floor
    change = spectral_change(power, sr, config.context_frames)
    stable = (change < config.max_change_db) & (levels >= floor + VOICE_MARGIN_DB)
    # the difference spans +-context frames: widen the runs back to the frames they describe
    widen = config.context_frames * HOP_S
    candidates = (
        Timeline.from_mask(stable, HOP_S)
        .merge_gaps(HOP_S * 3)
        .intersect(speech)
        .pad(widen, span=(0.0, total_s))
        .intersect(speech)
    )
    context = round(config.pause_context_s / HOP_S)
    events = []
    for start, end in candidates.array:
        # frames are centred on the run's edges, so the audio they describe is FRAME_S longer
        if not config.min_duration_s <= end - start + FRAME_S <= config.max_duration_s:
            continue
        first, last = round(start / HOP_S), round(end / HOP_S)
        mean_level = float(np.mean(levels[first:last]))
        if mean_level > active_level + config.max_level_re_active_db:
            continue
        before = levels[max(0, first - context) : first]
        after = levels[last : last + context]
        dips = [mean_level - side.min() for side in (before, after) if side.size]
        dip = max(dips, default=0.0)
        if dip < config.pause_dip_db:
            continue
        segment = samples[round(start * sr) : round(end * sr)]
        voiced_ratio, pitch_std = _pitch_stats(segment, sr, config)
        f2 = second_formant_hz(segment, sr)
        logger.debug(
            "filler candidate %.2f-%.2f s: level %+.1f dB re active, dip %.1f dB, voiced %.2f, "
            "pitch std %.2f st, F2 %.0f Hz", start, end, mean_level - active_level, dip,
            voiced_ratio, pitch_std, f2,
        )
        if voiced_ratio < config.min_voiced_ratio or pitch_std > config.max_pitch_std_st:
            continue
        if not f2 >= config.min_f2_hz:
            continue
        margins = [
            (voiced_ratio - config.min_voiced_ratio) / (1.0 - config.min_voiced_ratio + 1e-9),
            1.0 - pitch_std / config.max_pitch_std_st,
            1.0 - float(np.mean(change[first:last][np.isfinite(change[first:last])]))
            / config.max_change_db,
            dip / (2.0 * config.pause_dip_db),
        ]
        confidence = 0.5 + 0.5 * float(np.mean(np.clip(margins, 0.0, 1.0)))
        label = "um" if _is_nasal_after(last, power, freqs, levels, floor) else "uh"
        events.append((float(start), float(end), label, confidence))
    return events
