"""Captions that follow the cut, measured from what a clip job publishes (the .srt, the .otio, the clip).

One clip job (module fixture) on a talk joined at test time from word-aligned recordings (two
praatio speaker, the GRID sentence swwp2s with its ``.align`` word times, and the first 9 s of an
MFA recording up to just after its first labelled "um", `talk.build_talk`), its words given as a
JSON-words transcript, pauses and the transcript's fillers cut, captions burned in with a sidecar .srt and
the cut exported as .otio. The expected place of every word in the clip is computed here from
the .otio's kept source ranges, not from clipmill's own mapping.
"""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import srt

from clipmill import media, process_clip

from talk import FILLER_WORDS, build_talk, kept_from_otio

NAMES = ("words/praatio_bobby", "video/grid/id2_vcd_swwp2s", "fillers/mfa_acoustic_corpus")
#: the clip ends this long after the first filler of the MFA recording (its first 9 s: the suite's time)
AFTER_FIRST_FILLER_S = 1.5
SIZE = 480


def _spoken(talk, clip_end: float):
    """The talk's words in the clip that are not fillers: what the captions must show."""
    return [w for w in talk.words if w.text.lower() not in FILLER_WORDS and w.start < clip_end]


def _normal(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


@pytest.fixture(scope="module")
def captioned(seaweed, prefect_server, shared_media, tmp_path_factory):
    folder = tmp_path_factory.mktemp("captions")
    talk = build_talk(shared_media, NAMES, folder, size=SIZE)
    words = folder / "talk.words.json"
    words.write_text(json.dumps([{"start": w.start, "end": w.end, "word": w.text} for w in talk.words], indent=1))
    first_filler = next(w for w in talk.words if w.text.lower() in FILLER_WORDS)
    end = min(media.probe(talk.video).duration_s - 0.05, first_filler.end + AFTER_FIRST_FILLER_S)
    result = process_clip(
        str(talk.video), start=0.0, end=end, out_dir=folder / "out", detect_faces=False, export_otio=True,
        preset="ultrafast", transcript=str(words), captions="burn", remove_fillers=True,
    )
    cues = list(srt.parse(result.captions_path.read_text()))
    return talk, result, cues


class OutputClock:
    """Source time -> clip time through the published .otio's clips (record frame, source frame, speed)."""

    def __init__(self, otio_path: Path):
        import opentimelineio as otio

        timeline = otio.adapters.read_from_file(str(otio_path))
        self.rate = Fraction(timeline.metadata["clipmill"]["plan"]["fps"])
        offset = timeline.metadata["clipmill"]["source"]["start_frame"]
        self.pieces = []
        for clip in timeline.video_tracks()[0].find_clips():
            meta = clip.metadata["clipmill"]
            first = round(clip.source_range.start_time.value) - offset
            speed = meta["source_frames"] / round(clip.source_range.duration.value)
            self.pieces.append((first, first + meta["source_frames"], meta["record_start_frame"], speed))
        self.markers = [(m.marked_range.start_time.to_seconds(), m.marked_range.end_time_exclusive().to_seconds(), m.name)
                        for m in timeline.video_tracks()[0].markers]

    def output(self, source_s: float) -> float | None:
        frame = source_s * float(self.rate)
        for first, last, record, speed in self.pieces:
            if first - 1e-6 <= frame <= last + 1e-6:
                return (record + (frame - first) / speed) / float(self.rate)
        return None


def test_every_word_captioned_on_the_cut_within_a_frame(captioned):
    talk, result, cues = captioned
    clock = OutputClock(result.timeline_path)
    frame_s = float(1 / clock.rate)
    assert len(clock.pieces) >= 3, "the pauses between the recordings are cut"
    caption_words = [word for cue in cues for word in cue.content.split()]
    clip_end = kept_from_otio(result.timeline_path).array[-1, 1]
    spoken = _spoken(talk, clip_end)
    assert [_normal(w) for w in caption_words] == [_normal(w.text) for w in spoken], "every word, in order"
    position, worst = 0, 0.0
    for cue in cues:
        count = len(cue.content.split())
        first, last = spoken[position], spoken[position + count - 1]
        position += count
        expected = (clock.output(first.start), clock.output(min(last.end, clip_end)))
        assert None not in expected, f"{cue.content!r} lies in a cut"
        errors = (abs(cue.start.total_seconds() - expected[0]), abs(cue.end.total_seconds() - expected[1]))
        worst = max(worst, *errors)
        assert max(errors) <= frame_s + 1e-3, f"cue {cue.index} {cue.content!r}: {cue.start}-{cue.end} vs {expected}"
    print(f"\n[captions] {len(cues)} cues, {len(spoken)} words, worst timing error {worst * 1000:.1f} ms "
          f"(one frame {frame_s * 1000:.0f} ms)")


def test_cues_sorted_inside_the_clip_and_in_the_manifest_and_otio(captioned):
    talk, result, cues = captioned
    clock = OutputClock(result.timeline_path)
    starts_ends = [(c.start.total_seconds(), c.end.total_seconds()) for c in cues]
    assert all(a < b for a, b in starts_ends)
    assert all(prev[1] <= cur[0] for prev, cur in zip(starts_ends, starts_ends[1:])), "no cue overlaps the next"
    assert starts_ends[-1][1] <= result.duration_s + 1e-3, "no cue outlasts the clip"
    stage = result.manifest.stages["captions"]
    assert stage["published_key"] == f"clips/{result.clip_id}.srt" and stage["cues"] == len(cues) and stage["burned"]
    assert result.manifest.stages["transcript"]["words_known"] is True
    frame_s = float(1 / clock.rate)
    assert [name for *_, name in clock.markers] == [c.content.replace("\n", " ") for c in cues]
    for (start, end, _), (cue_start, cue_end) in zip(clock.markers, starts_ends):
        assert abs(start - cue_start) <= frame_s and abs(end - cue_end) <= frame_s


def test_no_cut_inside_a_word_and_the_transcript_fillers_cut(captioned):
    talk, result, _ = captioned
    kept = kept_from_otio(result.timeline_path)
    frame_s = 1 / 25
    cut_points = kept.array.reshape(-1)[1:-1]  # the range's own ends are not cuts
    clip_end = kept.array[-1, 1]
    spoken = _spoken(talk, clip_end)
    inside = [(w.text, round(t, 3)) for w in spoken for t in cut_points if w.start + 1e-3 < t < w.end - 1e-3]
    assert inside == []
    assert all(kept.clip(w.start, w.end).duration >= min(w.end, clip_end) - w.start - 1e-3 for w in spoken)
    fillers = [w for w in talk.words if w.text.lower() in FILLER_WORDS and w.end <= clip_end]
    left = [round(kept.clip(w.start, w.end).duration, 3) for w in fillers]
    print(f"\n[captions] transcript fillers {len(fillers)}, kept of each (s): {left}")
    assert len(fillers) >= 1 and all(k <= 2 * frame_s for k in left)


def _frame(clip: Path, seconds: float) -> np.ndarray:
    """The bottom 40 % of the clip's frame at `seconds` (where captions sit), doubled in size: the OCR
    model misses small words on 480 px frames."""
    import cv2

    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-ss", f"{seconds:.3f}", "-i", str(clip), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "bgr24", "-"], check=True, capture_output=True,
    ).stdout
    frame = np.frombuffer(raw, dtype=np.uint8).reshape(SIZE, SIZE, 3)[round(0.6 * SIZE):]
    return cv2.resize(frame, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)


