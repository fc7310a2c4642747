"""Smart framing: a crop window of the target aspect that follows the speaker like a camera operator.

The subject at each frame is the face that is talking (mouth motion, see `activity`) when several
are present, else the most prominent one (largest summed box area over its track). The camera
holds still while the subject stays inside a dead zone
around the crop's centre, otherwise pans towards it with bounded velocity and acceleration; when
the subject's track ends and another begins (a shot change), or the talker changes to a face more
than a crop width away, it cuts straight to the new subject instead of panning across. With no face the crop is centred. The path is computed
per source frame and then read through the edit plan, so it is right after every cut.

Two optional modes make the window's size vary (`FramingSettings.two_people` and ``no_face``):
``"widest"`` widens the window (target aspect kept, size moving with bounded speed) to hold every
face present, and once that is larger than the frame the parts outside it become blurred bars;
``"letterbox"`` shows the whole frame over a blurred copy of itself wherever no face is tracked.
The renderer then composites a cropped, scaled foreground over a blurred background.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, Sequence

import warnings

import numpy as np

from clipmill.edit.crop_filters import CROP, FOREGROUND_CROP, FOREGROUND_SCALE
from clipmill.edit.edl import EditPlan
from clipmill.errors import InputError
from clipmill.timebase import FrameRate
from clipmill.vision.tracking import Track

ASPECTS = ("9:16", "1:1", "4:5", "16:9")

#: Mouth-motion sample times and per-track values, as `MouthActivity.result` returns them.
ActivityTrace = tuple[np.ndarray, dict[int, np.ndarray]]


def parse_aspect(text: str) -> Fraction:
    """``"9:16"`` → 9/16; rejects zero, negative and malformed ratios with the value named."""
    width, sep, height = text.partition(":")
    try:
        ratio = Fraction(int(width), int(height)) if sep else None
    except (ValueError, ZeroDivisionError):
        ratio = None
    if ratio is None or ratio <= 0 or int(width) <= 0:
        raise InputError(f"reframe must be W:H with positive integers, e.g. 9:16 (got {text!r})")
    return ratio


@dataclass(frozen=True)
class FramingSettings:
    """Camera behaviour, in fractions of the source width (or height for vertical moves).

    ``two_people="widest"`` frames every face present (plus ``group_margin`` face heights on each
    side) instead of the talker; ``no_face="letterbox"`` shows the whole frame over blurred bars on
    face-less stretches of at least ``min_no_face_s`` (shorter gaps hold the camera).
    """

    dead_zone: float = 0.08
    max_speed: float = 0.6
    max_accel: float = 2.5
    max_output_height: int = 1920
    talk_window_s: float = 0.6
    switch_ratio: float = 1.5
    min_hold_s: float = 1.0
    two_people: Literal["speaker", "widest"] = "speaker"
    no_face: Literal["centre", "letterbox"] = "centre"
    group_margin: float = 0.5
    min_no_face_s: float = 0.5


@dataclass(frozen=True)
class FramingPath:
    """Crop size, output size and the crop's top-left corner for every output frame.

    Quality over all output frames: ``subject_inside_share`` of the ``tracked_frames`` that show a
    face (any confirmed track), ``no_face_share`` of all frames without one, and the longest run of
    frames with a face whose subject is outside the window (``worst_outside_frames``).
    """

    aspect: str
    fps: str
    crop_width: int
    crop_height: int
    out_width: int
    out_height: int
    x: np.ndarray
    y: np.ndarray
    subject_inside_share: float
    tracked_frames: int
    jerk: float
    w: np.ndarray | None = None
    h: np.ndarray | None = None
    source_width: int = 0
    source_height: int = 0
    no_face_share: float = 0.0
    worst_outside_frames: int = 0
    n_shots: int = 1

    @property
    def rate(self) -> FrameRate:
        """The output's frame rate (the source's)."""
        return FrameRate.parse(self.fps)

    @property
    def composite(self) -> bool:
        """True when the window changes size or leaves the frame: render over a blurred background."""
        return self.w is not None

    @property
    def letterbox(self) -> np.ndarray:
        """Per output frame: the window reaches outside the source frame, so blurred bars show."""
        if not self.composite:
            return np.zeros(len(self.x), dtype=bool)
        beyond_x = (self.x < 0) | (self.x + self.w > self.source_width)
        return beyond_x | (self.y < 0) | (self.y + self.h > self.source_height)

    def to_dict(self) -> dict[str, object]:
        data = {
            "aspect": self.aspect, "fps": self.fps, "crop_width": self.crop_width, "crop_height": self.crop_height,
            "out_width": self.out_width, "out_height": self.out_height,
            "subject_inside_share": round(self.subject_inside_share, 4), "tracked_frames": self.tracked_frames,
            "no_face_share": round(self.no_face_share, 4), "worst_outside_frames": self.worst_outside_frames,
            "worst_outside_s": round(self.rate.seconds(self.worst_outside_frames), 3),
            "n_shots": self.n_shots,
            "jerk": round(self.jerk, 3), "x": self.x.astype(int).tolist(), "y": self.y.astype(int).tolist(),
        }
        if self.composite:
            data.update(w=self.w.astype(int).tolist(), h=self.h.astype(int).tolist(), source_width=self.source_width,
                        source_height=self.source_height, letterbox_frames=int(self.letterbox.sum()))
        return data

    @classmethod
    def from_dict(cls, data: dict) -> FramingPath:
        sizes = {key: np.asarray(data[key], dtype=int) for key in ("w", "h") if key in data}
        return cls(
            aspect=data["aspect"], fps=data["fps"], crop_width=data["crop_width"], crop_height=data["crop_height"],
            out_width=data["out_width"], out_height=data["out_height"], x=np.asarray(data["x"], dtype=int),
            y=np.asarray(data["y"], dtype=int), subject_inside_share=data["subject_inside_share"],
            tracked_frames=data["tracked_frames"], jerk=data["jerk"], **sizes,
            source_width=data.get("source_width", 0), source_height=data.get("source_height", 0),
            no_face_share=data.get("no_face_share", 0.0), worst_outside_frames=data.get("worst_outside_frames", 0),
            n_shots=data.get("n_shots", 1),
        )


def crop_size(width: int, height: int, aspect: Fraction) -> tuple[int, int]:
    """The largest even-sized window of `aspect` that fits in ``width × height``."""
    if Fraction(width, height) > aspect:
        crop_h = height - height % 2
        crop_w = int(crop_h * aspect) // 2 * 2
    else:
        crop_w = width - width % 2
        crop_h = int(crop_w / aspect) // 2 * 2
    return max(crop_w, 2), max(crop_h, 2)


def subject_boxes(
    tracks: Sequence[Track], n_frames: int, rate: FrameRate, *, activity: ActivityTrace | None = None,
    settings: FramingSettings = FramingSettings(),
) -> tuple[np.ndarray, np.ndarray]:
    """Per source frame (`n_frames` at `rate`): the subject's box (NaN where no face) and its track id (-1 where none).

    Where several faces are present and mouth activity is known, the subject is the face that is
    talking (clearly more mouth motion, held for at least ``min_hold_s`` to avoid ping-pong);
    otherwise the most prominent face (largest summed box area over its track).
    """
    n = n_frames
    present = {track.id: _rows(track, n, rate) for track in tracks}
    weight = {track.id: float(np.sum((track.xyxy[:, 2] - track.xyxy[:, 0]) * (track.xyxy[:, 3] - track.xyxy[:, 1])))
              for track in tracks}
    talking = _talking_scores(activity, np.arange(n) / float(rate), settings) if activity is not None else {}
    boxes, ids = np.full((n, 4), np.nan), np.full(n, -1)
    hold = int(round(settings.min_hold_s * float(rate)))
    current, since = -1, 0
    for i in range(n):
        candidates = [tid for tid, rows in present.items() if rows[i] >= 0]
        if not candidates:
            current = -1
            continue
        chosen = max(candidates, key=lambda tid: (talking.get(tid, np.zeros(n))[i], weight[tid]))
        if current in candidates and chosen != current:
            louder = talking.get(chosen, np.zeros(n))[i] > settings.switch_ratio * talking.get(current, np.zeros(n))[i]
            if i - since < hold or not louder:
                chosen = current
        if chosen != current:
            current, since = chosen, i
        track = next(t for t in tracks if t.id == current)
        boxes[i], ids[i] = track.xyxy[present[current][i]], current
    return boxes, ids


def _rows(track: Track, n_frames: int, rate: FrameRate) -> np.ndarray:
    """For each of `n_frames` source frames, the row of the track's box on it (its time nearest to the
    frame, within half a frame), or -1 where the track is absent."""
    frames = np.round(np.asarray(track.times, np.float64) * float(rate)).astype(np.int64)
    rows = np.full(n_frames, -1)
    inside = (frames >= 0) & (frames < n_frames)
    rows[frames[inside][::-1]] = np.flatnonzero(inside)[::-1]  # the first row on a frame wins
    return rows


def _talking_scores(activity: ActivityTrace, frame_times: np.ndarray, settings: FramingSettings) -> dict[int, np.ndarray]:
    """Mouth motion per track, smoothed over ``talk_window_s`` and read at every frame time."""
    times, values = activity
    if len(times) < 2:
        return {}
    step = float(np.median(np.diff(times)))
    width = max(1, int(round(settings.talk_window_s / step)))
    kernel = np.ones(width) / width
    scores = {}
    for tid, series in values.items():
        smooth = np.convolve(np.nan_to_num(series, nan=0.0), kernel, mode="same")
        scores[tid] = np.interp(frame_times, times, smooth)
    return scores


def follow(targets: np.ndarray, ids: np.ndarray, *, low: float, high: float, fps: float,
           settings: FramingSettings, extent: float, jump: float, cuts: Sequence[int] = (),
           spans: np.ndarray | None = None, window: float = 0.0) -> np.ndarray:
    """A camera coordinate per frame that follows `targets` (NaN = no subject: hold, or centre).

    Holds inside the dead zone, pans with bounded speed and acceleration, and jumps at a shot
    change (the subject's track ended and a new one began) or to a new subject farther than `jump`.
    With `spans` (the subject's extent per frame) and `window` (the crop's), the dead zone narrows so
    that a large face still fits, and a face that fits the window never pokes out of it (the camera
    is pushed by the face's edge).
    `cuts` (frame indices that start a new shot) plan each shot on its own: on a cut frame the camera
    is put straight on the new shot's first subject, never panning across the cut nor moving before it.
    """
    dt = 1.0 / fps
    dead_zone = settings.dead_zone * extent
    room = np.full(len(targets), np.inf) if spans is None else (window - np.asarray(spans, np.float64)) / 2
    vmax, amax = settings.max_speed * extent, settings.max_accel * extent
    centre = (low + high) / 2
    known = np.flatnonzero(~np.isnan(targets))
    position = float(np.clip(targets[known[0]], low, high)) if len(known) else centre
    velocity = 0.0
    path = np.empty(len(targets))
    previous_id = ids[known[0]] if len(known) else -1
    bounds = sorted({int(c) for c in cuts if 0 < c < len(targets)}) + [len(targets)]
    for i, target in enumerate(targets):
        if i == bounds[0]:
            bounds.pop(0)
            first = known[(known >= i) & (known < bounds[0])]
            if len(first):
                position, velocity, previous_id = float(np.clip(targets[first[0]], low, high)), 0.0, ids[first[0]]
        if np.isnan(target):
            path[i] = position
            continue
        if ids[i] != previous_id and (not _present_later(ids, previous_id, i) or abs(target - position) > jump):
            position, velocity = float(np.clip(target, low, high)), 0.0
        previous_id = ids[i]
        dead = min(dead_zone, max(0.0, room[i] - 2.0)) if np.isfinite(room[i]) else dead_zone
        error = target - position
        wanted = 0.0 if abs(error) <= dead else np.sign(error) * min(vmax, 2.0 * (abs(error) - dead))
        velocity += float(np.clip(wanted - velocity, -amax * dt, amax * dt))
        position = position + velocity * dt
        if np.isfinite(room[i]) and room[i] >= 0 and abs(target - position) > room[i]:
            position = target - np.sign(target - position) * room[i]  # a face that fits is never cut
        position = float(np.clip(position, low, high))
        path[i] = position
    return path


def _present_later(ids: np.ndarray, track_id: int, index: int) -> bool:
    """True when `track_id` is still the subject somewhere after `index` (a switch, not a cut)."""
    return bool(np.any(ids[index:] == track_id))


def plan_framing(
    tracks: Sequence[Track], *, width: int, height: int, plan: EditPlan, aspect: str,
    activity: ActivityTrace | None = None, settings: FramingSettings = FramingSettings(),
    cut_times_s: Sequence[float] = (),
) -> FramingPath:
    """The crop path for the rendered clip, one position per output frame.

    `cut_times_s` are the segment's shot cuts (from the face stage): the path is planned shot by
    shot and jumps on each cut frame. The quality figures count every output frame: the share of
    frames with a face (any track) whose subject lies inside the window, the share without a face,
    and the longest run of frames with a face outside it.
    """
    ratio = parse_aspect(aspect)
    rate = float(plan.rate)
    crop_w, crop_h = crop_size(width, height, ratio)
    scale = min(1.0, settings.max_output_height / crop_h)
    out_w, out_h = max(2, int(crop_w * scale) // 2 * 2), max(2, int(crop_h * scale) // 2 * 2)

    n_source = plan.rate.frame_ceil(plan.source_duration_s)
    boxes, ids = subject_boxes(tracks, n_source, plan.rate, activity=activity, settings=settings)
    cuts = np.round(np.asarray(cut_times_s, np.float64) * rate).astype(int)
    centre_x = (boxes[:, 0] + boxes[:, 2]) / 2
    centre_y = (boxes[:, 1] + boxes[:, 3]) / 2
    cam_x = follow(centre_x, ids, low=crop_w / 2, high=width - crop_w / 2, fps=rate, settings=settings,
                   extent=width, jump=crop_w, cuts=cuts, spans=boxes[:, 2] - boxes[:, 0], window=crop_w)
    cam_y = follow(centre_y, ids, low=crop_h / 2, high=height - crop_h / 2, fps=rate, settings=settings,
                   extent=height, jump=crop_h, cuts=cuts, spans=boxes[:, 3] - boxes[:, 1], window=crop_h)

    n_out = plan.output_frames
    source_index = np.array([min(n_source - 1, plan.source_frame(j)) for j in range(n_out)], dtype=int)
    sizes: dict[str, object] = {}
    pan = cam_x[source_index]
    if settings.two_people == "speaker" and settings.no_face == "centre":
        x = np.round(cam_x[source_index] - crop_w / 2).astype(int).clip(0, width - crop_w)
        y = np.round(cam_y[source_index] - crop_h / 2).astype(int).clip(0, height - crop_h)
        win_w, win_h = np.full(n_out, crop_w), np.full(n_out, crop_h)
    else:
        faces = _all_boxes(tracks, n_source, plan.rate)
        x, y, win_w, win_h = _windows(faces, boxes, ids, cam_x, cam_y, width=width, height=height, ratio=ratio,
                                      crop=(crop_w, crop_h), rate=rate, settings=settings, cuts=cuts)
        x, y, win_w, win_h = x[source_index], y[source_index], win_w[source_index], win_h[source_index]
        pan = x + win_w / 2
        inside_frame = (x >= 0) & (y >= 0) & (x + win_w <= width) & (y + win_h <= height)
        if np.any(win_w != crop_w) or not inside_frame.all():
            sizes = dict(w=win_w, h=win_h, source_width=width, source_height=height)

    subject = boxes[source_index]
    with_face = ~np.isnan(subject[:, 0])
    inside = (
        (subject[:, 0] >= x - 1) & (subject[:, 2] <= x + win_w + 1)
        & (subject[:, 1] >= y - 1) & (subject[:, 3] <= y + win_h + 1)
    )
    outside = with_face & ~inside
    jerk = _jerk(pan, rate=rate, width=width, jump=crop_w / 2)
    return FramingPath(
        aspect=aspect, fps=plan.rate.text, crop_width=crop_w, crop_height=crop_h, out_width=out_w, out_height=out_h, x=x, y=y,
        subject_inside_share=float(inside[with_face].mean()) if with_face.any() else 1.0,
        tracked_frames=int(with_face.sum()), jerk=jerk, **sizes,
        no_face_share=float(1.0 - with_face.mean()) if n_out else 0.0,
        worst_outside_frames=max(_run_lengths(outside), default=0),
        n_shots=len({int(c) for c in cuts if 0 < c < n_source}) + 1,
    )


def _all_boxes(tracks: Sequence[Track], n_frames: int, rate: FrameRate) -> np.ndarray:
    """Every track's box at every frame, shaped ``(tracks, frames, 4)``, NaN where absent."""
    out = np.full((len(tracks), n_frames, 4), np.nan)
    for k, track in enumerate(tracks):
        rows = _rows(track, n_frames, rate)
        out[k, rows >= 0] = track.xyxy[rows[rows >= 0]]
    return out


def _windows(
    faces: np.ndarray, boxes: np.ndarray, ids: np.ndarray, cam_x: np.ndarray, cam_y: np.ndarray, *, width: int,
    height: int, ratio: Fraction, crop: tuple[int, int], rate: float, settings: FramingSettings,
    cuts: Sequence[int] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per source frame, a window of `ratio` (top-left may lie outside the frame) for the two optional modes.

    The camera pans to the group's centre; the width follows its target like the camera does
    (bounded speed, dead zone): twice the group's reach from the camera's actual centre, plus
    margins and one dead zone (so a held window still holds the group), or the plain crop where
    fewer than two faces are present. Clamping a wide window into the frame only moves it towards
    the group.
    """
    crop_w, crop_h = crop
    full_w = max(width, int(np.ceil(height * ratio)))
    count = np.sum(~np.isnan(faces[:, :, 0]), axis=0) if len(faces) else np.zeros(len(boxes), dtype=int)
    dead = settings.dead_zone * width
    if settings.two_people == "widest" and np.any(count >= 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            union = np.stack([np.nanmin(faces[:, :, 0], 0), np.nanmin(faces[:, :, 1], 0),
                              np.nanmax(faces[:, :, 2], 0), np.nanmax(faces[:, :, 3], 0)], axis=1)
            margin = settings.group_margin * np.nanmax(faces[:, :, 3] - faces[:, :, 1], axis=0)
        group = count >= 2
        goal_x = np.where(group, (union[:, 0] + union[:, 2]) / 2, (boxes[:, 0] + boxes[:, 2]) / 2)
        goal_y = np.where(group, (union[:, 1] + union[:, 3]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2)
        cam_x = follow(goal_x, ids, low=crop_w / 2, high=width - crop_w / 2, fps=rate, settings=settings,
                       extent=width, jump=crop_w, cuts=cuts)
        cam_y = follow(goal_y, ids, low=crop_h / 2, high=height - crop_h / 2, fps=rate, settings=settings,
                       extent=height, jump=crop_h, cuts=cuts)
        reach_x = np.maximum(cam_x - union[:, 0], union[:, 2] - cam_x) + margin
        reach_y = np.maximum(cam_y - union[:, 1], union[:, 3] - cam_y) + margin
        need = 2 * np.maximum(reach_x, reach_y * float(ratio))
        target_w = np.where(group, need + dead, crop_w - dead)
        target_w[count == 0] = np.nan
        win_w = follow(target_w, ids, low=crop_w, high=full_w, fps=rate, settings=settings, extent=width, jump=full_w,
                       cuts=cuts)
    else:
        win_w = np.full(len(boxes), float(crop_w))
    if settings.no_face == "letterbox":
        blank = _long_runs(count == 0, int(round(settings.min_no_face_s * rate)))
        win_w = np.where(blank, full_w, win_w)
        cam_x, cam_y = np.where(blank, width / 2, cam_x), np.where(blank, height / 2, cam_y)
    w = np.maximum(np.round(win_w / 2).astype(int) * 2, crop_w)
    h = np.where(w == crop_w, crop_h, np.round(w / float(ratio) / 2).astype(int) * 2)
    return _corner(cam_x, w, width), _corner(cam_y, h, height), w, h


def _corner(centre: np.ndarray, size: np.ndarray, extent: int) -> np.ndarray:
    """Top-left coordinate of a window of `size` around `centre`: inside ``[0, extent]`` when it fits, else centred."""
    inside = np.clip(np.round(centre - size / 2), 0, np.maximum(extent - size, 0))
    return np.where(size <= extent, inside, (extent - size) // 2).astype(int)


def _run_lengths(mask: np.ndarray) -> list[int]:
    """Lengths of the True runs of `mask`."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return (edges[1::2] - edges[::2]).tolist()


def _long_runs(mask: np.ndarray, minimum: int) -> np.ndarray:
    """`mask` with its True runs shorter than `minimum` frames cleared."""
    out = np.zeros_like(mask)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    for start, end in zip(edges[::2], edges[1::2]):
        out[start:end] = end - start >= minimum
    return out


def crop_commands(path: FramingPath) -> str:
    """``sendcmd`` lines that move the crop window on the frames where it moves."""
    rate = float(path.rate)
    lines, last = [], None
    for j, (x, y) in enumerate(zip(path.x.tolist(), path.y.tolist())):
        if (x, y) != last:
            lines.append(f"{_command_time(j, rate):.6f} {CROP} x {x}, {CROP} y {y};")
            last = (x, y)
    return "\n".join(lines) + "\n"


def _command_time(frame: int, rate: float) -> float:
    """When a ``sendcmd`` command for output frame `frame` is due: half a frame early.

    ``sendcmd`` runs a command before the first frame whose time reaches it; at 2997/100 a frame's
    time in the stream's time base can round to just below ``frame / rate`` (74/29.97 = 2.4691358 s
    against a command written as 2.469136), which moved the crop one frame after a cut.
    """
    return max(0.0, (frame - 0.5) / rate)


def foreground(path: FramingPath) -> np.ndarray:
    """Per output frame: the part of the window inside the source frame and its size in the output.

    Rows are ``(x, y, w, h, out_w, out_h)``: the source region to crop and the even size it is
    scaled to; a window inside the frame fills the output exactly, one reaching outside it leaves
    room for blurred bars (the region is centred in the window there, so the overlay is centred too).
    """
    left, top = np.maximum(path.x, 0), np.maximum(path.y, 0)
    right = np.minimum(path.x + path.w, path.source_width)
    bottom = np.minimum(path.y + path.h, path.source_height)
    region_w, region_h = right - left, bottom - top
    fit_w = np.maximum(2, np.round(region_w * path.out_width / path.w / 2).astype(int) * 2)
    fit_h = np.maximum(2, np.round(region_h * path.out_height / path.h / 2).astype(int) * 2)
    out_w = np.where(region_w == path.w, path.out_width, np.minimum(fit_w, path.out_width))
    out_h = np.where(region_h == path.h, path.out_height, np.minimum(fit_h, path.out_height))
    return np.stack([left, top, region_w, region_h, out_w, out_h], axis=1).astype(int)


def window_commands(path: FramingPath) -> str:
    """``sendcmd`` lines that move and resize the foreground crop (``crop@fg``) and its scale (``scale@fg``)."""
    rate = float(path.rate)
    lines, last = [], None
    for j, row in enumerate(foreground(path).tolist()):
        if row != last:
            x, y, w, h, out_w, out_h = row
            lines.append(f"{_command_time(j, rate):.6f} {FOREGROUND_CROP} w {w}, {FOREGROUND_CROP} h {h}, "
                         f"{FOREGROUND_CROP} x {x}, {FOREGROUND_CROP} y {y}, "
                         f"{FOREGROUND_SCALE} w {out_w}, {FOREGROUND_SCALE} h {out_h};")
            last = row
    return "\n".join(lines) + "\n"


def _jerk(x: np.ndarray, *, rate: float, width: int, jump: float) -> float:
    """Mean |third derivative| of the pan in frame widths per s³, cuts (jumps) excluded."""
    if len(x) < 4:
        return 0.0
    steps = np.diff(x)
    moving = np.abs(steps) <= jump
    third = np.diff(steps, n=2)
    calm = moving[:-2] & moving[1:-1] & moving[2:]
    return float(np.abs(third[calm]).mean() * rate**3 / width) if calm.any() else 0.0
