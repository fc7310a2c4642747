"""The shared spectrogram, pYIN, MFCC and silero shortcuts give what the straightforward paths give."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import librosa
import numpy as np
import pytest

from clipmill.audio.analysis import AudioSettings, analyze, silences_for
from clipmill.audio.pyin import (
    banded_viterbi,
    cumulative_mean_normalized_difference,
    frames_of,
    local_transition,
    parabolic_shifts,
    pyin,
    pyin_hmm,
    voicing_transition,
)
from clipmill.audio.fillers import detect_fillers
from clipmill.audio.mfcc import mel_filters, mfcc
from clipmill.audio.profile import compute_profile, power_spectrogram, shared_spectrogram, spectral_flatness
from clipmill.audio.vad import detect_speech
from clipmill.errors import InternalError

SR = 16000


def voice_like(total_s=4.0, seed=0):
    """Gliding harmonic tone in noise, with pauses: voiced and unvoiced frames, pitch changes."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(total_s * SR)) / SR
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8)) * 0.1
    gate = (np.sin(2 * np.pi * 0.5 * t) > -0.3).astype(float)
    return (voiced * gate + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pyin_matches_librosa(seed):
    x = voice_like(total_s=3.0, seed=seed)
    f0, voiced, _ = librosa.pyin(x, fmin=60.0, fmax=300.0, sr=SR, frame_length=1024, hop_length=160)
    ours_f0, ours_voiced = pyin(x, SR, fmin=60.0, fmax=300.0, frame_length=1024, hop_length=160)
    np.testing.assert_array_equal(ours_voiced, voiced)
    np.testing.assert_array_equal(ours_f0[ours_voiced], f0[voiced])
    assert voiced.any() and not voiced.all()


def test_yin_steps_match_librosa_to_the_bit():
    from librosa.core import pitch as librosa_pitch

    padded = np.pad(voice_like(total_s=1.0, seed=5), 512)
    frames = frames_of(padded, 1024, 160)
    np.testing.assert_array_equal(frames, librosa.util.frame(padded, frame_length=1024, hop_length=160))
    yin = cumulative_mean_normalized_difference(frames, 53, 267)
    np.testing.assert_array_equal(yin, librosa_pitch._cumulative_mean_normalized_difference(frames, 53, 267))
    noisy = np.random.default_rng(6).random((300, 400)).astype(np.float32)  # float32 frames, as pYIN's
    for values in (yin, noisy):
        np.testing.assert_array_equal(parabolic_shifts(values), librosa_pitch._parabolic_interpolation(values))


def test_mfcc_matches_librosa():
    rng = np.random.default_rng(4)
    power = (rng.random((257, 300)) ** 4).astype(np.float32)
    power[:, 100:130] = 0.0  # silent frames meet the dB floor
    power[:, 200] *= 1e6  # one loud frame sets top_db's floor for the others
    np.testing.assert_array_equal(mel_filters(SR, 512, 40), librosa.filters.mel(sr=SR, n_fft=512, n_mels=40))
    mel = librosa.feature.melspectrogram(S=power, sr=SR, n_mels=40)
    expected = librosa.feature.mfcc(S=librosa.power_to_db(mel + 1e-12), n_mfcc=13)
    np.testing.assert_array_equal(mfcc(power, SR, n_mels=40, n_mfcc=13), expected)


@pytest.mark.parametrize("n_states, width", [(279, 41), (40, 8), (5, 3)])
def test_pyin_transitions_match_librosa(n_states, width):
    np.testing.assert_array_equal(
        local_transition(n_states, width),
        librosa.sequence.transition_local(n_states, width, window="triangle", wrap=False),
    )
    np.testing.assert_array_equal(voicing_transition(0.99), librosa.sequence.transition_loop(2, 0.99))


def test_the_default_audio_stages_load_no_numba_librosa_core_or_scipy_stats():
    """Their imports (librosa.core loads numba's compiled functions) were most of a process's first
    filler call; ``import librosa`` alone is a lazy stub."""
    script = (
        "import sys, numpy as np\n"
        "from clipmill.audio.analysis import analyze\n"
        "t = np.arange(4 * 16000) / 16000\n"
        "x = (0.1 * np.sin(2 * np.pi * 140 * t) * (np.sin(2 * np.pi * 0.5 * t) > 0)).astype(np.float32)\n"
        "analyze(x, 16000)\n"
        "from clipmill.audio.filler_backends.acoustic import pitch_stats\n"
        "from clipmill.audio.fillers import FillerConfig\n"
        "pitch_stats(x[:8000], 16000, FillerConfig())\n"
        "print(sorted(m for m in ('numba', 'librosa.core', 'scipy.stats', 'scipy.signal') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_banded_viterbi_matches_dense_viterbi():
    predecessors, log_weights, log_outside, log_init = pyin_hmm(279, 41)
    local = librosa.sequence.transition_local(279, 41, window="triangle", wrap=False)
    transition = np.kron(librosa.sequence.transition_loop(2, 0.99), local)
    rng = np.random.default_rng(0)
    for _ in range(5):
        # sparse observations with an occasional certain, far pitch jump (an out-of-band move)
        prob = np.where(rng.random((558, 40)) < 0.02, rng.random((558, 40)), 0.0)
        prob[279:] = rng.random(40) * 0.01
        prob[:, 20] = 0.0
        prob[[10, 250], [20, 21]] = 1.0
        log_obs = np.log(prob + librosa.util.tiny(prob)).T
        dense = librosa.sequence.viterbi(prob, transition, p_init=np.exp(log_init))
        np.testing.assert_array_equal(
            banded_viterbi(log_obs, predecessors, log_weights, log_outside, log_init), dense
        )


def test_spectrogram_and_flatness_in_blocks_are_those_of_all_frames_at_once():
    import scipy.fft

    x = voice_like(total_s=2.0, seed=3)
    power, freqs = power_spectrogram(x, SR)
    n_fft, hop = 512, 160
    padded = np.pad(x, ((n_fft - hop) // 2, n_fft))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][: power.shape[1]]
    at_once = np.abs(scipy.fft.rfft(frames * np.hanning(n_fft + 2)[1:-1].astype(np.float32), axis=1).T) ** 2
    at_once[1:] *= 2.0
    at_once[-1] /= 2.0
    at_once /= n_fft * float(np.sum(np.hanning(n_fft + 2)[1:-1] ** 2))
    for block in (1, 7, 64, 10_000):
        blocked, _ = power_spectrogram(x, SR, block_frames=block)
        np.testing.assert_array_equal(blocked, at_once)
        clipped = np.maximum(power.astype(np.float64), 1e-10)
        np.testing.assert_array_equal(spectral_flatness(power, block_frames=block),
                                      np.exp(np.mean(np.log(clipped), axis=0)) / np.mean(clipped, axis=0))
    assert power.shape == (257, 200) and power.flags.f_contiguous  # laid out as the one transform was


def test_shared_spectrogram_is_checked():
    x = voice_like(total_s=1.0)
    power, freqs = power_spectrogram(x, SR)
    assert shared_spectrogram(x, SR, (power, freqs))[0] is power
    np.testing.assert_array_equal(shared_spectrogram(x, SR)[0], power)
    with pytest.raises(InternalError, match="does not match"):
        shared_spectrogram(x[:-800], SR, (power, freqs))
    with pytest.raises(InternalError, match="does not match"):
        compute_profile(x, SR, hop_s=0.02, spectrogram=(power, freqs))


@pytest.mark.parametrize("backend", ["energy", "webrtc"])
def test_analyze_equals_the_stages_run_on_their_own(backend):
    x = voice_like(total_s=6.0)
    settings = AudioSettings(vad_backend=backend)
    together = analyze(x, SR, settings=settings)
    profile = compute_profile(x, SR)
    speech = detect_speech(x, SR, backend=backend, profile=profile)
    silences = silences_for(x, SR, speech=speech, profile=profile, settings=settings)
    fillers = detect_fillers(x, SR, speech=speech, profile=profile)
    assert together.profile == profile
    assert together.speech == speech
    assert together.silences.timeline == silences.timeline
    np.testing.assert_array_equal(together.silences.levels_db, silences.levels_db)
    assert together.fillers.to_list() == fillers.to_list()


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="needs onnxruntime")
def test_silero_onnx_probabilities_match_its_wrapper():
    torch = pytest.importorskip("torch")
    from silero_vad import load_silero_vad

    from clipmill.audio.vad_backends.silero import _load, onnx_probabilities

    wrapper = load_silero_vad(onnx=True)  # the per-chunk model, one call per 32 ms chunk
    x = voice_like(total_s=3.3)
    expected = wrapper.audio_forward(torch.from_numpy(x)[None], SR)[0].numpy()
    np.testing.assert_array_equal(onnx_probabilities(_load(True), x), expected)
    # across the sequence model's blocks the LSTM state is carried on
    np.testing.assert_array_equal(onnx_probabilities(_load(True), x, block=7), expected)
