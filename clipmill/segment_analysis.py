"""Measuring a whole source for `clipmill.segment`: the audio path and the (optional) video path.

The audio path reuses the clip job's own stages (`clipmill.audio`: one shared spectrogram, the
VAD, the silence detector) and adds what choosing a clip needs: a speech-band level envelope,
syllable nuclei for a speaking rate, and the pitch on each side of every pause (a falling phrase
end, a likely change of speaker). The video path samples frames at a low rate for shot cuts and
faces. `SourceAnalysis` documents round-trip through JSON (`to_document` / `from_document`) so a
source is measured once and its analysis stored by content.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.fft
import scipy.signal

from clipmill.audio.profile import SPEECH_BAND_HZ, band_levels_db, check_samples, compute_profile, power_spectrogram
from clipmill.audio.silence import detect_silences
from clipmill.audio.vad import detect_speech
from clipmill.errors import InputError
from clipmill.segment import FaceSamples, SourceAnalysis
from clipmill.timeline import Timeline

__all__ = [
    "AnalysisSettings", "chunk_length", "from_document", "measure_audio", "measure_chunks", "measure_long_audio",
    "measure_video", "to_document",
]

SPECTROGRAM_HOP_S = 0.010
CHUNK_S = 600.0             # long sources are measured in chunks of this length
EDGE_S = 0.05               # a pause this close to an inner chunk edge was cut by it
PITCH_SR = 8000
PITCH_SPAN_S = 0.6          # speech measured on each side of a pause
PITCH_HZ = (70.0, 400.0)
SYLLABLE_PROMINENCE_DB = 4.0
QUIET_SPAN_DB = 3.0        # a pause's quiet stretch: frames this close to its quietest
CUT_DIFFERENCE = 0.15       # mean absolute grey-level change (0..1) between samples that makes a shot cut


@dataclass(frozen=True)
class AnalysisSettings:
    """What a whole-source analysis depends on; part of its storage key.

    The energy VAD is the default: over a whole library its analysis is ~2x faster than silero's, and on the
    joined talk and the real videos the clip edges lie in the same pauses with all three VADs (the
    silence detector's level check decides where a pause is quiet enough to cut)."""

    vad_backend: str = "energy"
    min_silence_s: float = 0.3
    padding_s: float = 0.1
    hop_s: float = 0.1
    video: bool = False
    frame_rate_hz: float = 1.0
    face_detector: str = "mediapipe"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def measure_audio(samples: np.ndarray, sr: int, *, settings: AnalysisSettings = AnalysisSettings()) -> SourceAnalysis:
    """Speech, pauses, level envelope, syllables and pause pitch of one mono signal (no video parts)."""
    samples = check_samples(samples, sr)
    duration = len(samples) / sr
    spectrogram = power_spectrogram(samples, sr, hop_s=SPECTROGRAM_HOP_S)
    profile = compute_profile(samples, sr, spectrogram=spectrogram)
    speech = detect_speech(samples, sr, backend=settings.vad_backend, profile=profile, spectrogram=spectrogram)
    silences = detect_silences(
        samples, sr, speech=speech, profile=profile, min_silence_s=settings.min_silence_s,
        padding_s=settings.padding_s, spectrogram=spectrogram,
    )
    power, freqs = spectrogram
    band = (freqs >= SPEECH_BAND_HZ[0]) & (freqs < SPEECH_BAND_HZ[1])
    fine_db = band_levels_db(power, freqs, SPEECH_BAND_HZ)
    pauses = silences.timeline
    cuts = _quiet_middles(fine_db, pauses)
    per_hop = max(1, round(settings.hop_s / SPECTROGRAM_HOP_S))
    band_power = power[band].sum(axis=0)
    usable = len(band_power) // per_hop * per_hop
    coarse = band_power[:usable].reshape(-1, per_hop).mean(axis=1)
    level_db = 10 * np.log10(np.maximum(coarse, 1e-12))
    syllables = _syllables(fine_db, speech, per_hop=per_hop, n_hops=len(level_db))
    before, after, fall = _pause_pitch(samples, sr, pauses, speech)
    return SourceAnalysis(
        duration_s=duration, speech=speech, pauses=pauses, pause_cut_s=cuts,
        pause_gap_s=_gaps(pauses, speech, duration),
        pitch_fall_st=fall, pitch_before_hz=before, pitch_after_hz=after, hop_s=per_hop * SPECTROGRAM_HOP_S,
        level_db=level_db, syllables=syllables,
    )


def chunk_length(sr: int, *, settings: AnalysisSettings = AnalysisSettings(), chunk_s: float = CHUNK_S) -> int:
    """Samples per chunk of `measure_long_audio`: about `chunk_s`, a whole number of level hops."""
    hop = int(round(settings.hop_s * sr))
    return max(1, int(round(chunk_s / settings.hop_s))) * hop


def measure_long_audio(
    samples: np.ndarray, sr: int, *, settings: AnalysisSettings = AnalysisSettings(), chunk_s: float = CHUNK_S
) -> SourceAnalysis:
    """`measure_chunks` of `samples` cut into chunks of about `chunk_s` (`chunk_length`)."""
    step = chunk_length(sr, settings=settings, chunk_s=chunk_s)
    return measure_chunks((samples[first:first + step] for first in range(0, len(samples), step)), sr, settings=settings)


def measure_chunks(chunks: Iterable[np.ndarray], sr: int, *, settings: AnalysisSettings = AnalysisSettings()) -> SourceAnalysis:
    """`measure_audio` over consecutive chunks of one signal (all but the last of one length, a whole
    number of level hops: `chunk_length`), joined: memory is bounded by one chunk's spectrogram, a
    streamed decode can run beside it (`clipmill.media.stream_audio`), and each chunk's thresholds
    adapt to its own noise floor (a long source's room, microphone or music bed changes). A pause
    that touches an inner chunk edge is dropped (the chunk saw only part of it); speech is joined
    across the edges."""
    parts: list[tuple[float, SourceAnalysis]] = []
    first_length, total = 0, 0
    for chunk in chunks:
        parts.append((total / sr, measure_audio(chunk, sr, settings=settings)))
        first_length = first_length or len(chunk)
        total += len(chunk)
    if not parts:
        raise InputError("the audio has no samples to measure")
    if len(parts) == 1:
        return parts[0][1]
    duration = total / sr
    kept = []
    for k, (offset, part) in enumerate(parts):
        starts, ends = part.pauses.array.T if len(part.pauses) else (np.zeros(0), np.zeros(0))
        keep = np.ones(len(starts), bool)
        if k > 0:
            keep &= starts > EDGE_S
        if k < len(parts) - 1:
            keep &= ends < part.duration_s - EDGE_S
        kept.append(keep)

    def joined(name: str, shift: bool = False) -> np.ndarray:
        return np.concatenate([np.asarray(getattr(part, name))[keep] + (offset if shift else 0)
                               for (offset, part), keep in zip(parts, kept)])

    speech = Timeline.from_list([span for offset, part in parts for span in part.speech.shift(offset).to_list()])
    pauses = Timeline(np.concatenate([part.pauses.shift(offset).array.reshape(-1, 2)[keep]
                                      for (offset, part), keep in zip(parts, kept)]))
    hops = first_length // int(round(settings.hop_s * sr))
    return SourceAnalysis(
        duration_s=duration, speech=speech, pauses=pauses, pause_cut_s=joined("pause_cut_s", shift=True),
        pause_gap_s=_gaps(pauses, speech, duration), pitch_fall_st=joined("pitch_fall_st"),
        pitch_before_hz=joined("pitch_before_hz"), pitch_after_hz=joined("pitch_after_hz"),
        hop_s=parts[0][1].hop_s, level_db=np.concatenate([part.level_db[:hops] for _, part in parts]),
        syllables=np.concatenate([part.syllables[:hops] for _, part in parts]),
    )


def measure_video(
    path: Path, *, duration_s: float, size: tuple[int, int], settings: AnalysisSettings, ffmpeg: str = "ffmpeg",
) -> tuple[np.ndarray, FaceSamples]:
    """Shot cuts and faces, from frames sampled at ``2 × frame_rate_hz``.

    A cut is a jump in grey level between two consecutive samples, placed half-way between them: to
    within a sample period, which is all a clip edge in a pause needs (`clipmill.segment` counts a
    cut within ``CUT_TOLERANCE_S`` of a pause as the pause's). Faces are detected on every second
    sample, so at ``frame_rate_hz``. One decode of the video, nothing written to disk.
    """
    from clipmill.media import iter_frame_chunks

    rate = 2 * settings.frame_rate_hz
    detector = _face_detector(settings)
    times: list[np.ndarray] = []
    greys: list[np.ndarray] = []
    counts: list[int] = []
    dominant: list[bool] = []
    face_times: list[float] = []
    try:
        for chunk in iter_frame_chunks(path, fps=rate, size=size, duration_s=duration_s, ffmpeg=ffmpeg, chunk_frames=32):
            times.append(chunk.times_s)
            greys.append(chunk.frames[:, ::4, ::4].mean(axis=-1).astype(np.float32) / 255.0)
            picked = np.flatnonzero(np.round(chunk.times_s * rate).astype(int) % 2 == 0)
            for t, found in zip(chunk.times_s[picked], detector.detect(np.ascontiguousarray(chunk.frames[picked]))):
                face_times.append(float(t))
                counts.append(len(found))
                dominant.append(_one_dominant(found.xyxy))
    finally:
        getattr(detector, "close", lambda: None)()
    if not times:
        return np.zeros(0), FaceSamples(np.zeros(0), np.zeros(0, int), np.zeros(0, bool))
    sample_times = np.concatenate(times)
    grey = np.concatenate(greys)
    change = np.abs(np.diff(grey, axis=0)).mean(axis=(1, 2)) if len(grey) > 1 else np.zeros(0)
    cuts = (sample_times[:-1] + sample_times[1:])[change > CUT_DIFFERENCE] / 2
    return cuts, FaceSamples(np.asarray(face_times), np.asarray(counts, int), np.asarray(dominant, bool))


def to_document(analysis: SourceAnalysis) -> dict[str, Any]:
    """A JSON-ready dict of `analysis` (times rounded to the millisecond, levels to 0.1 dB)."""
    def floats(values: np.ndarray, digits: int = 3) -> list[float | None]:
        return [None if not np.isfinite(v) else round(float(v), digits) for v in np.asarray(values, float)]

    document: dict[str, Any] = {
        "duration_s": round(analysis.duration_s, 6),
        "speech": analysis.speech.to_list(),
        "pauses": analysis.pauses.to_list(),
        "pause_cut_s": floats(analysis.pause_cut_s),
        "pause_gap_s": floats(analysis.pause_gap_s),
        "pitch_fall_st": floats(analysis.pitch_fall_st, 2),
        "pitch_before_hz": floats(analysis.pitch_before_hz, 1),
        "pitch_after_hz": floats(analysis.pitch_after_hz, 1),
        "hop_s": analysis.hop_s,
        "level_db": floats(analysis.level_db, 1),
        "syllables": [int(v) for v in analysis.syllables],
        "cuts_s": floats(analysis.cuts_s),
        "faces": None,
        "words": None if analysis.words is None else np.asarray(analysis.words, float).round(3).tolist(),
    }
    if analysis.faces is not None:
        document["faces"] = {
            "times_s": floats(analysis.faces.times_s), "counts": [int(c) for c in analysis.faces.counts],
            "dominant": [bool(d) for d in analysis.faces.dominant],
        }
    return document


def from_document(document: dict[str, Any]) -> SourceAnalysis:
    """The `SourceAnalysis` a `to_document` dict describes."""
    def array(name: str) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in document[name]], float)

    faces = document.get("faces")
    return SourceAnalysis(
        duration_s=float(document["duration_s"]), speech=Timeline.from_list(document["speech"]),
        pauses=Timeline.from_list(document["pauses"]), pause_cut_s=array("pause_cut_s"), pause_gap_s=array("pause_gap_s"),
        pitch_fall_st=array("pitch_fall_st"), pitch_before_hz=array("pitch_before_hz"),
        pitch_after_hz=array("pitch_after_hz"), hop_s=float(document["hop_s"]), level_db=array("level_db"),
        syllables=np.asarray(document["syllables"], int), cuts_s=array("cuts_s"),
        faces=None if faces is None else FaceSamples(
            np.asarray(faces["times_s"], float), np.asarray(faces["counts"], int), np.asarray(faces["dominant"], bool)),
        words=None if document.get("words") is None else np.asarray(document["words"], float).reshape(-1, 2),
    )


