"""The edit plan and crop path as an OpenTimelineIO timeline, for opening the cut in an editing tool.

Every kept segment becomes one clip on a video and an audio track, pointing into the ORIGINAL
source (not the rendered clip) so an editor can lengthen or move a cut. All times are whole frames
of the source's rational rate, taken from the plan's frame counts (seconds only where the request
and the probe give them) so 30000/1001 material stays frame-exact. A sped-up segment carries a `LinearTimeWarp`; following OTIO's
convention (its CMX 3600 and AAF adapters read retimes this way) its ``source_range`` starts on the
segment's first source frame and lasts as long as the segment plays in the OUTPUT, the media
consumed being that duration times ``time_scalar`` (source frames over output frames, exactly).
Track durations, which ignore time warps, are then the output's duration. The crop path is kept
as metadata: OTIO has no schema for a reframe. Captions become markers on the video track, on the
output's timeline (whole frames), named by their text.
"""

from __future__ import annotations

from pathlib import PurePosixPath

import numpy as np
import opentimelineio as otio
from opentimelineio.opentime import RationalTime, TimeRange

from clipmill.edit.edl import EditPlan
from clipmill.errors import InternalError
from clipmill.vision.framing import FramingPath

#: How far (in pixels) the crop read from the keyframes may stray from the computed path.
TOLERANCE_PX = 1.0


def timeline_from_plan(
    plan: EditPlan, *, source_uri: str, source_start_s: float, source_duration_s: float, name: str,
    framing: FramingPath | None = None, captions: tuple[tuple[float, float, str], ...] = (),
) -> str:
    """The plan (and crop path, and `captions` as ``(start_s, end_s, text)`` on the output's
    timeline) as an ``.otio`` JSON document that cuts the original source.

    `source_start_s` is where the job's segment starts in the source (``request.start_s``); the
    segment's first frame is the first source frame at or after it. `source_duration_s` is the whole
    source's duration, the media reference's available range.
    """
    rate = plan.rate
    fps = float(rate)
    target = _target_url(source_uri)
    offset = rate.frame_ceil(source_start_s)
    available = TimeRange(RationalTime(0, fps), RationalTime(rate.nearest_frame(source_duration_s), fps))
    timeline = otio.schema.Timeline(name=name, global_start_time=RationalTime(0, fps))
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    record = 0
    for index, segment in enumerate(plan.segments):
        start, source_frames, output_frames = segment.start_frame, segment.source_frames, segment.output_frames
        src_start_s, src_end_s = plan.source_span(segment)
        clip_meta = {
            "segment": index, "src_start_s": src_start_s, "src_end_s": src_end_s,
            "speed": float(segment.speed), "source_frames": source_frames, "record_start_frame": record,
        }
        if framing is not None:
            clip_meta["crop_keyframes"] = crop_keyframes(framing.x[record:record + output_frames],
                                                         framing.y[record:record + output_frames])
        for track in (video, audio):
            clip = otio.schema.Clip(
                name=f"{name} {index + 1:03d}",
                media_reference=otio.schema.ExternalReference(target_url=target, available_range=available),
                source_range=TimeRange(RationalTime(offset + start, fps), RationalTime(output_frames, fps)),
                metadata={"clipmill": clip_meta},
            )
            if source_frames != output_frames:
                clip.effects.append(otio.schema.LinearTimeWarp(name="speed", time_scalar=float(segment.speed)))
            track.append(clip)
        record += output_frames
    for start_s, end_s, text in captions:
        first = rate.nearest_frame(start_s)
        video.markers.append(otio.schema.Marker(
            name=text, color=otio.schema.MarkerColor.YELLOW,
            marked_range=TimeRange(RationalTime(first, fps), RationalTime(max(1, rate.nearest_frame(end_s) - first), fps)),
            metadata={"clipmill": {"caption": text, "start_s": start_s, "end_s": end_s}},
        ))
    timeline.tracks.extend([video, audio])
    timeline.metadata["clipmill"] = {
        "source": {"uri": source_uri, "start_s": source_start_s, "start_frame": offset,
                   "duration_s": source_duration_s},
        "plan": plan.summary(),
        "output_frames": record,
    }
    if framing is not None:
        timeline.metadata["clipmill"]["framing"] = {
            "aspect": framing.aspect, "fps": framing.fps,
            "crop_width": framing.crop_width, "crop_height": framing.crop_height,
            "out_width": framing.out_width, "out_height": framing.out_height,
            "interpolation": "linear", "tolerance_px": TOLERANCE_PX,
            "keyframes": crop_keyframes(framing.x, framing.y),
        }
    return otio.adapters.write_to_string(timeline, "otio_json")


def crop_keyframes(x: np.ndarray, y: np.ndarray) -> list[list[int]]:
    """``[frame, x, y]`` keyframes from which linear interpolation gives every frame's crop within a pixel.

    Greedy: from each keyframe the next is the farthest frame (past any hold, which fits trivially)
    to which a straight line stays within `TOLERANCE_PX` of the path; a hold is two keyframes, a
    steady pan a few, a cut two adjacent ones.
    """
    path = np.stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)], axis=1)
    n = len(path)
    if n == 0:
        return []
    changes = np.flatnonzero(np.any(np.diff(path, axis=0) != 0, axis=1))
    keys = [0]
    while keys[-1] < n - 1:
        anchor = keys[-1]
        later = changes[changes >= anchor]
        end = max(anchor + 1, int(later[0]) if len(later) else n - 1)
        while end + 1 < n and _fits(path, anchor, end + 1):
            end += 1
        keys.append(end)
    return [[int(i), int(path[i, 0]), int(path[i, 1])] for i in keys]


def _fits(path: np.ndarray, start: int, end: int) -> bool:
    """Whether the straight line from frame `start` to frame `end` stays within `TOLERANCE_PX` of the path."""
    t = (np.arange(start, end + 1) - start)[:, None] / (end - start)
    line = path[start] + t * (path[end] - path[start])
    return bool(np.all(np.abs(line - path[start:end + 1]) <= TOLERANCE_PX))


def _target_url(uri: str) -> str:
    """An s3:// (or any other) URI as given; an absolute local path as a file:// URL."""
    if "://" in uri or uri.startswith("file:"):
        return uri
    path = PurePosixPath(uri)
    if not path.is_absolute():
        raise InternalError(f"the source must be an absolute path or a URI for the OTIO export (got {uri!r})")
    return path.as_uri()
