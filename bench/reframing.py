"""Reframing quality: share of frames with the subject's face inside the 9:16 crop, crop-path jerk, time.

Uses the face tracks of the one-process uniform face row and the stage rows' analysis, on the same
window. No peer reframer runs offline here, which the table says.
"""

from __future__ import annotations

import importlib

from bench.rows import Row, guarded, not_available, stopwatch

GROUP = "reframing"
ASPECT = "9:16"
PEERS = "n/a offline: pyautoflip downloads InsightFace weights at first use; clipsai needs a gated hub model"


def reframing_rows(stage_values: dict, faces: dict) -> list[Row]:
    """clipmill's crop path on the face window, then the peers' n/a row."""
    return guarded(GROUP, f"clipmill {ASPECT}", lambda: [_clipmill(stage_values, faces)]) + [
        not_available(GROUP, "pyautoflip / clipsai", PEERS.removeprefix("n/a offline: "))
    ]


def _clipmill(stage_values: dict, faces: dict) -> Row:
    try:
        framing = importlib.import_module("clipmill.vision.framing")
    except ImportError:
        return not_available(GROUP, f"clipmill {ASPECT}", "clipmill.vision.framing not implemented yet")
    from clipmill.edit.edl import EditSettings, plan_edit

    if "tracks" not in faces:
        raise RuntimeError("skipped: the one-process uniform face row failed")
    info, window = stage_values["seg_info"], faces["window_s"]
    clip = {name: stage_values[name] for name in ("speech", "silences", "fillers")}
    plan = plan_edit(
        window, rate=info.frame_rate, speech=clip["speech"].clip(0.0, window),
        silences=clip["silences"].timeline.clip(0.0, window), fillers=clip["fillers"],
        settings=EditSettings(),
    )
    width, height = info.display_size
    with stopwatch() as elapsed:
        path = framing.plan_framing(faces["tracks"], width=width, height=height, plan=plan, aspect=ASPECT)
    detail = (f"first {window:.0f} s: subject inside crop {100 * path.subject_inside_share:.1f}% of "
              f"{path.tracked_frames} tracked frames, jerk {path.jerk:.3f} widths/s^3 (no mouth activity)")
    return Row(GROUP, f"clipmill {ASPECT}", seconds=elapsed(), rtf=window / elapsed() if elapsed() > 0 else None,
               detail=detail, data={"subject_inside_share": path.subject_inside_share, "jerk": path.jerk,
                                    "tracked_frames": path.tracked_frames})
