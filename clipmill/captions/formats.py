"""Caption cues out as SRT (the `srt` library) or WebVTT (`webvtt-py`) text."""

from __future__ import annotations

from datetime import timedelta

import srt
import webvtt

from clipmill.captions.cues import CaptionCue

SIDECAR_FORMATS = ("srt", "vtt")


def to_srt(cues: tuple[CaptionCue, ...]) -> str:
    """SRT text, cues numbered from 1, times to the millisecond."""
    return srt.compose(
        [srt.Subtitle(i, _delta(c.start), _delta(c.end), "\n".join(c.lines)) for i, c in enumerate(cues, start=1)],
        reindex=False,
    )


def to_vtt(cues: tuple[CaptionCue, ...]) -> str:
    """WebVTT text, times to the millisecond."""
    document = webvtt.WebVTT(captions=[webvtt.Caption(_stamp(c.start), _stamp(c.end), list(c.lines)) for c in cues])
    return document.content


def render_sidecar(cues: tuple[CaptionCue, ...], fmt: str) -> str:
    """The cues as `fmt` (``srt`` or ``vtt``) text."""
    return {"srt": to_srt, "vtt": to_vtt}[fmt](cues)


def _delta(seconds: float) -> timedelta:
    return timedelta(milliseconds=round(seconds * 1000))


def _stamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"
