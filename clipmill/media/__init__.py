"""ffmpeg/ffprobe adapter: probe, extract a segment, encode, decode audio, stream frames in chunks."""

from clipmill.media.audio import decode_audio
from clipmill.media.encode import EncoderSettings, encode_clip, extract_segment
from clipmill.media.frames import FrameChunk, iter_frame_chunks
from clipmill.media.probe import MediaInfo, probe
from clipmill.media.tool import tool_version

__all__ = [
    "EncoderSettings",
    "FrameChunk",
    "MediaInfo",
    "decode_audio",
    "encode_clip",
    "extract_segment",
    "iter_frame_chunks",
    "probe",
    "tool_version",
]
