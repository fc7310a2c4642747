"""Which speech-noise spans are a sound of their own: split at pauses, tails of louder sounds,
held pitch; and the ensemble's decoded sounds on real laughter and back-to-back fillers."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from clipmill.audio.filler_backends import acoustic, phonetic
from clipmill.audio.filler_backends.decoded_sounds import DecodedSound, continues_louder_sound, split_at_pauses
from clipmill.audio.filler_backends.ensemble import decoded_sounds, load
from clipmill.audio.fillers import FillerConfig
from clipmill.audio.profile import SPEECH_BAND_HZ, band_levels_db, shared_spectrogram
from clipmill.timeline import Timeline


def test_a_pause_inside_a_span_splits_it_and_a_waver_does_not():
    depth = 25.0
    levels = np.full(100, -30.0)
    levels[40:43] = -30.0 - depth - 5  # two sounds with a pause between them
    levels[70] = -30.0 - depth + 8  # a waver inside one vowel
    assert split_at_pauses(0, 100, levels, min_frames=15, depth_db=depth) == [(0, 40), (40, 100)]
    assert split_at_pauses(50, 100, levels, min_frames=15, depth_db=depth) == [(50, 100)]
    # a piece shorter than min_frames is no filler: no split that leaves one
    assert split_at_pauses(30, 100, levels, min_frames=15, depth_db=depth) == [(30, 100)]
    # no split at all (inf) and a shallower depth that takes the waver for a pause too
    assert split_at_pauses(0, 100, levels, min_frames=15, depth_db=float("inf")) == [(0, 100)]
    assert split_at_pauses(0, 100, levels, min_frames=15, depth_db=depth - 10) == [(0, 40), (40, 70), (70, 100)]


def test_a_span_beside_louder_sound_on_one_side_is_its_tail():
    levels = np.full(100, -60.0)
    levels[20:50] = -30.0  # a vowel ...
    levels[50:65] = -40.0  # ... fading into the span
    assert continues_louder_sound(50, 65, levels, context_frames=15)
    levels[45:50] = -65.0  # a pause before it: a sound of its own
    assert not continues_louder_sound(50, 65, levels, context_frames=15)
    # the file's start is no louder sound
    assert not continues_louder_sound(0, 10, np.full(30, -40.0), context_frames=15)


def test_held_pitch():
    assert DecodedSound(1.0, 1.4, 0.6).held(1.5)
    assert not DecodedSound(1.0, 1.4, 2.5).held(1.5)
    assert DecodedSound(1.0, 1.4, float("inf")).held(1.5)  # too few voiced frames: no evidence


def sounds(path):
    """The decoded sounds of a file with the committed model's pause depth."""
    samples, sr = sf.read(path, dtype="float32")
    power, freqs = shared_spectrogram(samples, sr, None, frame_s=acoustic.FRAME_S, hop_s=acoustic.HOP_S)
    model, decoder_settings = load(FillerConfig())
    spans = phonetic.speech_noise(samples, sr, decoder_settings, speech=Timeline([(0.0, len(samples) / sr)]),
                                  min_duration_s=FillerConfig().min_duration_s)
    return decoded_sounds(samples, sr, spans, levels=band_levels_db(power, freqs, SPEECH_BAND_HZ),
                          config=FillerConfig(), pause_depth_db=model.pause_depth_db)


def test_laughter_pitch_jumps_and_back_to_back_fillers_are_two(shared_media):
    model, _ = load(FillerConfig())
    laughter = [s for s in sounds(shared_media / "fillers/mfa_laughter.flac") if 1.0 < s.start < 2.5]
    assert laughter and not any(s.held(model.max_pitch_std_st) for s in laughter)
    # mfa_uhuh's last two "uh" (4.34-4.47, 4.52-5.26 s) are decoded as one span
    last = [(round(s.start, 2), round(s.end, 2)) for s in sounds(shared_media / "fillers/mfa_uhuh.flac")
            if s.start > 4.2]
    assert len(last) == 2 and 4.45 <= last[0][1] <= 4.55 and last[1][0] == last[0][1]
