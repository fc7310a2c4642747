"""Long inputs for the clip finder, built with real ffmpeg from the shared media.

`joined_talk` joins the word-aligned recordings (``words/``, ``fillers/*.words.json``) into one talk
with pauses between them over a faint pink-noise floor, and returns the words on the talk's
timeline; `joined_video` concatenates the real 720p videos, re-encoded on their 29.97 fps grid.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

#: pause after each recording, cycled: short, medium and long pauses
PAUSES_S = (0.8, 1.6, 2.4, 1.2)


def _duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    )
    return float(out.stdout)


def recordings(media: Path) -> list[tuple[Path, Path]]:
    """(audio, words.json) pairs of every word-aligned recording in the shared media."""
    pairs = []
    for words in sorted([*media.glob("words/*.words.json"), *media.glob("fillers/*.words.json")]):
        stem = words.name.removesuffix(".words.json")
        audio = next(p for ext in (".wav", ".flac") if (p := words.with_name(stem + ext)).exists())
        pairs.append((audio, words))
    return pairs


def _labelled_words(labels: Path) -> list[tuple[float, float, str]]:
    """The words of a ``.words.json`` file, with the label fixes the cut-quality talk makes (`LABEL_FIXES`)."""
    from tests.quality.audio.talk import LABEL_FIXES

    name = f"{labels.parent.name}/{labels.name.removesuffix('.words.json')}"
    words = [(w["start"], w["end"], w["word"]) for w in json.loads(labels.read_text())]
    for (fixed, index), (start, end) in LABEL_FIXES.items():
        if fixed == name:
            words[index] = (start, end, words[index][2])
    return words


def joined_talk(media: Path, target: Path, *, rounds: int = 2) -> list[tuple[float, float, str]]:
    """Write the joined talk (16 kHz mono WAV) to `target`; return its words ``(start, end, word)``."""
    pieces = recordings(media) * rounds
    words: list[tuple[float, float, str]] = []
    offset = 1.0
    inputs: list[str] = []
    filters: list[str] = ["anullsrc=r=16000:cl=mono,atrim=duration=1.0[lead]"]
    for k, (audio, labels) in enumerate(pieces):
        pause = PAUSES_S[k % len(PAUSES_S)]
        inputs += ["-i", str(audio)]
        filters.append(f"[{k}:a]aresample=16000,aformat=sample_fmts=flt:channel_layouts=mono,apad=pad_dur={pause}[p{k}]")
        words += [(offset + start, offset + end, word) for start, end, word in _labelled_words(labels)]
        offset += _duration(audio) + pause
    chain = "[lead]" + "".join(f"[p{k}]" for k in range(len(pieces)))
    filters.append(f"{chain}concat=n={len(pieces) + 1}:v=0:a=1[talk]")
    filters.append(f"anoisesrc=color=pink:amplitude=0.008:sample_rate=16000:duration={offset:.3f}[noise]")
    filters.append("[talk][noise]amix=inputs=2:normalize=0:duration=first[out]")
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *inputs, "-filter_complex",
         ";".join(filters), "-map", "[out]", "-c:a", "pcm_s16le", str(target)],
        check=True,
    )
    return words


def joined_video(media: Path, target: Path, *, repeats: int = 6) -> Path:
    """The real videos one after the other, `repeats` times, as one 720p 29.97 fps H.264/AAC file."""
    videos = sorted(media.glob("video/real/*.mp4")) * repeats
    inputs = [arg for video in videos for arg in ("-i", str(video))]
    chain = "".join(f"[{k}:v:0][{k}:a:0]" for k in range(len(videos)))
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *inputs, "-filter_complex",
         f"{chain}concat=n={len(videos)}:v=1:a=1[v][a]", "-map", "[v]", "-map", "[a]", "-r", "30000/1001",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(target)],
        check=True,
    )
    return target


def talk_video(talk: Path, target: Path) -> Path:
    """The joined talk under a plain 320x240 picture, as an H.264/AAC mp4 a library batch lists."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "color=c=0x335577:s=320x240:r=25", "-i", str(talk), "-shortest", "-c:v", "libx264", "-preset", "ultrafast",
         "-pix_fmt", "yuv420p", "-c:a", "aac", str(target)],
        check=True,
    )
    return target
