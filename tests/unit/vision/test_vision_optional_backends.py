"""RetinaFace (plain torch re-implementation) on real weights; YOLO's loading contract."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from clipmill.errors import ModelUnavailable
from clipmill.vision.detections import box_iou
from clipmill.vision.detectors import DetectorConfig, load_detector

ASTRONAUT_FACE = np.array([[177.5, 73.5, 270.5, 176.5]])


def test_retinaface_without_weights_names_the_setting_and_env(monkeypatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.delenv("CLIPMILL_RETINAFACE_WEIGHTS", raising=False)
    with pytest.raises(ModelUnavailable, match="detectors.retinaface.weights.*CLIPMILL_RETINAFACE_WEIGHTS"):
        load_detector(DetectorConfig("retinaface"))


def test_retinaface_rejects_a_file_that_is_not_its_state_dict(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    bogus = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(1)}, bogus)
    with pytest.raises(ModelUnavailable, match="not a RetinaFace MobileNet-0.25 state dict"):
        load_detector(DetectorConfig("retinaface", weights=bogus))


def test_retinaface_finds_the_astronaut_with_landmarks(shared_models: Path, monkeypatch) -> None:
    pytest.importorskip("torch")
    data = pytest.importorskip("skimage.data")
    weights = shared_models / "retinaface" / "mobilenet0.25_Final.pth"
    monkeypatch.setenv("CLIPMILL_RETINAFACE_WEIGHTS", str(weights))
    detector = load_detector(DetectorConfig("retinaface", max_side=512, score_threshold=0.6))
    image = data.astronaut()
    doubled = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
    found, big = detector.detect(image[None])[0], detector.detect(doubled[None])[0]
    assert len(found) == 1 and found.confidence[0] > 0.99
    assert box_iou(found.xyxy, ASTRONAUT_FACE)[0, 0] > 0.75
    assert box_iou(big.xyxy[:1] / 2, found.xyxy)[0, 0] > 0.85  # source pixels whatever the analysis size
    eyes = found.landmarks[0, :2]
    assert eyes[0, 0] < eyes[1, 0]  # right eye (image left) first
    assert np.all((eyes[:, 1] > 73) & (eyes[:, 1] < 140))


def test_yolo_without_weights_names_the_setting(monkeypatch) -> None:
    monkeypatch.delenv("CLIPMILL_YOLO_WEIGHTS", raising=False)
    with pytest.raises(ModelUnavailable, match="yolo face detector needs a local weights file.*detectors.yolo.weights.*CLIPMILL_YOLO_WEIGHTS"):
        load_detector(DetectorConfig("yolo"))


def test_yolo_without_ultralytics_names_the_extra(monkeypatch, tmp_path: Path) -> None:
    weights = tmp_path / "yolov8n-face.pt"
    weights.write_bytes(b"not used")
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # import fails as if not installed
    with pytest.raises(ModelUnavailable, match=r"ultralytics package.*\[yolo\] extra"):
        load_detector(DetectorConfig("yolo", weights=weights))


def test_missing_backend_package_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "clipmill.vision.detectors.retinaface", raising=False)
    with pytest.raises(ModelUnavailable, match=r"needs the 'torch' package.*\[retinaface\] extra"):
        load_detector(DetectorConfig("retinaface"))
