"""Face detection and tracking on numpy frames: pure compute, model loaders at the edge.

Typical use from a task that decoded a chunk of frames (uint8 RGB, (B, H, W, 3))::

    ensemble = load_ensemble()                      # MediaPipe + YuNet, committed weights
    idx = sample_uniform(len(frames), fps=fps, every=5)
    dets = ensemble.detect(frames[idx])
    tracks = track_faces(times[idx], dets, frame_times=times)
    whole_clip = stitch_tracks([tracks_chunk_0, tracks_chunk_1, ...])
"""

from clipmill.vision.detections import Detections, box_iou, weighted_box_fusion
from clipmill.vision.detectors import Detector, DetectorConfig, load_detector
from clipmill.vision.ensemble import Ensemble, EnsembleConfig, load_ensemble, merge
from clipmill.vision.sampling import AdaptiveSampler, motion_energy, sample_keyframes, sample_motion, sample_uniform
from clipmill.vision.tracking import FaceTracker, Track, TrackerConfig, stitch_tracks, track_faces

__all__ = [
    "AdaptiveSampler",
    "Detections",
    "Detector",
    "DetectorConfig",
    "Ensemble",
    "EnsembleConfig",
    "FaceTracker",
    "Track",
    "TrackerConfig",
    "box_iou",
    "load_detector",
    "load_ensemble",
    "merge",
    "motion_energy",
    "sample_keyframes",
    "sample_motion",
    "sample_uniform",
    "stitch_tracks",
    "track_faces",
    "weighted_box_fusion",
]
