"""Frame sampling: exact indices for uniform, motion, key-frame and adaptive sampling."""

from __future__ import annotations

import numpy as np
import pytest

from clipmill.errors import InternalError
from clipmill.vision.detections import Detections
from clipmill.vision.sampling import (
    AdaptiveSampler,
    i420_thumbnails,
    motion_energy,
    sample_keyframes,
    sample_motion,
    sample_uniform,
    thumbnail_change,
    thumbnails,
)


def test_uniform_every_includes_last_frame() -> None:
    assert sample_uniform(10, fps=25, every=3).tolist() == [0, 3, 6, 9]
    assert sample_uniform(11, fps=25, every=3).tolist() == [0, 3, 6, 9, 10]
    assert sample_uniform(1, fps=25, every=5).tolist() == [0]
    assert sample_uniform(0, fps=25, every=5).tolist() == []


def test_uniform_rate_hz() -> None:
    assert sample_uniform(25, fps=25, rate_hz=5).tolist() == [0, 5, 10, 15, 20, 24]
    # 29.97 fps at 10 Hz: strides of ~3 frames, rounded positions
    assert sample_uniform(10, fps=30000 / 1001, rate_hz=10).tolist() == [0, 3, 6, 9]


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"every": 2, "rate_hz": 2}, {"every": 0}, {"rate_hz": -1}],
)
def test_uniform_rejects_bad_parameters(kwargs) -> None:
    with pytest.raises(InternalError):
        sample_uniform(10, fps=25, **kwargs)


def test_i420_thumbnails_are_the_grey_thumbnails_of_the_rgb_frames() -> None:
    import cv2

    rng = np.random.default_rng(3)
    scene = cv2.resize(rng.integers(40, 216, (4, 8, 3), dtype=np.uint8), (128, 64), interpolation=cv2.INTER_LINEAR)
    rgb = np.stack([scene[:, :96], scene[:, 16:112], 255 - scene[:, :96]])  # a pan, then an inverted picture
    i420 = np.stack([cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420) for frame in rgb])
    assert i420.shape == (3, 96, 96)
    expected, found = thumbnails(rgb, size=32), i420_thumbnails(i420, size=32)
    assert found.shape == expected.shape == (3, 22, 32)
    assert np.abs(found - expected).mean() < 0.01  # colour detail lost to 4:2:0 only
    np.testing.assert_allclose(thumbnail_change(found), thumbnail_change(expected), atol=0.003)
    with pytest.raises(InternalError, match="I420"):
        i420_thumbnails(rgb)


def test_motion_energy_is_zero_for_still_frames_and_positive_on_change() -> None:
    frames = np.zeros((4, 32, 32, 3), np.uint8)
    frames[2:] = 255
    energy = motion_energy(frames)
    assert energy.tolist() == [0.0, 0.0, 1.0, 0.0]


def test_motion_sampling_follows_motion_between_bounds() -> None:
    fps = 10.0
    still = np.zeros(30)
    # still picture: only the minimum rate (every 5 frames at 2 Hz) plus the last frame
    assert sample_motion(still, fps=fps, min_rate_hz=2, max_rate_hz=10).tolist() == [0, 5, 10, 15, 20, 25, 29]
    moving = np.full(30, 0.05)
    # strong motion: the maximum rate (every frame at 10 Hz)
    assert sample_motion(moving, fps=fps, min_rate_hz=2, max_rate_hz=10).tolist() == list(range(30))
    burst = np.zeros(30)
    burst[12] = 0.5
    assert sample_motion(burst, fps=fps, min_rate_hz=2, max_rate_hz=10).tolist() == [0, 5, 10, 12, 17, 22, 27, 29]
    with pytest.raises(InternalError):
        sample_motion(still, fps=fps, min_rate_hz=5, max_rate_hz=2)


