"""ffmpeg/ffprobe adapter: probe, extract a segment, encode, decode audio (whole or streamed), stream frames in chunks."""

from clipmill.media.audio import ANALYSIS_SAMPLE_RATE, decode_audio, from_wav_bytes, stream_audio, to_wav_bytes
from clipmill.media.encode import EncoderSettings, extract_reporting, extract_segment
from clipmill.media.frames import FrameChunk, iter_frame_chunks
from clipmill.media.probe import AudioInfo, MediaInfo, check_complete, keyframe_times, probe, probe_audio
from clipmill.media.tool import DecodeReport, decode_report, tool_version

__all__ = [
    "AudioInfo",
    "DecodeReport",
    "ANALYSIS_SAMPLE_RATE",
    "EncoderSettings",
    "FrameChunk",
    "MediaInfo",
    "check_complete",
    "decode_audio",
    "decode_report",
    "extract_reporting",
    "extract_segment",
    "from_wav_bytes",
    "iter_frame_chunks",
    "keyframe_times",
    "probe",
    "probe_audio",
    "stream_audio",
    "to_wav_bytes",
    "tool_version",
]
