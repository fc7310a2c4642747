"""Labelled face video built in memory: real face photos moved along known paths over real backgrounds.

Ground truth follows from the construction: each face sprite carries its face box (the mean of YuNet's
and BlazeFace's boxes on the full-resolution photo, checked by eye), and the renderer applies the same
scale and offset to the box as to the pixels. Occluders are panels of another real photo drawn over
the face; a face counts as visible where at least 90% of its box is uncovered.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from clipmill.vision.detections import box_iou
from clipmill.vision.ensemble import load_ensemble
from clipmill.vision.tracking import Track

skimage_data = pytest.importorskip("skimage.data")

FPS = 25.0


@dataclass(frozen=True)
class Sprite:
    """A face photo crop and its face box in crop pixels."""

    rgb: np.ndarray
    face: np.ndarray  # x1, y1, x2, y2

    @property
    def face_width(self) -> float:
        return float(self.face[2] - self.face[0])


@dataclass(frozen=True)
class Actor:
    """A sprite following a path: ``path(t) -> (x, y, face_width)`` of the face box's top-left corner."""

    sprite: Sprite
    path: Callable[[float], tuple[float, float, float]]


@dataclass(frozen=True)
class Clip:
    frames: np.ndarray  # (T, H, W, 3) uint8
    times: np.ndarray  # (T,)
    boxes: np.ndarray  # (T, P, 4) ground-truth face boxes
    visible: np.ndarray  # (T, P) bool


