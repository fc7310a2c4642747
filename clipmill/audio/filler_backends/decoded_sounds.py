"""Which of the phone decoder's speech-noise spans are a filler-like sound of their own.

pocketsphinx labels ``+SPN+`` on held "uh"/"um" but also on other sounds: a laughter burst
(breathy, its pitch jumping), the fading vowel of a word ("pause": the tail of the louder
"au"), and two fillers said with a short pause between them as one span. Pure functions over
the 10 ms speech-band levels (dB) of `clipmill.audio.profile.band_levels_db`:
`split_at_pauses` keeps back-to-back fillers apart at dips of the model's ``pause_depth_db``,
`continues_louder_sound` finds the tails and onsets of words, and `DecodedSound.held` compares a
span's pitch spread with the model's ``max_pitch_std_st`` (a held vowel keeps its pitch). Both
settings are chosen by ``scripts/train_filler_model.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

@dataclass(frozen=True)
class DecodedSound:
    """A speech-noise span kept as one sound and the spread of its pitch.

    Attributes
    ----------
    start, end
        Seconds.
    pitch_std_st
        Standard deviation of its voiced frames' pitch in semitones (`acoustic.pitch_stats`);
        inf when fewer than three frames are voiced (no evidence either way).
    """

    start: float
    end: float
    pitch_std_st: float

    def held(self, max_pitch_std_st: float) -> bool:
        """Whether its pitch stays within ``max_pitch_std_st`` (or was not measurable)."""
        return self.pitch_std_st <= max_pitch_std_st or np.isinf(self.pitch_std_st)


def split_at_pauses(first: int, stop: int, levels: np.ndarray, min_frames: int,
                    depth_db: float) -> list[tuple[int, int]]:
    """Frame ranges ``[a, b)`` of ``[first, stop)`` split at every dip of ``depth_db`` or more
    under the quieter of the peaks on its two sides (a pause between two sounds; inf: no split).

    The split frame is the deepest such dip among those that leave each piece at least
    ``min_frames``; the pieces are split again in turn.
    """
    inside = levels[first:stop]
    if len(inside) < 2 * min_frames:
        return [(first, stop)]
    rising, falling = np.maximum.accumulate(inside), np.maximum.accumulate(inside[::-1])[::-1]
    splits = np.arange(min_frames, len(inside) - min_frames + 1)
    depth = np.minimum(rising[splits - 1], falling[np.minimum(splits + 1, len(inside) - 1)]) - inside[splits]
    if depth.max() < depth_db:
        return [(first, stop)]
    split = first + int(splits[depth.argmax()])
    return (split_at_pauses(first, split, levels, min_frames, depth_db)
            + split_at_pauses(split, stop, levels, min_frames, depth_db))


def continues_louder_sound(first: int, stop: int, levels: np.ndarray, context_frames: int) -> bool:
    """Whether the level on one side of ``[first, stop)`` stays above the span's mean level for all
    ``context_frames``: the span is then the tail or onset of a louder sound (a word's vowel),
    not a sound of its own. A side that lies outside ``levels`` counts as a pause."""
    mean_level = float(np.mean(levels[first:stop]))
    before = levels[max(0, first - context_frames) : first]
    after = levels[stop : stop + context_frames]
    return any(side.size == context_frames and float(side.min()) > mean_level for side in (before, after))
