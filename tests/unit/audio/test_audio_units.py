"""Audio stages on synthetic arrays: exact expectations and error contracts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from clipmill.artifacts.stages import ProfileDocument
from clipmill.audio.analysis import AudioAnalysis
from clipmill.audio.fillers import detect_fillers
from clipmill.audio.plot import pause_reasons, plot_timeline
from clipmill.audio.profile import compute_profile
from clipmill.audio.silence import detect_silences
from clipmill.audio.vad import (
    VadConfig,
    acoustic_activity,
    aperiodicity,
    detect_speech,
    hysteresis,
    load_vad,
    speech_probabilities,
)
from clipmill.errors import InputError, InternalError, ModelUnavailable
from clipmill.events import LabelledEvents
from clipmill.timeline import Timeline

SR = 16000


def tone_bursts(bursts, total_s=3.0, noise_db=-70.0, seed=0):
    """Noise at ``noise_db`` RMS with 1 kHz tones at -20 dBFS RMS over ``bursts``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(total_s * SR)) * 10 ** (noise_db / 20)
    t = np.arange(len(x)) / SR
    for start, end in bursts:
        inside = (t >= start) & (t < end)
        x[inside] += np.sqrt(2) * 0.1 * np.sin(2 * np.pi * 1000 * t[inside])
    return x.astype(np.float32)


def test_profile_levels_of_known_signals():
    x = tone_bursts([(1.0, 2.0)])
    profile = compute_profile(x, SR)
    assert profile.noise_floor_db == pytest.approx(-70.0, abs=1.5)
    assert profile.speech_level_db == pytest.approx(-20.0, abs=0.5)
    assert profile.snr_db == pytest.approx(50.0, abs=2.0)
    assert profile.clipping_ratio == 0.0
    assert profile.duration_s == 3.0
    clipped = np.clip(tone_bursts([(0, 3)]) * 20, -1, 1)
    assert compute_profile(clipped, SR).clipping_ratio > 0.1
    assert set(profile.to_dict()["noise_floor_band_db"]) == {"low", "speech", "high"}


def test_a_stored_profile_keeps_the_segment_length_to_the_sample():
    """The speech document's length comes from the stored profile; every silence ends at the samples'
    end, so the two must agree (a 28.275 s range stored as 28.27 s broke the timelines contract)."""
    x = tone_bursts([(1.0, 2.0)], total_s=28.275)
    stored = ProfileDocument.of(compute_profile(x, SR)).profile()
    assert stored.duration_s == round(len(x) / SR, 6) == 28.275


@pytest.mark.parametrize(("bad", "error"), [
    (np.zeros((2, 100), np.float32), InternalError), (np.zeros(0, np.float32), InputError),
    (np.array([np.nan], np.float32), InputError), (np.zeros(10, np.int16), InternalError),
])
def test_profile_rejects_bad_samples(bad, error):
    """Empty or non-finite audio is what a damaged file decodes to; stereo or integer samples are a caller's bug."""
    with pytest.raises(error):
        compute_profile(bad, SR)


def test_hysteresis():
    scores = np.array([0.1, 0.6, 0.4, 0.4, 0.2, 0.45, 0.7, 0.3])
    assert hysteresis(scores, 0.5, 0.35).tolist() == [0, 1, 1, 1, 0, 0, 1, 0]


@pytest.mark.parametrize("backend", ["energy", "webrtc"])
def test_vad_finds_bursts_to_within_50_ms(backend):
    x = tone_bursts([(0.5, 1.2), (2.0, 2.6)])
    speech = detect_speech(x, SR, backend=backend)
    assert len(speech) == 2
    assert np.abs(speech.array - [[0.5, 1.2], [2.0, 2.6]]).max() <= 0.05


def test_vad_errors():
    x = tone_bursts([(0.5, 1.0)])
    with pytest.raises(InputError, match="silero, webrtc, energy, pyannote"):
        detect_speech(x, SR, backend="nope")
    with pytest.raises(InternalError, match="8000 Hz"):
        detect_speech(x, SR, backend="energy", profile=compute_profile(x[::2], 8000))
    with pytest.raises(InputError):
        VadConfig(min_speech_s=-1)


def test_pyannote_unavailable_names_the_setting(monkeypatch, tmp_path):
    monkeypatch.delenv("CLIPMILL_PYANNOTE_MODEL", raising=False)
    with pytest.raises(ModelUnavailable, match="CLIPMILL_PYANNOTE_MODEL"):
        load_vad("pyannote")
    missing = tmp_path / "segmentation.bin"
    with pytest.raises(ModelUnavailable, match=str(missing)):
        load_vad("pyannote", VadConfig(pyannote_model_path=str(missing)))
    missing.write_bytes(b"")
    monkeypatch.setenv("CLIPMILL_PYANNOTE_MODEL", str(missing))
    with pytest.raises(ModelUnavailable, match="pyannote.audio"):
        load_vad("pyannote")


