"""Caption cues on the clip's timeline: a transcript re-timed through the edit plan and laid out in short lines.

Pure functions over the plan and the transcript (both on the segment's timeline, seconds from the
clip's start in the source). A span of source time lands where the plan plays it: cut pieces
vanish, sped-up pieces shrink by their speed, so a cue that straddles a cut pause closes up
with it. With timed words the cues are built from the words that survive (a removed filler takes
its word out of the caption); without them each cue keeps its whole text over whatever of its
span survives, and a cue longer than the layout allows is split with its time shared by length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from clipmill.captions.transcript import Transcript, Word
from clipmill.edit.edl import EditPlan

#: Cues shorter than this in the clip are what is left of a cue the cut removed: dropped.
MIN_CUE_S = 0.05
#: A pause this long between two words in the source (a turn, a new thought) closes the cue, even
#: when the cut shortened it.
PAUSE_BREAK_S = 0.6


@dataclass(frozen=True)
class CaptionLayout:
    """How much text one cue shows: characters per line, lines per cue, seconds per cue."""

    max_line_chars: int = 42
    max_lines: int = 2
    max_cue_s: float = 6.0


def layout_for(width: int, height: int) -> CaptionLayout:
    """Short lines for narrow frames: about 24 characters a line at 9:16, 32 at 1:1, 42 at 16:9."""
    aspect = width / height
    chars = min(42, max(16, round(32 * math.sqrt(aspect))))
    return CaptionLayout(max_line_chars=chars, max_lines=2, max_cue_s=6.0 if aspect >= 1 else 4.0)


@dataclass(frozen=True)
class CaptionCue:
    """A cue on the clip's timeline (seconds from its first frame); `words` timed there too, when known."""

    start: float
    end: float
    lines: tuple[str, ...]
    words: tuple[Word, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def map_span(plan: EditPlan, start: float, end: float) -> tuple[float, float] | None:
    """Where ``[start, end)`` of the segment plays in the clip: from its first kept instant to its
    last (cut pieces inside it closed up), or None when the plan keeps none of it."""
    elapsed, first, last = 0, None, None
    for segment in plan.segments:
        src_start, src_end = plan.source_span(segment)
        lo, hi = max(start, src_start), min(end, src_end)
        if hi > lo:
            played = plan.rate.seconds(elapsed)
            if first is None:
                first = played + (lo - src_start) / float(segment.speed)
            last = played + (hi - src_start) / float(segment.speed)
        elapsed += segment.output_frames
    return None if first is None else (first, last)


def kept_s(plan: EditPlan, start: float, end: float) -> float:
    """Source seconds of ``[start, end)`` that the plan keeps (at whatever speed)."""
    spans = (plan.source_span(segment) for segment in plan.segments)
    return sum(max(0.0, min(end, src_end) - max(start, src_start)) for src_start, src_end in spans)


def caption_cues(transcript: Transcript, plan: EditPlan, layout: CaptionLayout) -> tuple[CaptionCue, ...]:
    """The transcript's cues on the clip's timeline, sorted, non-overlapping, inside the clip."""
    cues = _from_words(transcript, plan, layout) if transcript.words_known else _from_cues(transcript, plan, layout)
    return tuple(cue for cue in cues if cue.end - cue.start >= MIN_CUE_S)


def _from_words(transcript: Transcript, plan: EditPlan, layout: CaptionLayout) -> list[CaptionCue]:
    """Kept words, re-timed, grouped greedily into cues of at most `layout`'s lines and seconds;
    a sentence end or a pause of `PAUSE_BREAK_S` in the source closes a cue. A word the plan keeps
    less than half of (a removed filler, up to a frame left at its edges) is dropped."""
    kept, paused = [], []
    previous_end = None
    for word in transcript.words:
        span = map_span(plan, word.start, word.end)
        if span is not None and kept_s(plan, word.start, word.end) >= (word.end - word.start) / 2:
            kept.append(Word(span[0], span[1], word.text, word.line))
            paused.append(previous_end is not None and word.start - previous_end >= PAUSE_BREAK_S)
        previous_end = word.end
    cues, group = [], []
    for word, after_pause in zip(kept, paused):
        if group and (
            after_pause
            or len(wrap([w.text for w in group + [word]], layout.max_line_chars)) > layout.max_lines
            or word.end - group[0].start > layout.max_cue_s
            or group[-1].text.endswith((".", "?", "!"))
        ):
            cues.append(_cue_of(group, layout))
            group = []
        group.append(word)
    if group:
        cues.append(_cue_of(group, layout))
    return cues


def _cue_of(words: list[Word], layout: CaptionLayout) -> CaptionCue:
    return CaptionCue(words[0].start, words[-1].end, tuple(wrap([w.text for w in words], layout.max_line_chars)),
                      tuple(words))


def _from_cues(transcript: Transcript, plan: EditPlan, layout: CaptionLayout) -> list[CaptionCue]:
    """Each cue over its kept span; one whose text needs more lines than allowed becomes several
    consecutive cues, the span shared in proportion to their characters."""
    out = []
    for cue in transcript.cues:
        span = map_span(plan, cue.start, cue.end)
        if span is None or not cue.text:
            continue
        lines = wrap(cue.text.split(), layout.max_line_chars)
        pages = [lines[i:i + layout.max_lines] for i in range(0, len(lines), layout.max_lines)]
        total = sum(len(" ".join(page)) for page in pages)
        start, done = span[0], 0
        for page in pages:
            done += len(" ".join(page))
            end = span[0] + (span[1] - span[0]) * done / total
            out.append(CaptionCue(start, end, tuple(page)))
            start = end
    return out


def wrap(words: list[str], max_chars: int) -> list[str]:
    """`words` in lines of at most `max_chars` characters (a longer word gets a line of its own),
    filled greedily and then balanced: the last line takes words from the one before while that
    makes the longer of the two shorter."""
    lines: list[list[str]] = []
    for word in words:
        if lines and len(" ".join(lines[-1] + [word])) <= max_chars:
            lines[-1].append(word)
        else:
            lines.append([word])
    if len(lines) >= 2:
        before, last = lines[-2], lines[-1]
        while len(before) > 1 and max(len(" ".join(before[:-1])), len(" ".join([before[-1]] + last))) < max(
            len(" ".join(before)), len(" ".join(last))
        ) and len(" ".join([before[-1]] + last)) <= max_chars:
            last.insert(0, before.pop())
    return [" ".join(line) for line in lines]
