"""Per-run clip options mapped onto the typed settings each pure stage takes.

The stages (`clipmill.audio`, `clipmill.edit`, `clipmill.vision`) know nothing of `ClipOptions`:
these mappers are the one place where an option's name meets the stage parameter it sets.
"""

from __future__ import annotations

from clipmill.audio.analysis import AudioSettings
from clipmill.config import ClipOptions
from clipmill.edit.edl import EditSettings
from clipmill.vision.framing import FramingSettings


def audio_settings(options: ClipOptions) -> AudioSettings:
    """VAD backend, silence thresholds and the filler backend a job runs (`ClipOptions.used_filler_backend`)."""
    return AudioSettings(
        vad_backend=options.vad_backend, min_silence_s=options.min_silence_s, padding_s=options.padding_s,
        threshold_db=options.threshold_db, adaptive_threshold=options.adaptive_threshold,
        filler_backend=options.used_filler_backend,
    )


def edit_settings(options: ClipOptions) -> EditSettings:
    """What the edit plan does with pauses and fillers (cut, speed up, cap) from the clip options."""
    return EditSettings(
        remove_silence=options.remove_silence, speed_up_silence=options.speed_up_silence,
        speed_factor=options.speed_factor, max_silence_s=options.max_silence_s, remove_fillers=options.remove_fillers,
    )


def framing_settings(options: ClipOptions) -> FramingSettings:
    """The camera's modes from the clip options (``framing_two_people``, ``framing_no_face``)."""
    return FramingSettings(two_people=options.framing_two_people, no_face=options.framing_no_face)