def _quiet_middles(fine_db: np.ndarray, pauses: Timeline) -> np.ndarray:
    """Per pause, the middle of its longest quiet stretch: the 10 ms frames whose level (smoothed
    over five frames) stays within `QUIET_SPAN_DB` of the pause's quietest; the stretch nearest the
    pause's middle on a tie. A gap between words is a long flat stretch near the floor; a quiet word
    the VAD missed, let through as part of a pause, dips there only briefly between its syllables,
    and its dip was where the quietest single frame often lay."""
    smooth = np.convolve(fine_db, np.ones(5) / 5, mode="same")
    cuts = []
    for start, end in pauses.array:
        first, last = int(np.ceil(start / SPECTROGRAM_HOP_S)), int(np.floor(end / SPECTROGRAM_HOP_S))
        if last <= first:
            cuts.append((start + end) / 2)
            continue
        levels = smooth[first:last]
        quiet = np.concatenate([[False], levels <= levels.min() + QUIET_SPAN_DB, [False]])
        edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
        run_starts, run_ends = edges[::2], edges[1::2]
        middle = (last - first) / 2
        best = max(range(len(run_starts)), key=lambda k: (
            run_ends[k] - run_starts[k], -abs((run_starts[k] + run_ends[k]) / 2 - middle)))
        centre = first + (run_starts[best] + run_ends[best]) / 2
        cuts.append(min(max(centre * SPECTROGRAM_HOP_S, start), end))
    return np.asarray(cuts, float)


