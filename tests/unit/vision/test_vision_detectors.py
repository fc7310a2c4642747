"""Detector configuration, loading contract, analysis size and tiling; real models on one photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clipmill.errors import InputError, InternalError, ModelUnavailable
from clipmill.vision.detections import Detections, box_iou
from clipmill.vision.detectors import (
    MODELS_DIR,
    Detector,
    DetectorConfig,
    check_frames,
    detect_at_analysis_size,
    load_detector,
)


def test_unknown_detector_name_lists_valid_names() -> None:
    with pytest.raises(InputError, match="unknown detector 'haar'; valid names: mediapipe, retinaface, yolo, yunet"):
        DetectorConfig("haar")


@pytest.mark.parametrize(
    "kwargs", [{"max_side": 10}, {"tiles": (0, 2)}, {"tile_overlap": 0.6}, {"score_threshold": 2.0}]
)
def test_bad_detector_parameters(kwargs) -> None:
    with pytest.raises(InputError):
        DetectorConfig("yunet", **kwargs)


def test_check_frames_wants_uint8_batches() -> None:
    with pytest.raises(InternalError, match=r"uint8 array \(B, H, W, 3\) RGB, got uint8 \(4, 4, 3\)"):
        check_frames(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InternalError, match="float32"):
        check_frames(np.zeros((1, 4, 4, 3), np.float32))


def _marker_detector(seen: list[tuple[int, int]]):
    """Fake model: records image sizes, returns one box around the white pixels of its input."""

    def detect_image(image: np.ndarray) -> Detections:
        seen.append(image.shape[:2])
        ys, xs = np.nonzero(image[..., 0] > 128)
        if not len(xs):
            return Detections.empty()
        return Detections([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], [0.9])

    return detect_image


def test_boxes_come_back_in_source_pixels_after_downscaling() -> None:
    frame = np.zeros((400, 800, 3), np.uint8)
    frame[100:200, 400:600] = 255
    seen: list[tuple[int, int]] = []
    found = detect_at_analysis_size(frame, _marker_detector(seen), DetectorConfig("yunet", max_side=200))
    assert seen == [(100, 200)]
    assert found.xyxy.tolist() == [[400, 100, 600, 200]]
    assert found.source.tolist() == ["yunet"]


def test_tiles_are_overlapping_windows_and_merge_by_nms() -> None:
    frame = np.zeros((400, 800, 3), np.uint8)
    frame[100:140, 380:420] = 255  # on the seam between the two columns
    seen: list[tuple[int, int]] = []
    config = DetectorConfig("yunet", max_side=None, tiles=(1, 2), tile_overlap=0.2)
    found = detect_at_analysis_size(frame, _marker_detector(seen), config)
    # whole frame, then two tiles of 800 / 1.8 = 444 px starting at 0 and 356
    assert seen == [(400, 800), (400, 444), (400, 444)]
    assert found.xyxy.tolist() == [[380, 100, 420, 140]]


def test_detections_below_score_threshold_are_dropped() -> None:
    frame = np.zeros((10, 10, 3), np.uint8)
    frame[2:5, 2:5] = 255
    config = DetectorConfig("yunet", max_side=None, score_threshold=0.95)
    assert len(detect_at_analysis_size(frame, _marker_detector([]), config)) == 0


def test_missing_weights_name_the_path_and_the_setting(tmp_path: Path) -> None:
    missing = tmp_path / "nope.onnx"
    for name in ("yunet", "mediapipe"):
        with pytest.raises(ModelUnavailable, match=f"not found at '{missing}'.*detectors.{name}.weights.*CLIPMILL_"):
            load_detector(DetectorConfig(name, weights=missing))


def test_committed_default_weights_exist() -> None:
    assert (MODELS_DIR / "yunet" / "yunet_n_640_640.onnx").is_file()
    assert (MODELS_DIR / "mediapipe" / "face_detection_short_range.tflite").is_file()
    assert (MODELS_DIR / "SOURCES.md").is_file()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    data = pytest.importorskip("skimage.data")
    return data.astronaut()


ASTRONAUT_FACE = np.array([[177.5, 73.5, 270.5, 176.5]])  # mean of YuNet and BlazeFace on the photo


@pytest.mark.parametrize("name", ["yunet", "mediapipe"])
def test_default_backends_find_the_astronaut_at_any_analysis_size(name, astronaut) -> None:
    # a 2x upscaled copy analysed at 512 px must give the same box, scaled back to its pixels
    big = np.repeat(np.repeat(astronaut, 2, axis=0), 2, axis=1)
    detector = load_detector(DetectorConfig(name, max_side=512))
    try:
        assert isinstance(detector, Detector) and detector.name == name
        small, large = detector.detect(np.stack([astronaut, astronaut]))[0], detector.detect(big[None])[0]
    finally:
        getattr(detector, "close", lambda: None)()
    assert len(small) == len(large) == 1
    assert small.confidence[0] > 0.8
    assert box_iou(small.xyxy, ASTRONAUT_FACE)[0, 0] > 0.75
    assert box_iou(large.xyxy / 2, small.xyxy)[0, 0] > 0.9
    assert small.landmarks.shape == (1, 5, 2)
    eyes = small.landmarks[0, :2]
    assert np.all((eyes[:, 0] > 177) & (eyes[:, 0] < 271) & (eyes[:, 1] > 73) & (eyes[:, 1] < 177))


def test_env_var_supplies_weights(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLIPMILL_YUNET_WEIGHTS", str(tmp_path / "from_env.onnx"))
    with pytest.raises(ModelUnavailable, match="from_env.onnx"):
        load_detector(DetectorConfig("yunet"))