def test_burned_captions_are_readable(captioned):
    from rapidocr_onnxruntime import RapidOCR

    _, result, cues = captioned
    ocr = RapidOCR()
    read = []
    for cue in cues[:: max(1, len(cues) // 3)][:3]:
        middle = (cue.start.total_seconds() + cue.end.total_seconds()) / 2
        found, _ = ocr(_frame(result.clip_path, middle))
        text = _normal(" ".join(box[1] for box in found or []))
        wanted = [_normal(w) for w in cue.content.split() if len(_normal(w)) >= 3]
        hits = sum(w in text for w in wanted)
        read.append((cue.content, text, hits, len(wanted)))
        assert hits >= max(1, round(0.8 * len(wanted))), f"cue {cue.content!r} not seen in the frame (OCR: {text!r})"
    gaps = [(a.end.total_seconds() + b.start.total_seconds()) / 2 for a, b in zip(cues, cues[1:])
            if (b.start - a.end).total_seconds() >= 0.2]
    assert gaps, "a pause between two cues to look at"
    found, _ = ocr(_frame(result.clip_path, gaps[0]))
    words = [box[1] for box in found or [] if len(_normal(box[1])) >= 3]
    assert words == [], f"text between two cues at {gaps[0]:.2f} s: {words}"
    print("\n[burn OCR] " + "; ".join(f"{c!r} -> {t!r} ({h}/{n})" for c, t, h, n in read))
