"""A transcript on the source's timeline: cues of text, and the words inside them when their times are known.

Pure values and checks: the parsers (`clipmill.captions.parse`) build a `Transcript`, `check_fits`
refuses one that cannot belong to the source, and the edit reads its words (never cut into) and
its filler words (cut with ``remove_fillers``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from clipmill.audio.fillers import FILLER_WORDS
from clipmill.errors import InputError
from clipmill.events import LabelledEvent, LabelledEvents
from clipmill.timeline import Timeline

#: A cue may end this far past the source's end (recognisers and editors round the last cue up);
#: one ending later belongs to another, longer recording.
END_SLACK_S = 0.5
#: Cues (or words) may overlap their neighbour by this much, the rounding of hand-made files;
#: the earlier one is shortened. More is garbage (two transcripts merged, shifted times).
OVERLAP_SLACK_S = 0.1



@dataclass(frozen=True)
class Word:
    """A word and its time in source seconds; `line` is where the transcript gives it (for messages)."""

    start: float
    end: float
    text: str
    line: int = 0

    @property
    def filler(self) -> str | None:
        """The filler label ("um", "uh", ...) when the word is one, else None."""
        return FILLER_WORDS.get(re.sub(r"[^a-z]", "", self.text.lower()))


@dataclass(frozen=True)
class Cue:
    """A caption cue in source seconds: its text, and its words when the transcript times them."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class Transcript:
    """Cues sorted by start; `words_known` when every cue's words carry their own times."""

    cues: tuple[Cue, ...]
    format: str
    words_known: bool = False

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(word for cue in self.cues for word in cue.words)

    def spoken(self, *, without_fillers: bool) -> Timeline:
        """The timed words (optionally without the fillers): what a cut must never enter."""
        return Timeline([(w.start, w.end) for w in self.words if not (without_fillers and w.filler)])

    def fillers(self) -> LabelledEvents:
        """The timed filler words (those that last), each an event labelled with its filler ("um", "uh", ...)."""
        return LabelledEvents(LabelledEvent(w.start, w.end, w.filler) for w in self.words if w.filler and w.end > w.start)

    def clipped(self, start_s: float, end_s: float) -> Transcript:
        """The cues and words overlapping ``[start_s, end_s)`` of the source, on that range's own timeline."""
        cues = []
        for cue in self.cues:
            if cue.end <= start_s or cue.start >= end_s:
                continue
            words = tuple(
                Word(max(w.start, start_s) - start_s, min(w.end, end_s) - start_s, w.text, w.line)
                for w in cue.words if w.end > start_s and w.start < end_s
            )
            if self.words_known and not words:
                continue
            cues.append(Cue(max(cue.start, start_s) - start_s, min(cue.end, end_s) - start_s,
                            " ".join(w.text for w in words) if self.words_known else cue.text, words, cue.line))
        return Transcript(cues=tuple(cues), format=self.format, words_known=self.words_known)


def check_fits(transcript: Transcript, *, name: str, duration_s: float) -> Transcript:
    """`transcript` when it can belong to a source of `duration_s`: times finite and ordered, nothing
    past the end (beyond `END_SLACK_S`), no cue or word overlapping the previous one by more than
    `OVERLAP_SLACK_S` (smaller overlaps are trimmed). Otherwise an `InputError` naming the line."""
    cues = []
    for cue in transcript.cues:
        _check_span(cue.start, cue.end, name=name, line=cue.line, what="cue", duration_s=duration_s)
        for word in cue.words:
            _check_span(word.start, word.end, name=name, line=word.line, what=f"word {word.text!r}", duration_s=duration_s)
        cues.append(Cue(cue.start, min(cue.end, duration_s), cue.text, _trimmed(cue.words, name, duration_s), cue.line))
    trimmed = _trimmed(cues, name, duration_s)
    if transcript.words_known:
        _trimmed(tuple(w for cue in trimmed for w in cue.words), name, duration_s)
    return Transcript(cues=tuple(trimmed), format=transcript.format, words_known=transcript.words_known)


def _check_span(start: float, end: float, *, name: str, line: int, what: str, duration_s: float) -> None:
    where = f"transcript {name!r} line {line}"
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0:
        raise InputError(f"{where}: {what} has an invalid time {start!r} --> {end!r}")
    if end <= start:
        raise InputError(f"{where}: {what} ends ({end:.3f} s) before it starts ({start:.3f} s)")
    if end > duration_s + END_SLACK_S:
        raise InputError(
            f"{where}: {what} {start:.3f}-{end:.3f} s lies past the end of the source ({duration_s:.3f} s): "
            "is it the transcript of another recording?"
        )


def _trimmed(items, name: str, duration_s: float):
    """`items` (cues or words, sorted) with small overlaps trimmed off the earlier one; big ones refused."""
    out = []
    for item in items:
        if out and item.start < out[-1].end:
            previous = out[-1]
            if previous.end - item.start > OVERLAP_SLACK_S or item.start <= previous.start:
                raise InputError(
                    f"transcript {name!r} line {item.line}: {item.start:.3f}-{item.end:.3f} s overlaps line "
                    f"{previous.line} ({previous.start:.3f}-{previous.end:.3f} s) by {previous.end - item.start:.3f} s"
                )
            out[-1] = _with_end(previous, item.start)
        out.append(_with_end(item, min(item.end, duration_s)))
    return tuple(out)


def _with_end(item, end: float):
    return type(item)(**{**item.__dict__, "end": end})


def transcript_to_dict(transcript: Transcript) -> dict:
    """The stored form: cues with their words as ``[start, end, text, line]``."""
    return {
        "format": transcript.format, "words_known": transcript.words_known,
        "cues": [
            {"start": c.start, "end": c.end, "text": c.text, "line": c.line,
             "words": [[w.start, w.end, w.text, w.line] for w in c.words]}
            for c in transcript.cues
        ],
    }


def transcript_from_dict(data: dict) -> Transcript:
    """Inverse of `transcript_to_dict`."""
    return Transcript(
        cues=tuple(
            Cue(c["start"], c["end"], c["text"], tuple(Word(*w) for w in c["words"]), c["line"]) for c in data["cues"]
        ),
        format=data["format"], words_known=data["words_known"],
    )
