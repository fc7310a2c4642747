"""RetinaFace with a MobileNet-0.25 backbone, re-implemented in plain torch (no torchvision).

The layer layout reproduces biubug6's RetinaFace-MobileNet0.25 as trained in Face-Detector-1MB-with-
landmark (``cfg_mnet``: ReLU activations, anchors 10-256 px) so its MIT-licensed ``mobilenet0.25_Final.pth``
state dict loads unchanged: MobileNetV1 x0.25 stages at strides 8/16/32, a three-level FPN, SSH context
modules and per-level class/box/landmark heads with two anchors per cell.
Priors, decoding and NMS are done here with numpy/OpenCV. Runs on CPU torch, and on CUDA when
available; frames of one batch run as one tensor. Weights are never shipped or downloaded: the path
comes from ``detectors.retinaface.weights`` or ``CLIPMILL_RETINAFACE_WEIGHTS``.
"""

from __future__ import annotations

import itertools
import logging
import math
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from clipmill.errors import ModelUnavailable
from clipmill.vision.detections import Detections, nms_indices
from clipmill.vision.detectors import DetectorConfig, check_frames, detect_at_analysis_size, resolve_weights

__all__ = ["WEIGHTS_ENV", "RetinaFace", "RetinaFaceDetector", "load"]

log = logging.getLogger(__name__)

WEIGHTS_ENV = "CLIPMILL_RETINAFACE_WEIGHTS"

_MIN_SIZES = ((10, 20), (32, 64), (128, 256))  # cfg_mnet of Face-Detector-1MB-with-landmark
_STEPS = (8, 16, 32)
_VARIANCES = (0.1, 0.2)
_BGR_MEAN = np.array([104.0, 117.0, 123.0], np.float32)


def _conv_bn(inp: int, out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inp, out, 3, stride, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True))


def _conv_bn_no_relu(inp: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inp, out, 3, 1, 1, bias=False), nn.BatchNorm2d(out))


def _conv_bn_1x1(inp: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inp, out, 1, 1, 0, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True))


def _conv_dw(inp: int, out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False),
        nn.BatchNorm2d(inp),
        nn.ReLU(inplace=True),
        nn.Conv2d(inp, out, 1, 1, 0, bias=False),
        nn.BatchNorm2d(out),
        nn.ReLU(inplace=True),
    )