def _gaps(pauses: Timeline, speech: Timeline, duration_s: float) -> np.ndarray:
    """Per pause, the length of the gap in the speech that holds it."""
    gaps = speech.complement(0.0, duration_s).array
    if not len(pauses) or not len(gaps):
        return np.zeros(len(pauses))
    middles = pauses.array.mean(axis=1)
    k = np.clip(np.searchsorted(gaps[:, 0], middles, side="right") - 1, 0, len(gaps) - 1)
    return gaps[k, 1] - gaps[k, 0]


def _syllables(fine_db: np.ndarray, speech: Timeline, *, per_hop: int, n_hops: int) -> np.ndarray:
    """Syllable nuclei per hop: prominent peaks of the smoothed speech-band level inside speech."""
    smooth = np.convolve(fine_db, np.ones(5) / 5, mode="same")
    peaks, _ = scipy.signal.find_peaks(smooth, prominence=SYLLABLE_PROMINENCE_DB, distance=10)
    peaks = peaks[speech.contains((peaks + 0.5) * SPECTROGRAM_HOP_S)] if len(peaks) else peaks
    return np.bincount(np.minimum(peaks // per_hop, max(n_hops - 1, 0)), minlength=n_hops)[:n_hops]


def _pause_pitch(samples: np.ndarray, sr: int, pauses: Timeline, speech: Timeline) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median pitch of the speech just before and just after each pause, and the fall into it.

    The fall is the median pitch of the last third of the span before the pause minus that of the
    rest, in semitones. Pitch is the autocorrelation peak of 40 ms frames at 8 kHz, kept where the
    peak is clear (voiced).
    """
    n = len(pauses)
    before, after, fall = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    if not n:
        return before, after, fall
    span = int(PITCH_SPAN_S * sr)

    def at_pitch_rate(piece: np.ndarray) -> np.ndarray:
        if sr == PITCH_SR or not len(piece):
            return piece
        return scipy.signal.resample_poly(piece, PITCH_SR, sr, window=_pitch_filter(sr).astype(piece.dtype))

    for k, (start, end) in enumerate(pauses.array):
        head, tail = int(round(start * sr)), int(round(end * sr))
        left = _pitch_track(at_pitch_rate(samples[max(0, head - span):head]))
        right = _pitch_track(at_pitch_rate(samples[tail:tail + span]))
        if np.isfinite(left).sum() >= 3:
            before[k] = np.nanmedian(left)
            third = len(left) * 2 // 3
            last, rest = left[third:], left[:third]
            if np.isfinite(last).any() and np.isfinite(rest).any():
                fall[k] = 12 * np.log2(np.nanmedian(last) / np.nanmedian(rest))
        if np.isfinite(right).sum() >= 3:
            after[k] = np.nanmedian(right)
    return before, after, fall


@functools.cache
def _pitch_filter(sr: int) -> np.ndarray:
    """The low-pass FIR `scipy.signal.resample_poly` designs for `sr` -> `PITCH_SR` by default (Kaiser,
    beta 5), designed once instead of for each side of every pause (half the pitch pass's time)."""
    max_rate = max(PITCH_SR, sr) // math.gcd(PITCH_SR, sr)
    return scipy.signal.firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))


def _pitch_track(signal: np.ndarray, frame: int = 320, hop: int = 160) -> np.ndarray:
    """Pitch (Hz) per frame of an 8 kHz signal, NaN where the frame is not clearly voiced."""
    if len(signal) < frame:
        return np.zeros(0)
    frames = np.lib.stride_tricks.sliding_window_view(signal, frame)[::hop].astype(np.float64)
    frames = frames - frames.mean(axis=1, keepdims=True)
    spectrum = scipy.fft.rfft(frames * np.hanning(frame), n=2 * frame)
    correlation = scipy.fft.irfft(np.abs(spectrum) ** 2)[:, :frame]
    energy = correlation[:, :1]
    low, high = int(PITCH_SR / PITCH_HZ[1]), int(PITCH_SR / PITCH_HZ[0])
    window = correlation[:, low:high] / np.maximum(energy, 1e-12)
    lag = np.clip(np.argmax(window, axis=1), 1, window.shape[1] - 2)
    rows = np.arange(len(window))
    strength = window[rows, lag]
    peak = (strength > window[rows, lag - 1]) & (strength >= window[rows, lag + 1])
    loud = 10 * np.log10(np.maximum(energy[:, 0] / frame, 1e-12)) > 10 * np.log10(np.maximum(np.median(energy) / frame, 1e-12)) - 10
    return np.where((strength > 0.45) & peak & loud, PITCH_SR / (lag + low), np.nan)


def _one_dominant(xyxy: np.ndarray) -> bool:
    """One face, or a largest face at least twice the area of the next."""
    if len(xyxy) == 0:
        return False
    areas = np.sort((xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1]))[::-1]
    return len(areas) == 1 or areas[0] >= 2 * areas[1]


def _face_detector(settings: AnalysisSettings) -> Any:
    from clipmill.vision.detectors import DetectorConfig, load_detector

    return load_detector(DetectorConfig(settings.face_detector, max_side=640))
