"""The YOLO face detector on real exported models, loaded and run through clipmill's own path.

Nothing is downloaded: ultralytics builds yolov8n (one class, a face detector's shape) and a
yolov8n-pose with five keypoints (yolov8-face's shape) from the architecture YAML inside its wheel,
with random weights, saves them as ``.pt`` and exports them to ONNX at 320 px in a temporary folder.
Random weights find no real faces, but at a low threshold they return boxes, so the tests check the
contract: one `Detections` per frame, float32 boxes in source pixels inside the frame (checked
against a hand decode of the raw ONNX output), confidences in [0, 1], five landmarks from a pose
model, the input size never above the frame.

The model tests need the ``[yolo]`` extra (ultralytics, torch 2.14.1, torchvision, onnx, onnxslim):
the main venv does not have it, so ``pytest.importorskip("ultralytics")`` skips them there; the
input-size and device tests need no ultralytics and run everywhere. Reproduce with a venv of its own::

    python3.11 -m venv /tmp/yolo-venv
    /tmp/yolo-venv/bin/pip install -e '.[yolo,faces,dev]'
    /tmp/yolo-venv/bin/python -m pytest tests/integration/test_yolo_exported.py -q
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from clipmill.media.frames import iter_frame_chunks
from clipmill.vision.detectors import DetectorConfig, load_detector
from clipmill.vision.detectors.yolo import STRIDE, default_device, input_size
from clipmill.vision.ensemble import EnsembleConfig, load_ensemble
from clipmill.vision.faces_io import FaceOptions

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "grid_concat_11speakers_33s.mp4"
EXPORT_SIDE = 320
FRAME_SIZE = (1280, 720)  # larger than the export size, so source and model pixels differ
LOW = 0.001  # random weights score about 0.003-0.012: low enough to get boxes back


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """yolov8n (1 class) and yolov8n-pose (1 class, 5 keypoints) as ``.pt`` and ONNX files."""
    os.environ.setdefault("YOLO_OFFLINE", "1")  # read at import: no connectivity probe, no pip auto-install
    ultralytics = pytest.importorskip("ultralytics")
    pytest.importorskip("onnx")
    from ultralytics.nn.tasks import yaml_model_load
    from ultralytics.utils import YAML

    folder = tmp_path_factory.mktemp("yolo")
    out = {}
    for name, arch, extra in (
        ("face", "yolov8n.yaml", {}),
        ("face-pose", "yolov8n-pose.yaml", {"kpt_shape": [5, 3]}),
    ):
        cfg = {k: v for k, v in yaml_model_load(arch).items() if k not in ("scale", "yaml_file")}
        cfg.update(nc=1, **extra)
        yaml_path = folder / f"yolov8n-{name}.yaml"  # the stem's "yolov8n" picks the n scale
        YAML.save(yaml_path, cfg)
        pt = folder / f"yolov8n-{name}.pt"
        ultralytics.YOLO(str(yaml_path)).save(str(pt))
        # exported beside the .pt; a static 1x3x320x320 input, as a deployed face model would be
        onnx = ultralytics.YOLO(str(pt)).export(format="onnx", imgsz=EXPORT_SIDE, dynamic=False)
        out[f"{name}.pt"], out[f"{name}.onnx"] = pt, Path(onnx)
    return out


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """Three real frames of the committed sample at 1280x720, RGB."""
    chunk = next(iter_frame_chunks(SAMPLE, fps=1.0, size=FRAME_SIZE, chunk_frames=3, start_s=1.0))
    return chunk.frames


def _check_contract(found: list, frames: np.ndarray, threshold: float) -> None:
    height, width = frames.shape[1:3]
    assert len(found) == len(frames)
    for dets in found:
        assert dets.xyxy.dtype == np.float32 and dets.xyxy.shape == (len(dets), 4)
        assert dets.confidence.dtype == np.float32
        assert np.all((dets.confidence >= threshold) & (dets.confidence <= 1))
        assert np.all(dets.xyxy[:, 2:] >= dets.xyxy[:, :2])
        assert np.all((dets.xyxy[:, [0, 2]] >= 0) & (dets.xyxy[:, [0, 2]] <= width))
        assert np.all((dets.xyxy[:, [1, 3]] >= 0) & (dets.xyxy[:, [1, 3]] <= height))
        assert set(dets.source.tolist()) <= {"yolo"}


def _onnx_candidates(path: Path, frame: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Every box of the raw ONNX output above ``threshold``, mapped to source pixels by hand.

    Letterbox as ultralytics does (scale the long side to 320, centre, pad with grey 114), then undo it.
    """
    import onnxruntime

    height, width = frame.shape[:2]
    r = EXPORT_SIDE / max(height, width)
    w, h = round(width * r), round(height * r)
    top, left = (EXPORT_SIDE - h) // 2, (EXPORT_SIDE - w) // 2
    image = cv2.copyMakeBorder(
        cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR),
        top, EXPORT_SIDE - h - top, left, EXPORT_SIDE - w - left, cv2.BORDER_CONSTANT, value=(114, 114, 114),
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = image.transpose(2, 0, 1)[None].astype(np.float32) / 255
    cx, cy, bw, bh, score = session.run(None, {session.get_inputs()[0].name: x})[0][0]
    keep = score >= threshold
    xyxy = np.stack([cx - bw / 2 - left, cy - bh / 2 - top, cx + bw / 2 - left, cy + bh / 2 - top], 1) / r
    xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, width)
    xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, height)
    return xyxy[keep], score[keep]


