"""Peers on the same input: unsilence for silence removal; auto-editor reported n/a.

unsilence runs from its own venv (``bench/.cache/peers``) so clipmill's environment stays clean.
Both outputs are checked the same way: duration, A/V skew, and the longest pause clipmill's VAD
still finds in them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.media import CACHE, stream_durations
from bench.rows import Row, guarded, not_available, stopwatch
from clipmill.audio.profile import compute_profile
from clipmill.audio.vad import detect_speech
from clipmill.media import ANALYSIS_SAMPLE_RATE, decode_audio

GROUP = "silence vs peer"
UNSILENCE = CACHE / "peers" / "bin" / "unsilence"
#: unsilence has no cut mode: silent parts played this fast are effectively removed.
UNSILENCE_ARGS = ("-ss", "9999", "-y")


def silence_rows(source: Path, clipmill_result: dict, *, work: Path) -> list[Row]:
    """clipmill's clip (from the clip job row) and unsilence's output, measured the same way."""
    rows = guarded(GROUP, "clipmill", lambda: [_clipmill_row(clipmill_result)])
    rows += guarded(GROUP, "unsilence", lambda: [_unsilence_row(source, clipmill_result, work)])
    rows.append(not_available(GROUP, "auto-editor", "its wheel downloads a binary at first use; cannot run offline here"))
    return rows


def _clipmill_row(result: dict) -> Row:
    if "clip_path" not in result:
        raise RuntimeError("the clip job row failed, no clipmill output to measure")
    facts = _facts(Path(result["clip_path"]))
    return Row(GROUP, "clipmill", seconds=result["job_wall_s"], detail=_describe(facts), data=facts)


def _unsilence_row(source: Path, clipmill_result: dict, work: Path) -> Row:
    if not UNSILENCE.is_file():
        raise RuntimeError(f"{UNSILENCE} missing: python3 -m venv {CACHE / 'peers'} && "
                           f"{CACHE / 'peers' / 'bin' / 'pip'} install unsilence")
    output = work / "unsilence.mp4"
    with stopwatch() as elapsed:
        subprocess.run([str(UNSILENCE), *UNSILENCE_ARGS, str(source), str(output)], check=True,
                       capture_output=True, stdin=subprocess.DEVNULL)
    facts = _facts(output)
    detail = _describe(facts)
    if "job_wall_s" in clipmill_result:
        facts["time_ratio_to_clipmill"] = elapsed() / clipmill_result["job_wall_s"]
        detail = f"{facts['time_ratio_to_clipmill']:.2f}x clipmill's job time; {detail}"
    return Row(GROUP, "unsilence", seconds=elapsed(), detail=detail, data=facts)


def _facts(output: Path) -> dict[str, float]:
    streams = stream_durations(output)
    return {
        "duration_s": streams.get("video", 0.0),
        "av_skew_ms": 1000 * abs(streams.get("video", 0.0) - streams.get("audio", 0.0)),
        "longest_pause_s": longest_pause(output),
    }


def _describe(facts: dict[str, float]) -> str:
    return (f"{facts['duration_s']:.1f} s out, A/V skew {facts['av_skew_ms']:.0f} ms, "
            f"longest pause {facts['longest_pause_s']:.2f} s")


def longest_pause(path: Path) -> float:
    """Longest stretch without speech by clipmill's default VAD (silero), edges included."""
    samples = decode_audio(path, has_audio=True)
    total = len(samples) / ANALYSIS_SAMPLE_RATE
    speech = detect_speech(samples, ANALYSIS_SAMPLE_RATE, backend="silero", profile=compute_profile(samples, ANALYSIS_SAMPLE_RATE))
    gaps = speech.complement(0.0, total)
    return float(gaps.durations.max()) if len(gaps) else 0.0