def test_silences_respect_min_length_padding_and_threshold():
    bursts = [(0.5, 1.0), (1.2, 1.8), (2.5, 2.9)]
    x = tone_bursts(bursts)
    profile = compute_profile(x, SR)
    speech = Timeline(bursts)
    result = detect_silences(x, SR, speech=speech, profile=profile, min_silence_s=0.3,
                             padding_s=0.1)
    # 0.2 s gap and 0.1 s tail skipped; lead-in and 0.7 s gap shrunk by the padding near speech
    assert np.allclose(result.timeline.array, [[0.0, 0.4], [1.9, 2.4]], atol=0.011)
    assert result.levels_db.max() < -60
    fixed = detect_silences(x, SR, speech=Timeline(), profile=profile, adaptive_threshold=False,
                            threshold_db=-35.0)
    assert fixed.threshold_db == -35.0
    # no speech given: every quiet run >= 0.3 s, none inside the tones, padding kept next to them
    assert np.allclose(fixed.timeline.array, [[0.0, 0.4], [1.9, 2.4]], atol=0.011)
    with pytest.raises(InputError, match="min_silence_s"):
        detect_silences(x, SR, speech=speech, profile=profile, min_silence_s=-0.1)


def test_analysis_reports_the_speech_the_editor_keeps():
    """Gaps under min_silence_s bridged, then padding_s each side: touching the silences, never in them."""
    bursts = [(0.5, 1.0), (1.2, 1.8), (2.5, 2.9)]
    x = tone_bursts(bursts)
    profile = compute_profile(x, SR)
    speech = Timeline(bursts)
    silences = detect_silences(x, SR, speech=speech, profile=profile, min_silence_s=0.3, padding_s=0.1)
    analysis = AudioAnalysis(profile=profile, speech=speech, silences=silences, fillers=LabelledEvents(),
                             duration_s=3.0, padding_s=0.1)
    assert np.allclose(analysis.edited_speech().array, [[0.4, 1.9], [2.4, 3.0]], atol=0.011)
    assert np.allclose(analysis.to_json(offset_s=10.0)["speech"], [[10.4, 11.9], [12.4, 13.0]], atol=0.011)
    assert analysis.edited_speech().intersect(silences.timeline).duration < 0.011


def test_a_pause_kept_for_its_sound_is_part_of_the_edited_speech():
    """A loud sound the VAD does not call speech (a breath, a murmur) keeps the pause it sits in:
    the editor keeps that stretch, so the speech it reports runs through it; the lead-in and the
    tail it cuts stay outside."""
    x = tone_bursts([(0.5, 1.0), (1.2, 1.75), (2.0, 2.5)])
    profile = compute_profile(x, SR)
    speech = Timeline([(0.5, 1.0), (2.0, 2.5)])
    silences = detect_silences(x, SR, speech=speech, profile=profile, min_silence_s=0.3, padding_s=0.1)
    assert np.allclose(silences.timeline.array, [[0.0, 0.4], [2.6, 3.0]], atol=0.011)
    analysis = AudioAnalysis(profile=profile, speech=speech, silences=silences, fillers=LabelledEvents(),
                             duration_s=3.0, padding_s=0.1)
    assert np.allclose(analysis.edited_speech().array, [[0.4, 2.6]], atol=0.011)


def test_filler_result_and_errors(monkeypatch):
    result = LabelledEvents.exclusive([(1.0, 1.4, "uh", 0.9), (1.2, 1.5, "um", 0.6),
                                       (0.2, 0.5, "um", 0.7)])
    assert result.to_list() == [
        {"start": 0.2, "end": 0.5, "label": "um", "confidence": 0.7},
        {"start": 1.0, "end": 1.4, "label": "uh", "confidence": 0.9},
    ]
    x = tone_bursts([(0.5, 1.0)])
    profile = compute_profile(x, SR)
    with pytest.raises(InputError, match="acoustic, transcription"):
        detect_fillers(x, SR, speech=Timeline(), profile=profile, backend="nope")
    monkeypatch.delenv("CLIPMILL_WHISPER_MODEL", raising=False)
    with pytest.raises(ModelUnavailable, match="CLIPMILL_WHISPER_MODEL"):
        detect_fillers(x, SR, speech=Timeline(), profile=profile, backend="transcription")
    assert detect_fillers(x, SR, speech=Timeline(), profile=profile).to_list() == []


def test_pause_reasons_say_why_each_pause_was_or_was_not_cut():
    x = tone_bursts([(0.5, 1.0), (1.6, 2.0), (2.5, 2.9)], total_s=3.5)
    profile = compute_profile(x, SR)
    speech = Timeline([(0.5, 1.0), (1.0, 2.0), (2.5, 2.9)])  # the VAD spans the quiet 1.0-1.6
    result = detect_silences(x, SR, speech=speech, profile=profile, min_silence_s=0.3, padding_s=0.1)
    reasons = [(round(a, 2), round(b, 2), why) for a, b, why in
               pause_reasons(speech, result.timeline, result.trace, min_silence_s=0.3)]
    assert [why for *_, why in reasons] == ["cut", "kept: VAD says speech", "cut", "cut"]
    probabilities = np.where((np.arange(110) * 0.032 >= 1.0) & (np.arange(110) * 0.032 < 1.6), 0.4, 0.9)
    with_vad = pause_reasons(speech, result.timeline, result.trace, min_silence_s=0.3,
                             vad_probabilities=(probabilities, 0.032))
    assert with_vad[1][2] == "kept: VAD p 0.40"
    assert reasons[1][:2] == pytest.approx((1.0, 1.6), abs=0.02)
    figure = plot_timeline(x, SR, speech=speech, silences=result, fillers=Timeline(), profile=profile)
    assert [t.get_text() for t in figure.axes[1].texts] == [why for *_, why in reasons]


