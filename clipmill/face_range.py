"""Face tracks of a local video range, and an overlay video to check them by eye.

Runs the face stage in this process (no Prefect, no object store): the range is planned in chunks,
each chunk is detected and tracked with :func:`~clipmill.vision.faces_io.detect_chunk`, and the chunks
are stitched exactly as the distributed stage does. `render_overlay` draws each track's box and id
on the decoded frames and pipes them into ffmpeg. The ``clipmill faces`` command (`clipmill.cli.faces`)
prints what this finds.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from clipmill.errors import InputError, ToolError
from clipmill.media import iter_frame_chunks, probe
from clipmill.media.tool import require, stderr_tail
from clipmill.timebase import SECONDS_RESOLUTION_S
from clipmill.vision.chunks import fps_value, merge_cut_times, plan_chunks, stitch_chunks
from clipmill.vision.faces_io import FaceOptions, analyse_chunk, default_analysis_size, reference_embeddings
from clipmill.vision.identity import IDENTITY_THRESHOLDS, label_tracks, load_embedder
from clipmill.vision.tracking import Track

__all__ = ["RangeFaces", "analyse_range", "detect_range", "faces_document", "label_range", "render_overlay"]

_COLOURS = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
            (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]
_REJECTED = (160, 160, 160)
_CUT = (255, 0, 0)
#: frames of a new shot that carry the cut mark
_CUT_MARK_FRAMES = 6


def faces_document(
    tracks: Sequence[Track], *, fps: float, width: int, height: int, labels: Mapping[int, str] | None = None
) -> dict[str, Any]:
    """The ``--json`` document: one row ``[t, x1, y1, x2, y2, confidence]`` per analysed frame of a track.

    ``labels`` names tracks by id (from reference faces); other tracks have a null label.
    """
    labels = labels or {}
    return {
        "fps": fps,
        "width": width,
        "height": height,
        "tracks": [
            {
                "id": int(tr.id),
                "label": labels.get(int(tr.id)),
                "frames": [
                    [round(float(t), 6), *(round(float(v), 2) for v in box), round(float(c), 4)]
                    for t, box, c in zip(tr.times, tr.xyxy, tr.confidence)
                ],
            }
            for tr in tracks
        ],
    }


@dataclass(frozen=True)
class RangeFaces:
    """What the face stage found in a range of a source, times on the source's timeline."""

    tracks: list[Track]
    rejected: list[Track]
    cut_times_s: np.ndarray
    fps: float
    size: tuple[int, int]
    start_s: float
    duration_s: float


def detect_range(
    source: Path, *, start: float | None, end: float | None, options: FaceOptions, fps: float | None
) -> tuple[list[Track], float, tuple[int, int], float, float]:
    """Tracks of ``[start, end)`` of ``source`` on its own timeline.

    Returns
    -------
    tracks, fps, (width, height), start_s, duration_s
    """
    found = analyse_range(source, start=start, end=end, options=options, fps=fps)
    return found.tracks, found.fps, found.size, found.start_s, found.duration_s


def analyse_range(
    source: Path, *, start: float | None, end: float | None, options: FaceOptions, fps: float | None
) -> RangeFaces:
    """`detect_range` with the rejected candidates and the shot cuts, for the overlay."""
    info = probe(source)
    start_s = 0.0 if start is None else float(start)
    end_s = info.duration_s if end is None else float(end)
    if not 0 <= start_s < end_s <= info.duration_s + SECONDS_RESOLUTION_S:
        raise InputError(
            f"range [{start_s}, {end_s}) is not inside the source's [0, {info.duration_s:.3f}) s: "
            "give 0 <= --start < --end <= duration"
        )
    rate = fps_value(info.fps) if fps is None else fps_value(fps)
    size = info.display_size
    specs = plan_chunks(
        end_s - start_s, fps=rate, chunk_s=options.chunk_s, overlap_frames=options.overlap_frames, start_s=start_s
    )
    per_chunk = [
        analyse_chunk(
            source, spec, fps=rate, source_size=size,
            analysis_size=default_analysis_size(*size, max_side=options.analysis_max_side),
            ensemble_config=options.ensemble_config(), sampling=options.sampling_config(),
            identity=options.identity,
        )
        for spec in specs
    ]
    threshold = None if options.identity is None else IDENTITY_THRESHOLDS[options.identity]
    rejected = [tr for chunk in per_chunk for tr in chunk.rejected]
    return RangeFaces(
        tracks=stitch_chunks([chunk.tracks for chunk in per_chunk], reid_threshold=threshold),
        rejected=[replace(tr, id=k) for k, tr in enumerate(rejected, start=1)],
        cut_times_s=merge_cut_times([chunk.cut_times_s for chunk in per_chunk], fps=rate),
        fps=rate, size=size, start_s=start_s, duration_s=end_s - start_s,
    )


