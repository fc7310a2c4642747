"""Burned-in captions: the cues as an ASS document (`pysubs2`) that ffmpeg's ``ass`` filter (libass) draws.

The style is sized to the output frame: text height from the frame's width and the layout's line
length (so the longest line fits inside the side margins), white bold DejaVu Sans with a dark
outline and shadow, bottom centred. On portrait frames the bottom fifth and a strip at the right
are kept clear (where short-video apps put their captions, buttons and progress bar). With
`highlight`, the word being spoken turns yellow: one event per word, each showing the whole cue.
The font is DejaVu Sans Bold from matplotlib's wheel (a core dependency), so no system font is needed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from clipmill.captions.cues import CaptionCue, CaptionLayout
from clipmill.errors import ModelUnavailable

if TYPE_CHECKING:
    import pysubs2  # imported where used: a job without captions does not pay for it

FONT_NAME = "DejaVu Sans"
FONT_FILE = "DejaVuSans-Bold.ttf"
#: Average advance of DejaVu Sans Bold, in font sizes (em), over ordinary text.
CHAR_WIDTH_EM = 0.62
#: The spoken word's colour, (255, 221, 0) RGB, in ASS's ``&HBBGGRR&`` notation.
HIGHLIGHT = "&H00DDFF&"


def font_dir() -> Path:
    """The folder holding DejaVu Sans Bold: matplotlib's bundled fonts (found without importing it)."""
    spec = importlib.util.find_spec("matplotlib")
    folder = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf" if spec else None
    if folder is None or not (folder / FONT_FILE).is_file():
        raise ModelUnavailable(f"burned-in captions need {FONT_FILE}, which ships with matplotlib: pip install matplotlib")
    return folder


def margins(width: int, height: int) -> tuple[int, int, int]:
    """Left, right and bottom margins in pixels: the title-safe area, wider on portrait frames."""
    if width < height:
        return round(0.08 * width), round(0.14 * width), round(0.20 * height)
    return round(0.06 * width), round(0.06 * width), round(0.07 * height)


def font_size(width: int, height: int, layout: CaptionLayout) -> int:
    """The largest size at which a full line fits between the margins, at most 7 % of the height."""
    left, right, _ = margins(width, height)
    return max(8, min(round(0.07 * height), int((width - left - right) / (layout.max_line_chars * CHAR_WIDTH_EM))))


def burn_document(cues: tuple[CaptionCue, ...], *, width: int, height: int, layout: CaptionLayout,
                  highlight: bool = False) -> str:
    """The ASS text for an output frame of `width` x `height` pixels."""
    import pysubs2

    left, right, bottom = margins(width, height)
    size = font_size(width, height, layout)
    document = pysubs2.SSAFile()
    document.info.update({"PlayResX": str(width), "PlayResY": str(height), "WrapStyle": "2",
                          "ScaledBorderAndShadow": "yes"})
    document.styles["Default"] = pysubs2.SSAStyle(
        fontname=FONT_NAME, fontsize=size, bold=True, primarycolor=pysubs2.Color(255, 255, 255),
        outlinecolor=pysubs2.Color(0, 0, 0), backcolor=pysubs2.Color(0, 0, 0, 96), outline=max(1, size / 14),
        shadow=max(1, size / 24), alignment=pysubs2.Alignment.BOTTOM_CENTER, marginl=left, marginr=right,
        marginv=bottom,
    )
    for cue in cues:
        if highlight and cue.words:
            document.events += [_event(start, end, _marked(cue, index)) for index, start, end in _word_spans(cue)]
        else:
            document.events.append(_event(cue.start, cue.end, r"\N".join(_escaped(line) for line in cue.lines)))
    return document.to_string("ass")


def _event(start: float, end: float, text: str) -> pysubs2.SSAEvent:
    import pysubs2

    return pysubs2.SSAEvent(start=round(start * 1000), end=round(end * 1000), text=text)


def _word_spans(cue: CaptionCue) -> list[tuple[int, float, float]]:
    """Each word's turn: from its start (the cue's, for the first) to the next word's start (the cue's end, for the last)."""
    starts = [cue.start] + [w.start for w in cue.words[1:]]
    return [(i, start, end) for i, (start, end) in enumerate(zip(starts, starts[1:] + [cue.end])) if end > start]


def _marked(cue: CaptionCue, index: int) -> str:
    """The cue's lines with word `index` in the highlight colour (lines hold the words in order)."""
    out, position = [], 0
    for line in cue.lines:
        words = []
        for word in line.split(" "):
            text = _escaped(word)
            words.append(rf"{{\c{HIGHLIGHT}}}{text}{{\r}}" if position == index else text)
            position += 1
        out.append(" ".join(words))
    return r"\N".join(out)


def _escaped(text: str) -> str:
    """Text that libass shows as written: braces would open override blocks, a backslash an escape."""
    return text.replace("\\", "\u29f5").replace("{", "(").replace("}", ")")
