"""Render the edit plan over the segment: ``jobs/<job_id>/render.mp4``."""

from __future__ import annotations

from dataclasses import dataclass

from prefect import get_run_logger

from clipmill import media
from clipmill.config import load_settings
from clipmill.jobs import ClipJob
from clipmill.edit.render import filter_graph, render_args
from clipmill.media import EncoderSettings, MediaInfo
from clipmill.media.tool import run
from clipmill.sources import sha256_file
from clipmill.storage import job_key
from tasks.edit import load_plan
from tasks.runtime import clip_task, object_store, scratch_dir


@dataclass(frozen=True)
class RenderedClip:
    """The rendered file's key, fingerprint and probe: what the manifest records."""

    key: str
    sha256: str
    size_bytes: int
    info: MediaInfo


@clip_task(name="render-clip")
def render_clip(job: ClipJob, segment_key: str, plan_key: str, has_audio: bool) -> RenderedClip:
    """Apply the edit plan in one ffmpeg pass: H.264/AAC, ``+faststart``, uploaded under the job's key."""
    settings = load_settings()
    store = object_store(settings)
    key = job_key(job.job_id, "render.mp4")
    encoder = EncoderSettings(
        crf=job.options.crf, preset=job.options.preset, audio_bitrate_kbps=job.options.audio_bitrate_kbps
    )
    with scratch_dir(settings) as folder:
        segment = store.get_file(segment_key, folder / "segment.mp4")
        graph = folder / "graph.txt"
        graph.write_text(filter_graph(load_plan(plan_key), has_audio=has_audio))
        output = folder / "render.mp4"
        run(render_args(segment, output, graph, has_audio=has_audio, settings=encoder, ffmpeg=settings.ffmpeg),
            what=f"rendering {job.clip_id}")
        info = media.probe(output, ffprobe=settings.ffprobe)
        digest, size = sha256_file(output)
        store.put_file(key, output, content_type="video/mp4")
    get_run_logger().info("rendered %s: %.3f s, %d bytes", key, info.duration_s, size)
    return RenderedClip(key=key, sha256=digest, size_bytes=size, info=info)
