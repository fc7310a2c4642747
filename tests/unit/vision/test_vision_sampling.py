"""Frame sampling: exact indices for uniform and motion-driven sampling."""

from __future__ import annotations

import numpy as np
import pytest

from clipmill.errors import InputError
from clipmill.vision.sampling import motion_energy, sample_motion, sample_uniform


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
    with pytest.raises(InputError):
        sample_uniform(10, fps=25, **kwargs)


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
    with pytest.raises(InputError):
        sample_motion(still, fps=fps, min_rate_hz=5, max_rate_hz=2)