def _soft_ellipse(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    r = ((xx - (w - 1) / 2) / (w / 2)) ** 2 + ((yy - (h - 1) / 2) / (h / 2)) ** 2
    return np.clip((1.0 - r) / 0.25, 0.0, 1.0)[..., None].astype(np.float32)


def render(
    background: np.ndarray,
    actors: Sequence[Actor],
    *,
    seconds: float,
    occluders: Sequence[tuple[float, float, tuple[int, int, int, int], np.ndarray]] = (),
) -> Clip:
    """Draw ``actors`` over ``background`` for ``seconds``; occluders are ``(t0, t1, xyxy, image)``."""
    height, width = background.shape[:2]
    times = np.arange(int(round(seconds * FPS))) / FPS
    frames = np.empty((len(times), height, width, 3), np.uint8)
    boxes = np.zeros((len(times), len(actors), 4))
    visible = np.zeros((len(times), len(actors)), bool)
    for i, t in enumerate(times):
        frame = background.astype(np.float32)
        for k, actor in enumerate(actors):
            x, y, face_w = actor.path(float(t))
            s = face_w / actor.sprite.face_width
            sprite = cv2.resize(actor.sprite.rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
            sh, sw = sprite.shape[:2]
            ox = int(round(x - actor.sprite.face[0] * s))
            oy = int(round(y - actor.sprite.face[1] * s))
            x0, y0, x1, y1 = max(ox, 0), max(oy, 0), min(ox + sw, width), min(oy + sh, height)
            alpha = _soft_ellipse(sh, sw)[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
            part = sprite[y0 - oy : y1 - oy, x0 - ox : x1 - ox].astype(np.float32)
            frame[y0:y1, x0:x1] = alpha * part + (1 - alpha) * frame[y0:y1, x0:x1]
            boxes[i, k] = actor.sprite.face * s + [ox, oy, ox, oy]
            visible[i, k] = True
        for t0, t1, (ax0, ay0, ax1, ay1), image in occluders:
            if t0 <= t < t1:
                frame[ay0:ay1, ax0:ax1] = cv2.resize(image, (ax1 - ax0, ay1 - ay0))
                for k in range(len(actors)):
                    b = boxes[i, k]
                    ix = max(0.0, min(b[2], ax1) - max(b[0], ax0))
                    iy = max(0.0, min(b[3], ay1) - max(b[1], ay0))
                    covered = ix * iy / ((b[2] - b[0]) * (b[3] - b[1]))
                    visible[i, k] &= covered <= 0.1
        frames[i] = np.clip(frame, 0, 255).astype(np.uint8)
    return Clip(frames, times, boxes, visible)


@dataclass(frozen=True)
class Score:
    recall: float
    mean_iou: float
    id_switches: int
    ids_per_person: list[set[int]]
    n_tracks: int

    def __str__(self) -> str:
        return (
            f"recall={self.recall:.3f} mean_iou={self.mean_iou:.3f} id_switches={self.id_switches} "
            f"tracks={self.n_tracks} ids_per_person={self.ids_per_person}"
        )


def score_tracks(clip: Clip, tracks: Sequence[Track], *, min_iou: float = 0.5) -> Score:
    """Per-frame recall and IoU of track boxes against the truth, and identity switches per person."""
    hits, ious, switches = 0, [], 0
    total = int(clip.visible.sum())
    ids: list[set[int]] = [set() for _ in range(clip.boxes.shape[1])]
    last_id: list[int | None] = [None] * clip.boxes.shape[1]
    for i, t in enumerate(clip.times):
        present = [(tr.id, tr.at(float(t))) for tr in tracks]
        present = [(tid, b) for tid, b in present if b is not None]
        for k in range(clip.boxes.shape[1]):
            if not clip.visible[i, k] or not present:
                continue
            iou = box_iou(clip.boxes[i, k][None], np.array([b for _, b in present]))[0]
            j = int(np.argmax(iou))
            if iou[j] < min_iou:
                continue
            hits += 1
            ious.append(float(iou[j]))
            tid = present[j][0]
            ids[k].add(tid)
            switches += last_id[k] is not None and last_id[k] != tid
            last_id[k] = tid
    return Score(hits / max(total, 1), float(np.mean(ious)) if ious else 0.0, switches, ids, len(tracks))


def detection_recall(boxes: np.ndarray, visible: np.ndarray, found, *, min_iou: float = 0.5) -> tuple[float, float]:
    """Recall and mean IoU of per-frame detections against visible truth boxes."""
    hits, ious, total = 0, [], 0
    for truth, vis, dets in zip(boxes, visible, found):
        for b in truth[vis]:
            total += 1
            if len(dets):
                iou = box_iou(b[None], dets.xyxy)[0].max()
                if iou >= min_iou:
                    hits += 1
                    ious.append(float(iou))
    return hits / max(total, 1), float(np.mean(ious)) if ious else 0.0


def _read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="session")
def sprites(shared_media: Path) -> dict[str, Sprite]:
    astronaut = skimage_data.astronaut()
    pexels = _read_rgb(shared_media / "images" / "pexels_two_women_on_phones.jpg")
    near = cv2.resize(pexels[0:1100, 2000:3000], (300, 330), interpolation=cv2.INTER_AREA)
    return {
        # face box: mean of YuNet (178, 65, 269, 176) and BlazeFace (177, 82, 272, 177) on the photo
        "astronaut": Sprite(astronaut[20:250, 110:340], np.array([67.5, 53.5, 160.5, 156.5])),
        # mean of YuNet (2280, 139, 2731, 747) and BlazeFace (2247, 289, 2783, 825), crop scaled by 0.3
        "pexels_near": Sprite(near, (np.array([2263.5, 214.0, 2757.0, 786.0]) - [2000, 0, 2000, 0]) * 0.3),
    }


@pytest.fixture(scope="session")
def backgrounds(shared_media: Path) -> dict[str, np.ndarray]:
    pexels = _read_rgb(shared_media / "images" / "pexels_two_women_on_phones.jpg")
    return {
        "coffee": cv2.resize(skimage_data.coffee(), (1280, 720)),
        "trees": cv2.resize(pexels[0:1150, 900:1800], (1280, 720)),
        "rocket": cv2.resize(skimage_data.rocket(), (1280, 720)),
        "trees_1080p": cv2.resize(pexels[0:1150, 900:1800], (1920, 1080)),
    }


@pytest.fixture(scope="session")
def loaded_ensemble():
    """The default detector ensemble (committed weights), loaded once."""
    loaded = load_ensemble()
    yield loaded
    loaded.close()


@pytest.fixture
def ensemble(loaded_ensemble):
    """The default ensemble, its cascade's memory of earlier videos cleared."""
    loaded_ensemble.reset()
    return loaded_ensemble


def decode_rgb(path: Path) -> tuple[np.ndarray, float]:
    """All frames of a video as uint8 RGB via ffmpeg, and its frame rate."""
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height,r_frame_rate", "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout.strip().split(",")
    width, height = int(probe[0]), int(probe[1])
    num, den = probe[2].split("/")
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3), float(num) / float(den)


@pytest.fixture(scope="session")
def synth():
    """The helpers above, for the test modules (conftest modules are not importable by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        Actor=Actor,
        FPS=FPS,
        decode_rgb=decode_rgb,
        detection_recall=detection_recall,
        render=render,
        score_tracks=score_tracks,
    )