def label_range(tracks: Sequence[Track], options: FaceOptions) -> dict[int, str]:
    """Track id to name for the tracks that match one of ``options.identify``'s reference photos."""
    if not options.identify or options.identity is None:
        return {}
    embedder = load_embedder(options.identity)
    references = reference_embeddings(options.identify, embedder=embedder, ensemble_config=options.ensemble_config())
    return label_tracks(tracks, references, threshold=embedder.threshold)


def render_overlay(
    source: Path,
    tracks: Sequence[Track],
    output: Path,
    *,
    start_s: float,
    duration_s: float,
    fps: float,
    size: tuple[int, int],
    ffmpeg: str = "ffmpeg",
    rejected: Sequence[Track] = (),
    cut_times_s: Sequence[float] = (),
) -> Path:
    """Encode ``[start_s, start_s + duration_s)`` of ``source`` with each track's box and id drawn on it.

    Rejected candidates (``rejected``: boxes the tracker saw but never confirmed as faces) are drawn
    in grey with their confidence, held between their observations; the shot number is written in
    the corner, and the first frames of each new shot (``cut_times_s``) get a red border and "CUT".
    """
    cuts = np.sort(np.asarray(cut_times_s, np.float64))
    boxes: dict[int, list[tuple[int, np.ndarray]]] = {}
    for tr in tracks:
        for t, box in zip(tr.times, tr.xyxy):
            boxes.setdefault(int(round(t * 1e6)), []).append((tr.id, box))
    width, height = size
    command = [
        require(ffmpeg), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", f"{fps:.6f}", "-i", "pipe:0",
        "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        str(output),
    ]
    encoder = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert encoder.stdin is not None
    try:
        for part in iter_frame_chunks(source, fps=fps, size=size, start_s=start_s, duration_s=duration_s, ffmpeg=ffmpeg):
            frames = part.frames.copy()
            for frame, t in zip(frames, part.times_s):
                for candidate in rejected:
                    _draw_rejected(frame, candidate, float(t))
                for track_id, box in boxes.get(int(round(t * 1e6)), []):
                    _draw(frame, track_id, box)
                _draw_shot(frame, cuts, float(t), fps)
            encoder.stdin.write(frames.tobytes())
    except BrokenPipeError:
        pass
    finally:
        encoder.stdin.close()
        stderr = encoder.stderr.read() if encoder.stderr else b""
        code = encoder.wait()
    if code != 0:
        raise ToolError(f"encoding the overlay {output} failed: {stderr_tail(stderr)}")
    return output


def _draw(frame: np.ndarray, track_id: int, box: np.ndarray) -> None:
    colour = _COLOURS[(track_id - 1) % len(_COLOURS)]
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    cv2.rectangle(frame, (x1, y1), (x2, y2), colour, 2)
    cv2.putText(frame, f"#{track_id}", (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)


def _draw_rejected(frame: np.ndarray, candidate: Track, t: float) -> None:
    """The candidate's last observed box at time ``t`` (none outside its life), thin and grey."""
    if not candidate.start <= t <= candidate.end:
        return
    k = max(0, int(np.searchsorted(candidate.times, t + 1e-6)) - 1)
    x1, y1, x2, y2 = (int(round(float(v))) for v in candidate.xyxy[k])
    cv2.rectangle(frame, (x1, y1), (x2, y2), _REJECTED, 1)
    cv2.putText(frame, f"rejected {candidate.confidence[k]:.2f}", (x1, min(frame.shape[0] - 4, y2 + 14)),
                cv2.FONT_HERSHEY_SIMPLEX, 0.4, _REJECTED, 1, cv2.LINE_AA)


def _draw_shot(frame: np.ndarray, cuts: np.ndarray, t: float, fps: float) -> None:
    """Shot number in the corner; a red border and "CUT" on the first frames of a new shot."""
    shot = int(np.searchsorted(cuts, t + 0.5 / fps, side="right"))
    cv2.putText(frame, f"shot {shot + 1}", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
    if shot and t - cuts[shot - 1] < _CUT_MARK_FRAMES / fps - 0.5 / fps:
        h, w = frame.shape[:2]
        cv2.rectangle(frame, (0, 0), (w - 1, h - 1), _CUT, 6)
        cv2.putText(frame, "CUT", (8, 48), cv2.FONT_HERSHEY_SIMPLEX, 0.8, _CUT, 2, cv2.LINE_AA)