class _MobileNetV1(nn.Module):
    """MobileNetV1 at width 0.25: three stages ending at strides 8, 16 and 32."""

    def __init__(self) -> None:
        super().__init__()
        self.stage1 = nn.Sequential(
            _conv_bn(3, 8, 2),
            _conv_dw(8, 16, 1),
            _conv_dw(16, 32, 2),
            _conv_dw(32, 32, 1),
            _conv_dw(32, 64, 2),
            _conv_dw(64, 64, 1),
        )
        self.stage2 = nn.Sequential(_conv_dw(64, 128, 2), *[_conv_dw(128, 128, 1) for _ in range(5)])
        self.stage3 = nn.Sequential(_conv_dw(128, 256, 2), _conv_dw(256, 256, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        c1 = self.stage1(x)
        c2 = self.stage2(c1)
        return [c1, c2, self.stage3(c2)]


class _FPN(nn.Module):
    def __init__(self, in_channels: tuple[int, int, int], out: int) -> None:
        super().__init__()
        self.output1 = _conv_bn_1x1(in_channels[0], out)
        self.output2 = _conv_bn_1x1(in_channels[1], out)
        self.output3 = _conv_bn_1x1(in_channels[2], out)
        self.merge1 = _conv_bn(out, out)
        self.merge2 = _conv_bn(out, out)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        o1, o2, o3 = self.output1(features[0]), self.output2(features[1]), self.output3(features[2])
        o2 = self.merge2(o2 + F.interpolate(o3, size=o2.shape[2:], mode="nearest"))
        o1 = self.merge1(o1 + F.interpolate(o2, size=o1.shape[2:], mode="nearest"))
        return [o1, o2, o3]


class _SSH(nn.Module):
    """Single-stage headless context module: 3x3, 5x5 and 7x7 receptive fields concatenated."""

    def __init__(self, inp: int, out: int) -> None:
        super().__init__()
        self.conv3X3 = _conv_bn_no_relu(inp, out // 2)
        self.conv5X5_1 = _conv_bn(inp, out // 4)
        self.conv5X5_2 = _conv_bn_no_relu(out // 4, out // 4)
        self.conv7X7_2 = _conv_bn(out // 4, out // 4)
        self.conv7x7_3 = _conv_bn_no_relu(out // 4, out // 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c5_1 = self.conv5X5_1(x)
        parts = [self.conv3X3(x), self.conv5X5_2(c5_1), self.conv7x7_3(self.conv7X7_2(c5_1))]
        return F.relu(torch.cat(parts, dim=1))


class _Head(nn.Module):
    def __init__(self, inp: int, values: int, anchors: int = 2) -> None:
        super().__init__()
        self.values = values
        self.conv1x1 = nn.Conv2d(inp, anchors * values, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1x1(x).permute(0, 2, 3, 1).reshape(x.shape[0], -1, self.values)


class RetinaFace(nn.Module):
    """The network: BGR-minus-mean image batch in; per-prior box offsets, class scores, landmarks out."""

    def __init__(self) -> None:
        super().__init__()
        self.body = _MobileNetV1()
        self.fpn = _FPN((64, 128, 256), 64)
        self.ssh1, self.ssh2, self.ssh3 = _SSH(64, 64), _SSH(64, 64), _SSH(64, 64)
        self.ClassHead = nn.ModuleList([_Head(64, 2) for _ in range(3)])
        self.BboxHead = nn.ModuleList([_Head(64, 4) for _ in range(3)])
        self.LandmarkHead = nn.ModuleList([_Head(64, 10) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        fpn = self.fpn(self.body(x))
        features = [self.ssh1(fpn[0]), self.ssh2(fpn[1]), self.ssh3(fpn[2])]
        loc = torch.cat([h(f) for h, f in zip(self.BboxHead, features)], dim=1)
        conf = torch.cat([h(f) for h, f in zip(self.ClassHead, features)], dim=1)
        landmarks = torch.cat([h(f) for h, f in zip(self.LandmarkHead, features)], dim=1)
        return loc, F.softmax(conf, dim=-1), landmarks


def priors(height: int, width: int) -> np.ndarray:
    """Anchor boxes ``(cx, cy, w, h)`` normalised to the image, in the network's output order."""
    rows = []
    for step, sizes in zip(_STEPS, _MIN_SIZES):
        fh, fw = math.ceil(height / step), math.ceil(width / step)
        for i, j in itertools.product(range(fh), range(fw)):
            for size in sizes:
                rows.append(((j + 0.5) * step / width, (i + 0.5) * step / height, size / width, size / height))
    return np.asarray(rows, np.float32)


def decode(loc: np.ndarray, landmarks: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Network offsets to normalised ``xyxy`` boxes and (N, 5, 2) landmarks."""
    centre = anchors[:, :2] + loc[:, :2] * _VARIANCES[0] * anchors[:, 2:]
    size = anchors[:, 2:] * np.exp(loc[:, 2:] * _VARIANCES[1])
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    marks = anchors[:, None, :2] + landmarks.reshape(-1, 5, 2) * _VARIANCES[0] * anchors[:, None, 2:]
    return boxes, marks


class RetinaFaceDetector:
    """RetinaFace-MobileNet0.25 on batches of frames, on CUDA when present."""

    name = "retinaface"

    def __init__(self, network: RetinaFace, device: torch.device, config: DetectorConfig) -> None:
        self.network = network
        self.device = device
        self.config = config

    def _forward(self, images: np.ndarray) -> list[Detections]:
        """Run a batch of same-size RGB images; boxes in image pixels."""
        n, height, width = images.shape[:3]
        bgr = images[..., ::-1].astype(np.float32) - _BGR_MEAN
        tensor = torch.from_numpy(np.ascontiguousarray(bgr.transpose(0, 3, 1, 2))).to(self.device)
        with torch.inference_mode():
            loc, conf, marks = (t.float().cpu().numpy() for t in self.network(tensor))
        anchors = priors(height, width)
        scale = np.array([width, height], np.float32)
        out = []
        for b in range(n):
            keep = conf[b, :, 1] >= self.config.score_threshold
            boxes, landmarks = decode(loc[b][keep], marks[b][keep], anchors[keep])
            scores = conf[b, keep, 1]
            order = nms_indices(boxes, scores, iou_threshold=self.config.nms_iou)
            out.append(
                Detections(
                    (boxes[order].reshape(-1, 2, 2) * scale).reshape(-1, 4),
                    scores[order],
                    landmarks[order] * scale,
                    [self.name] * len(order),
                )
            )
        return out

    def _detect_image(self, image: np.ndarray) -> Detections:
        return self._forward(image[None])[0]

    def detect(self, frames: np.ndarray) -> list[Detections]:
        """Detect faces in a uint8 (B, H, W, 3) RGB batch; one forward pass when not tiling."""
        frames = check_frames(frames)
        if self.config.tiles is not None or not len(frames):
            return [detect_at_analysis_size(f, self._detect_image, self.config) for f in frames]
        height, width = frames.shape[1:3]
        factor = 1.0 if self.config.max_side is None else min(1.0, self.config.max_side / max(height, width))
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        images = (
            np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])
            if factor < 1.0
            else frames
        )
        found = self._forward(images)
        sx, sy = width / images.shape[2], height / images.shape[1]
        return [d.scale(sx, sy).clip(width, height) for d in found]


def load(config: DetectorConfig) -> RetinaFaceDetector:
    """Load the MobileNet-0.25 RetinaFace state dict from the configured path."""
    weights: Path = resolve_weights(config, default=None, env=WEIGHTS_ENV)
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a bad file
        raise ModelUnavailable(f"cannot read RetinaFace weights {weights}: {exc}") from exc
    state = state.get("state_dict", state)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    network = RetinaFace()
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelUnavailable(
            f"{weights} is not a RetinaFace MobileNet-0.25 state dict (biubug6 layout): {exc}"
        ) from exc
    network.eval().to(device)
    log.info("loaded retinaface from %s on %s", weights, device)
    return RetinaFaceDetector(network, device, config)