def test_exported_onnx_boxes_are_in_source_pixels(models, frames) -> None:
    config = DetectorConfig("yolo", weights=models["face.onnx"], max_side=640, score_threshold=LOW, device="cpu")
    detector = load_detector(config)
    assert detector.model.task == "detect"
    found = detector.detect(frames)
    _check_contract(found, frames, LOW)
    assert all(len(d) for d in found), "a random model returns low-score boxes at this threshold"
    assert all(d.landmarks is None for d in found)
    # the 320 px export ran at 320 (from its metadata) although max_side asked for 640
    assert list(detector.model.predictor.imgsz) == [EXPORT_SIDE, EXPORT_SIDE]
    for dets, frame in zip(found, frames):
        boxes, scores = _onnx_candidates(models["face.onnx"], frame, LOW)
        nearest = np.abs(dets.xyxy[:, None, :] - boxes[None]).max(axis=2)
        assert nearest.min(axis=1).max() <= 1.0, "every box is a raw ONNX box mapped back to source pixels"
        matched = scores[nearest.argmin(axis=1)]
        np.testing.assert_allclose(dets.confidence, matched, atol=1e-5)
    assert max(float(d.xyxy[:, 2:].max()) for d in found) > EXPORT_SIDE  # not in model-input pixels


def test_exported_pose_model_keeps_its_task_and_landmarks(models, frames) -> None:
    """An ONNX face-pose model is loaded as pose (from its metadata), not forced to detect."""
    detector = load_detector(
        DetectorConfig("yolo", weights=models["face-pose.onnx"], score_threshold=LOW, device="cpu")
    )
    assert detector.model.task == "pose"
    found = detector.detect(frames)
    _check_contract(found, frames, LOW)
    assert all(len(d) for d in found)
    for dets in found:
        assert dets.landmarks is not None and dets.landmarks.shape == (len(dets), 5, 2)
        assert dets.landmarks.dtype == np.float32 and np.isfinite(dets.landmarks).all()


def test_pt_weights_run_at_max_side_and_never_upscale(models, frames) -> None:
    detector = load_detector(DetectorConfig("yolo", weights=models["face.pt"], max_side=640, score_threshold=LOW))
    assert detector.device == "cpu"  # no CUDA here
    _check_contract(detector.detect(frames), frames, LOW)
    assert list(detector.model.predictor.imgsz) == [640, 640]
    small = np.ascontiguousarray(frames[:, ::4, ::4])  # 320x180 source, max_side 640
    found = detector.detect(small)
    _check_contract(found, small, LOW)
    assert list(detector.model.predictor.imgsz) == [320, 320]
    pose = load_detector(DetectorConfig("yolo", weights=models["face-pose.pt"], score_threshold=LOW))
    assert all(d.landmarks is not None for d in pose.detect(frames[:1]) if len(d))


def test_ensemble_of_yolo_alone(models, frames) -> None:
    config = EnsembleConfig(
        detectors=(DetectorConfig("yolo", weights=models["face.onnx"], score_threshold=LOW, device="cpu"),)
    )
    ensemble = load_ensemble(config)
    assert [d.name for d in ensemble.detectors] == ["yolo"]
    found = ensemble.detect(frames)
    _check_contract(found, frames, LOW)
    assert all(len(d) for d in found)


def test_face_options_pick_yolo_weights_from_the_environment(models, frames, monkeypatch) -> None:
    """``--detector yolo`` in a faces run: weights from CLIPMILL_YOLO_WEIGHTS, the default threshold."""
    monkeypatch.setenv("CLIPMILL_YOLO_WEIGHTS", str(models["face.onnx"]))
    ensemble = load_ensemble(FaceOptions(detectors=("yolo",)).ensemble_config())
    assert [d.name for d in ensemble.detectors] == ["yolo"]
    _check_contract(ensemble.detect(frames[:1]), frames[:1], 0.5)


@pytest.mark.parametrize(
    ("long_side", "max_side", "expected"),
    [(1280, 640, 640), (1280, 960, 960), (1280, None, 1280), (360, 960, 352), (360, None, 352), (20, 640, 32),
     (1920, 1000, 992)],
)
def test_input_size_is_a_stride_multiple_never_above_the_frame(long_side, max_side, expected) -> None:
    assert input_size(long_side, max_side) == expected
    assert expected % STRIDE == 0


def test_onnx_runs_on_cpu_when_onnxruntime_has_no_cuda(monkeypatch, tmp_path: Path) -> None:
    """With CUDA torch but CPU onnxruntime, ONNX weights go to CPU (ultralytics would pip-install a GPU build)."""
    torch = pytest.importorskip("torch")
    onnxruntime = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device(tmp_path / "face.onnx") == "cpu"
    assert default_device(tmp_path / "face.pt") == "cuda:0"
