"""Silence detection on real speech (AMI ES2011a headset, lhotse cut: the two hand-labelled
utterances) joined by pauses of known length over generated room noise at -60, -45 and -35 dBFS.

The reference pause edges are where the clean speech stops being audible over the noise (its
10 ms level drops under the noise level): a word tail 30 dB down is not speech a listener hears
under -35 dBFS of noise. Pauses within 50 ms of ``min_silence_s`` are left out: they are ambiguous
at the 50 ms boundary tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

from clipmill.audio.profile import band_levels_db, compute_profile, power_spectrogram
from clipmill.audio.silence import detect_silences
from clipmill.audio.vad import detect_speech
from clipmill.timeline import Timeline

from audio_media import lhotse_speech, read_mono

SPEECH_RMS_DB = -20.0
PAUSES_S = (0.5, 0.2, 0.35, 0.45, 0.8, 1.5, 3.0, 0.5)  # lead-in, 6 inner pauses, tail
MIN_SILENCE_S = 0.3
PADDING_S = 0.1
TOLERANCE_S = 0.05


def scaled(samples: np.ndarray, rms_db: float) -> np.ndarray:
    return samples * (10 ** (rms_db / 20) / np.sqrt(np.mean(samples**2)))


def room_noise(n: int, level_db: float, rng: np.random.Generator) -> np.ndarray:
    """HVAC-like rumble (red noise) plus hiss, at ``level_db`` dBFS RMS."""
    white = rng.standard_normal(n)
    red = np.zeros(n)
    for i in range(1, n):
        red[i] = 0.97 * red[i - 1] + white[i]
    return scaled(red / red.std() + 0.3 * white, level_db)


def expected_edges(speech: Timeline, total_s: float) -> Timeline:
    """Gaps long enough to be reported (their edges are where intrusions may occur)."""
    return speech.complement(0.0, total_s).drop_shorter(MIN_SILENCE_S)


def audible(chunk: np.ndarray, sr: int, noise_db: float) -> tuple[float, float]:
    """First and last instants (s) where the clean chunk is louder than the noise."""
    power, freqs = power_spectrogram(chunk, sr, hop_s=0.01)
    loud = np.flatnonzero(band_levels_db(power, freqs) > noise_db)
    return loud[0] * 0.01, (loud[-1] + 1) * 0.01


@pytest.fixture(scope="module")
def utterances(shared_media):
    directory = shared_media / "audio_labelled" / "ami_lhotse"
    samples, sr = read_mono(directory / "ES2011a.Headset-0-40s-46s.wav")
    labelled = lhotse_speech(directory / "cuts.json")
    chunks = [
        scaled(samples[round(start * sr) : round(end * sr)], SPEECH_RMS_DB)
        for start, end in labelled.array
    ]
    return chunks, sr


@pytest.mark.parametrize("noise_db", [-60.0, -45.0, -35.0])
def test_pauses_found_with_accurate_edges(utterances, noise_db):
    chunks, sr = utterances
    parts, speech, pauses, t = [], [], [], 0.0
    for index, pause in enumerate(PAUSES_S):
        parts.append(np.zeros(round(pause * sr)))
        pauses.append((t, t + pause))
        t += pause
        if index < len(PAUSES_S) - 1:
            chunk = chunks[index % 2]
            first, last = audible(chunk, sr, noise_db)
            speech.append((t + first, t + last))
            parts.append(chunk)
            t += len(chunk) / sr
    clean = np.concatenate(parts)
    mixture = (clean + room_noise(len(clean), noise_db, np.random.default_rng(7))).astype("f4")
    total_s = len(mixture) / sr
    audible_speech = Timeline(speech)
    gaps = audible_speech.complement(0.0, total_s)

    profile = compute_profile(mixture, sr)
    vad = detect_speech(mixture, sr, profile=profile)
    result = detect_silences(
        mixture, sr, speech=vad, profile=profile, min_silence_s=MIN_SILENCE_S, padding_s=PADDING_S
    )
    print(f"\n[silence {noise_db:.0f} dBFS] threshold {result.threshold_db:.1f} dBFS, found "
          f"{[[round(s, 2), round(e, 2)] for s, e in result.timeline.array]}")

    intrusion = result.timeline.intersect(audible_speech)
    print(f"[silence {noise_db:.0f} dBFS] overlap with audible speech: {intrusion.to_list()}")
    # edges may sit inside the tolerance; nothing more of a silence may cover audible speech
    assert (intrusion.durations <= TOLERANCE_S).all(), "silence reported inside speech"
    assert intrusion.duration <= TOLERANCE_S * len(expected_edges(audible_speech, total_s))
    expected = gaps.drop_shorter(MIN_SILENCE_S).subtract(audible_speech.pad(PADDING_S))
    assert len(expected) == 5 + 2  # five inner pauses >= 0.35 s, lead-in and tail
    errors = []
    for want in expected:
        overlapping = result.timeline.clip(want.start, want.end)
        assert len(overlapping) == 1, f"pause {want} not found as one silence"
        (got,) = result.timeline.array[
            (result.timeline.array[:, 1] > want.start) & (result.timeline.array[:, 0] < want.end)
        ]
        errors += [abs(got[0] - want.start), abs(got[1] - want.end)]
    short = gaps.subtract(gaps.drop_shorter(MIN_SILENCE_S))
    assert not len(result.timeline.intersect(short)), "a pause < min_silence_s was reported"
    print(f"[silence {noise_db:.0f} dBFS] max boundary error {max(errors) * 1000:.0f} ms, "
          f"median {np.median(errors) * 1000:.0f} ms")
    assert max(errors) <= TOLERANCE_S
    assert len(result.levels_db) == len(result.timeline)