def test_keyframes_are_kept_and_long_gops_are_filled_at_the_floor_rate() -> None:
    # key frames at 0, 10 and 100 (a 4 s GOP at 25 fps); floor 1 Hz adds every 25th frame after each
    chosen = sample_keyframes(120, np.asarray([0, 10, 100, 500]), fps=25, min_rate_hz=1.0, confirm=0)
    assert chosen.tolist() == [0, 10, 35, 60, 85, 100, 119]
    assert sample_keyframes(0, np.asarray([0]), fps=25).tolist() == []
    # no key frame known: the floor rate alone
    assert sample_keyframes(60, np.zeros(0, np.int64), fps=25, min_rate_hz=1.0, confirm=0).tolist() == [0, 25, 50, 59]


def test_each_key_frame_is_followed_by_quick_samples_to_confirm_new_faces() -> None:
    chosen = sample_keyframes(120, np.asarray([10, 100]), fps=25, min_rate_hz=1.0, max_rate_hz=12.5, confirm=2)
    assert chosen.tolist() == [0, 2, 4, 10, 12, 14, 39, 64, 89, 100, 102, 104, 119]
    with pytest.raises(InternalError):
        sample_keyframes(10, np.asarray([0]), fps=25, min_rate_hz=2.0, max_rate_hz=1.0)


def face_at(x: float, *, conf: float = 0.9, size: float = 100.0) -> Detections:
    return Detections([[x, 100, x + size, 100 + size]], [conf])


def feed(sampler: AdaptiveSampler, faces, energy=None) -> list[int]:
    """Indices the sampler detects when frame i shows ``faces(i)``."""
    detected = []
    for i in range(len(faces)):
        def detect(k: int) -> Detections:
            detected.append(k)
            return faces[k]
        sampler.step(i, 0.0 if energy is None else energy[i], detect)
    return detected


def test_adaptive_sampling_backs_off_on_a_still_confident_face() -> None:
    sampler = AdaptiveSampler(fps=25, min_rate_hz=1.0, max_rate_hz=12.5)
    detected = feed(sampler, [face_at(300)] * 150)
    # gaps double from 2 frames to the 25-frame ceiling, then stay there
    assert np.diff(detected).tolist()[:5] == [2, 4, 8, 16, 25]
    assert set(np.diff(detected)[4:].tolist()) == {25}


def test_adaptive_sampling_stays_fast_while_the_face_moves_or_is_unsure() -> None:
    moving = [face_at(100 + 8 * i) for i in range(100)]  # 2 box heights per second at 25 fps
    assert set(np.diff(feed(AdaptiveSampler(fps=25), moving)).tolist()) == {2}
    unsure = [face_at(300, conf=0.4)] * 100
    assert set(np.diff(feed(AdaptiveSampler(fps=25), unsure)).tolist()) == {2}


def test_adaptive_sampling_speeds_up_when_a_face_appears_or_the_picture_moves() -> None:
    faces = [face_at(300)] * 100 + [Detections.concat([face_at(300), face_at(700)])] * 50
    detected = feed(AdaptiveSampler(fps=25, min_rate_hz=1.0), faces)
    after = [i for i in detected if i >= 100]
    assert after[1] - after[0] == 2  # the second face resets the interval at its first sighting
    energy = np.zeros(150)
    energy[80:] = 0.01  # the picture starts moving: accumulated change triggers samples early
    detected = feed(AdaptiveSampler(fps=25, min_rate_hz=1.0, motion_threshold=0.02), [face_at(300)] * 150, energy)
    assert max(np.diff([i for i in detected if i >= 82])) == 2


def test_adaptive_sampler_forces_and_checks_order() -> None:
    sampler = AdaptiveSampler(fps=25, min_rate_hz=1.0)
    seen = []
    detect = lambda k: seen.append(k) or face_at(300)  # noqa: E731
    for i in range(40):
        sampler.step(i, 0.0, detect, force=i == 33)
    assert 33 in seen
    with pytest.raises(InternalError, match="increasing"):
        sampler.step(10, 0.0, detect)
    with pytest.raises(InternalError):
        AdaptiveSampler(fps=25, min_rate_hz=5, max_rate_hz=2)
