"""The audio stages in order, and the JSON documents they are stored and printed as.

The clip job runs each stage as its own Prefect task; `analyze` runs them back to back for
`clipmill analyze`. Both use the document builders here, so stored results and the CLI's JSON
have one shape. Times are seconds from the start of the analysed audio; `offset_s` moves them
onto the source's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clipmill.audio.fillers import detect_fillers
from clipmill.audio.profile import AudioProfile, check_samples, compute_profile, power_spectrogram
from clipmill.audio.silence import SilenceResult, detect_silences
from clipmill.audio.vad import detect_speech
from clipmill.events import LabelledEvents
from clipmill.timeline import Timeline


@dataclass(frozen=True)
class AudioSettings:
    """The user-facing knobs of the audio stages (see `clipmill.config.ClipOptions`)."""

    vad_backend: str = "silero"
    min_silence_s: float = 0.3
    padding_s: float = 0.1
    threshold_db: float = -35.0
    adaptive_threshold: bool = True
    filler_backend: str = "acoustic"


@dataclass(frozen=True)
class AudioAnalysis:
    """Everything the audio stages found in one segment.

    ``speech`` is the VAD's timeline (what the silence decision and the filler detector read);
    ``padding_s`` is the audio the editor keeps next to speech; `edited_speech` is what it keeps
    between the first word and the last.
    """

    profile: AudioProfile
    speech: Timeline
    silences: SilenceResult
    fillers: LabelledEvents
    duration_s: float
    padding_s: float = 0.0

    def edited_speech(self) -> Timeline:
        """The speech as the editor keeps it: from the first word to the last (``padding_s`` outside
        each), everything the editor does not cut. Gaps under the shortest pause it cuts are rhythm and a
        pause kept for its sound (a breath, a murmur over the threshold) stays in the clip, so both
        are part of the speech the editor works with; only the `silences` it cuts are not."""
        padded = self.speech.pad(self.padding_s, span=(0.0, self.duration_s))
        if not len(padded):
            return padded
        span = Timeline([(float(padded.array[0, 0]), float(padded.array[-1, 1]))])
        return span.subtract(self.silences.timeline)

    def to_json(self, *, offset_s: float = 0.0) -> dict[str, object]:
        """``{"profile", "speech", "silences", "fillers"}`` with times shifted by `offset_s`;
        ``speech`` is `edited_speech`."""
        return {
            "profile": self.profile.to_dict(),
            "speech": intervals(self.edited_speech(), offset_s=offset_s),
            "silences": intervals(self.silences.timeline, offset_s=offset_s),
            "fillers": fillers_document(self.fillers, offset_s=offset_s)["events"],
        }


def silences_for(samples: np.ndarray, sr: int, *, speech: Timeline, profile: AudioProfile,
                 settings: AudioSettings,
                 spectrogram: tuple[np.ndarray, np.ndarray] | None = None) -> SilenceResult:
    """Silence detection with the user's thresholds (``spectrogram``: see `detect_silences`)."""
    return detect_silences(
        samples, sr, speech=speech, profile=profile, min_silence_s=settings.min_silence_s,
        padding_s=settings.padding_s, threshold_db=settings.threshold_db,
        adaptive_threshold=settings.adaptive_threshold, spectrogram=spectrogram,
    )


def analyze(samples: np.ndarray, sr: int, *, settings: AudioSettings = AudioSettings()) -> AudioAnalysis:
    """Profile → speech → silences → fillers on one mono float32 signal.

    The stages share one 32 ms / 10 ms power spectrogram, computed here once.
    """
    samples = check_samples(samples, sr)
    spectrogram = power_spectrogram(samples, sr)
    profile = compute_profile(samples, sr, spectrogram=spectrogram)
    speech = detect_speech(
        samples, sr, backend=settings.vad_backend, profile=profile, spectrogram=spectrogram
    )
    silences = silences_for(
        samples, sr, speech=speech, profile=profile, settings=settings, spectrogram=spectrogram
    )
    fillers = detect_fillers(
        samples, sr, speech=speech, profile=profile, backend=settings.filler_backend,
        spectrogram=spectrogram,
    )
    return AudioAnalysis(profile=profile, speech=speech, silences=silences, fillers=fillers,
                         duration_s=len(samples) / sr, padding_s=settings.padding_s)


def timeline_document(kind: str, timeline: Timeline, *, duration_s: float, offset_s: float = 0.0) -> dict[str, object]:
    """A stored timeline: its kind, the analysed duration, the intervals and a short summary."""
    return {
        "kind": kind,
        "duration_s": round(duration_s, 6),
        "intervals": intervals(timeline, offset_s=offset_s),
        "summary": {
            "count": len(timeline),
            "total_s": round(timeline.duration, 3),
            "share_pct": round(100.0 * timeline.duration / duration_s, 2) if duration_s > 0 else 0.0,
        },
    }


def silences_document(result: SilenceResult, *, duration_s: float, offset_s: float = 0.0) -> dict[str, object]:
    document = timeline_document("silences", result.timeline, duration_s=duration_s, offset_s=offset_s)
    document["levels_db"] = [round(float(level), 2) for level in result.levels_db]
    document["threshold_db"] = round(result.threshold_db, 2)
    document["adaptive"] = result.adaptive
    return document


def fillers_document(events: LabelledEvents, *, duration_s: float | None = None, offset_s: float = 0.0) -> dict[str, object]:
    """Stored fillers: one ``{"start", "end", "label", "confidence"}`` row per event (touching ones
    apart), shifted by `offset_s`, and a summary (the total is the events' union)."""
    rows = [
        {**event, "start": round(event["start"] + offset_s, 6), "end": round(event["end"] + offset_s, 6)}
        for event in events.to_list()
    ]
    return {
        "kind": "fillers",
        "duration_s": duration_s,
        "events": rows,
        "summary": {"count": len(rows), "total_s": round(events.timeline.duration, 3), "labels": events.label_counts()},
    }


def intervals(timeline: Timeline, *, offset_s: float = 0.0) -> list[list[float]]:
    """``[[start, end], ...]`` shifted by `offset_s` and rounded to the microsecond for JSON."""
    return [[round(start, 6), round(end, 6)] for start, end in timeline.shift(offset_s).to_list()]