def test_pause_reasons_say_how_loud_the_sound_that_kept_part_of_a_pause_was():
    x = tone_bursts([(0.5, 1.0), (2.5, 2.9)], total_s=3.5)
    t = np.arange(len(x)) / SR
    inside = (t >= 1.8) & (t < 2.1)  # a sound at -40 dBFS in the pause, not speech
    x[inside] += 0.01 * np.sin(2 * np.pi * 1000 * t[inside])
    speech = Timeline([(0.5, 1.0), (2.5, 2.9)])
    result = detect_silences(x, SR, speech=speech, profile=compute_profile(x, SR), min_silence_s=0.3, padding_s=0.1)
    reasons = [why for *_, why in pause_reasons(speech, result.timeline, result.trace, min_silence_s=0.3)]
    assert reasons == ["cut", "cut 0.8 s, kept 0.3 s: +12 dB", "cut"]


def test_touching_fillers_stay_two_events():
    result = LabelledEvents.exclusive([(1.2, 1.4, "uh", 0.8), (1.0, 1.2, "um", 0.9)])
    assert [(e["start"], e["end"], e["label"]) for e in result.to_list()] == [(1.0, 1.2, "um"), (1.2, 1.4, "uh")]
    assert result.timeline.to_list() == [[1.0, 1.4]]


def test_aperiodicity_separates_voice_from_low_pass_noise():
    t = np.arange(SR) / SR
    voiced = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 6)).astype(np.float32)
    rng = np.random.default_rng(0)
    rumble = np.cumsum(rng.standard_normal(SR)).astype(np.float32)
    rumble = (rumble - np.convolve(rumble, np.ones(64) / 64, mode="same")) * 0.01
    assert np.median(aperiodicity(voiced, SR)[5:-5]) < 0.05
    assert np.median(aperiodicity(rumble, SR)[5:-5]) > 0.5


def test_acoustic_activity_keeps_voiced_low_band_tails_only():
    """A 150 Hz voiced murmur (energy under 300 Hz) counts; the same level of rumble does not."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(3 * SR).astype(np.float32) * 10 ** (-70 / 20)
    t = np.arange(SR // 2) / SR
    x[SR : SR + SR // 2] += 0.05 * np.sin(2 * np.pi * 150 * t)
    low = sosfilt(butter(8, 120, fs=SR, output="sos"), rng.standard_normal(SR // 2))
    x[2 * SR : 2 * SR + SR // 2] += (0.02 * low / low.std()).astype(np.float32)
    active = Timeline.from_mask(acoustic_activity(x, SR), 0.01)
    assert active.clip(0.9, 1.6).duration == pytest.approx(0.5, abs=0.03)
    assert active.clip(1.9, 2.6).duration < 0.05


def test_plot_timeline_draws_every_decision():
    x = tone_bursts([(0.5, 1.2), (2.0, 2.6)])
    profile = compute_profile(x, SR)
    fillers = LabelledEvents.exclusive([(0.6, 0.9, "uh", 0.8)])
    figure = plot_timeline(x, SR, speech=Timeline([(0.5, 1.2), (2.0, 2.6)]),
                           silences=Timeline([(1.3, 1.9)]), fillers=fillers,
                           threshold_db=-55.0, profile=profile)
    wave, level, spec = figure.axes
    spans = [patch for patch in wave.patches if patch.get_x() is not None]
    assert len(spans) == 4  # two speech, one silence, one filler
    assert [line.get_ydata()[0] for line in level.lines[1:]] == [
        -55.0, pytest.approx(profile.noise_floor_db)]
    assert [text.get_text() for text in spec.texts] == ["uh"]
    assert wave.get_xlim() == (0.0, 3.0)


def test_plot_timeline_shows_the_vad_probabilities_and_thresholds():
    x = tone_bursts([(0.5, 1.2), (2.0, 2.6)])
    assert speech_probabilities(x, SR, backend="energy") is None
    probabilities, hop_s = speech_probabilities(x, SR, backend="silero")
    assert hop_s == 0.032 and len(probabilities) == -(-len(x) // 512)
    figure = plot_timeline(x, SR, speech=Timeline([(0.5, 1.2), (2.0, 2.6)]), silences=Timeline(),
                           fillers=Timeline(), vad_probabilities=(probabilities, hop_s), vad_thresholds=(0.2, 0.15))
    wave, level, vad, spec = figure.axes
    step, enter, leave = vad.lines
    assert np.array_equal(step.get_ydata(), probabilities)
    assert (enter.get_ydata()[0], leave.get_ydata()[0]) == (0.2, 0.15)
    assert vad.get_ylabel() == "VAD"
