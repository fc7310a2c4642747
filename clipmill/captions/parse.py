"""Transcript files in: SRT (the `srt` library), WebVTT (`webvtt-py`) and JSON words, each to a `Transcript`.

Adapters over the libraries, bytes in: the text must be UTF-8 (a BOM is fine) or UTF-16 with a BOM,
and a malformed file is an `InputError` that names the line, where the libraries would skip or
swallow it (webvtt-py drops a cue whose timing line it cannot read; the check here does not).
JSON words are ``[{"start": s, "end": s, "word": "..."}, ...]`` in source seconds, the shape
`clipmill analyze` prints; every word becomes a timed word, so the edit can respect it.
"""

from __future__ import annotations

import codecs
import io
import json
import math
import re
from pathlib import Path, PurePosixPath

import srt
import webvtt
from webvtt.errors import MalformedFileError
from webvtt.vtt import WebVTTCueBlock

from clipmill.captions.transcript import Cue, Transcript, Word
from clipmill.errors import InputError

FORMATS = ("srt", "vtt", "json")
_TAGS = re.compile(r"<[^>]*>|\{\\[^}]*\}")


def transcript_format(name: str, text: str) -> str:
    """``srt``, ``vtt`` or ``json``: from the file's suffix, else from its first characters."""
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    head = text.lstrip()
    return "vtt" if head.startswith("WEBVTT") else "json" if head[:1] in "[{" else "srt"


def parse_transcript(data: bytes, name: str) -> Transcript:
    """The transcript in `data` (the file `name`, for its format and for messages), cues sorted by start."""
    text = decode_text(data, name)
    if not text.strip():
        raise InputError(f"transcript {name!r} is empty")
    kind = transcript_format(name, text)
    parser = {"srt": _parse_srt, "vtt": _parse_vtt, "json": _parse_words}[kind]
    transcript = parser(text, name)
    if not transcript.cues:
        raise InputError(f"transcript {name!r} holds no {kind} cues")
    return transcript


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (BOM or not) or UTF-16 with a BOM; anything else names the first line it cannot read."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"transcript {name!r} line {line}: byte 0x{data[exc.start]:02x} is not {encoding.replace('-sig', '')} "
            "text; save the file as UTF-8"
        ) from exc


def _plain(text: str) -> str:
    """Cue text without markup (``<i>``, ``<v Bob>``, ``{\\an8}``), its lines joined by spaces."""
    return " ".join(_TAGS.sub("", text).split())


def _parse_srt(text: str, name: str) -> Transcript:
    try:
        subtitles = list(srt.parse(text))
    except (srt.SRTParseError, ValueError) as exc:
        offset = getattr(exc, "expected_start", 0)
        line = text[:offset].count("\n") + 1 + len(text[offset:]) - len(text[offset:].lstrip("\n"))
        shown = " | ".join(text[offset:].strip().splitlines()[:2])
        raise InputError(f"transcript {name!r} line {line}: cannot read the SRT cue that starts here ({shown[:80]!r})") from exc
    lines = _timing_lines(text, "-->")
    cues = [
        Cue(s.start.total_seconds(), s.end.total_seconds(), _plain(s.content), line=line)
        for s, line in zip(subtitles, lines)
    ]
    return Transcript(cues=tuple(sorted(cues, key=lambda c: c.start)), format="srt")


def _parse_vtt(text: str, name: str) -> Transcript:
    try:
        captions = list(webvtt.from_buffer(io.StringIO(text)))
    except MalformedFileError as exc:
        raise InputError(f"transcript {name!r} line 1: not a WebVTT file ({exc}; it must start with WEBVTT)") from exc
    lines = _timing_lines(text, "-->")
    texts = text.split("\n")
    for line in lines:
        if not WebVTTCueBlock.CUE_TIMINGS_PATTERN.match(texts[line - 1].strip()):
            raise InputError(f"transcript {name!r} line {line}: not a WebVTT cue timing ({texts[line - 1].strip()[:60]!r})")
    if len(captions) != len(lines):
        raise InputError(f"transcript {name!r}: {len(lines)} cue timings but {len(captions)} readable cues")
    cues = [
        Cue(c.start_in_seconds + _millis(c.start), c.end_in_seconds + _millis(c.end), _plain(c.text), line=line)
        for c, line in zip(captions, lines)
    ]
    return Transcript(cues=tuple(sorted(cues, key=lambda c: c.start)), format="vtt")


def _millis(timestamp: str) -> float:
    """The milliseconds webvtt-py's ``*_in_seconds`` (whole seconds) leave out of ``HH:MM:SS.mmm``."""
    return int(timestamp.rpartition(".")[2] or 0) / 1000


def _timing_lines(text: str, arrow: str) -> list[int]:
    """1-based numbers of the lines holding a cue timing (``-->``)."""
    return [number for number, line in enumerate(text.split("\n"), start=1) if arrow in line]


def _parse_words(text: str, name: str) -> Transcript:
    """A JSON array of ``{"start", "end", "word"}``, decoded element by element to know each one's line."""
    decoder = json.JSONDecoder()
    position = _skip(text, 0)
    if text[position:position + 1] != "[":
        raise InputError(f"transcript {name!r} line {_line(text, position)}: JSON words must be an array of "
                         '{"start", "end", "word"} objects')
    position = _skip(text, position + 1)
    words: list[Word] = []
    while text[position:position + 1] != "]":
        line = _line(text, position)
        try:
            entry, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise InputError(f"transcript {name!r} line {exc.lineno}: not valid JSON ({exc.msg})") from exc
        words.append(_word(entry, name, line))
        position = _skip(text, position)
        if text[position:position + 1] == ",":
            position = _skip(text, position + 1)
        elif text[position:position + 1] != "]":
            raise InputError(f"transcript {name!r} line {_line(text, position)}: expected ',' or ']' in the words array")
    if text[position + 1:].strip():
        raise InputError(f"transcript {name!r} line {_line(text, position + 1)}: text after the words array")
    cues = tuple(Cue(w.start, w.end, w.text, (w,), w.line) for w in sorted(words, key=lambda w: w.start))
    return Transcript(cues=cues, format="json", words_known=True)


def _word(entry: object, name: str, line: int) -> Word:
    where = f"transcript {name!r} line {line}"
    if not isinstance(entry, dict) or not {"start", "end", "word"} <= entry.keys():
        raise InputError(f'{where}: each word must be an object with "start", "end" and "word" (got {entry!r:.80})')
    start, end, text = entry["start"], entry["end"], entry["word"]
    if isinstance(start, bool) or isinstance(end, bool) or not all(isinstance(v, (int, float)) for v in (start, end)):
        raise InputError(f"{where}: start and end must be numbers of seconds (got {start!r}, {end!r})")
    if not isinstance(text, str) or not text.strip() or not (math.isfinite(start) and math.isfinite(end)):
        raise InputError(f"{where}: a word needs text and finite times (got {entry!r:.80})")
    return Word(float(start), float(end), text.strip(), line)


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def check_local_transcript(transcript: str, *, name: str, path: Path) -> Transcript:
    """Read and parse a local transcript file before any job starts: a missing, unreadable or
    malformed file is an `InputError` at once (whether it fits the source needs the probe)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"transcript {transcript!r} cannot be read: {exc.strerror or exc}") from exc
    return parse_transcript(data, name)
