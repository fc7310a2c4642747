"""Render the edit plan over the segment: ``jobs/<job_id>/render.mp4``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prefect import get_run_logger

from blocks.object_store import resolve
from clipmill import media
from clipmill.artifacts.stages import EditPlanDocument, FramingDocument
from clipmill.artifacts.store import load
from clipmill.config import load_settings
from clipmill.jobs import ClipJob
from clipmill.captions.ass import font_dir
from clipmill.edit.render import Crop, Subtitles, filter_graph, framing_commands, framing_crop, render_args
from clipmill.media import DecodeReport, EncoderSettings, MediaInfo, decode_report
from clipmill.media.tool import check_decoded, run
from clipmill.scratch import scratch_dir
from clipmill.source_access import source_file
from clipmill.sources import sha256_file
from clipmill.storage import ObjectStore, job_key
from tasks.runtime import clip_task, object_store
from tasks.segment import segment_decode_report


@dataclass(frozen=True)
class RenderedClip:
    """The rendered file's key, fingerprint and probe: what the manifest records."""

    key: str
    sha256: str
    size_bytes: int
    info: MediaInfo
    decode: DecodeReport = DecodeReport()


@clip_task(name="render-clip")
def render_clip(
    job: ClipJob, segment_key: str | None, plan_key: str, has_audio: bool, framing_key: str | None = None,
    captions_key: str | None = None,
) -> RenderedClip:
    """Apply the edit plan in one ffmpeg pass: H.264/AAC, ``+faststart``, uploaded under the job's key.

    Without a segment (`segment_key` None) the range is read straight from the source: one decode
    and one encode in all, for sources whose frames can be addressed in place. Decode errors met in
    the source's range (here, or while the segment was extracted) fail the render unless the request
    allows them; then they travel to the manifest. `captions_key` names an ASS file to burn in.
    """
    settings = load_settings()
    store = object_store(settings)
    key = job_key(job.job_id, "render.mp4")
    encoder = EncoderSettings(
        crf=job.options.crf, preset=job.options.preset, audio_bitrate_kbps=job.options.audio_bitrate_kbps
    )
    with scratch_dir(settings.temp_dir) as folder:
        if segment_key is None:
            source, window = source_file(job.source, settings, resolve_block=resolve), (job.start_s, job.duration_s)
        else:
            source, window = store.get_file(segment_key, folder / "segment.mp4"), None
        graph = folder / "graph.txt"
        subtitles = None
        if captions_key is not None:
            subtitles = Subtitles(store.get_file(captions_key, folder / "captions.ass"), font_dir())
        plan = load(store, plan_key, EditPlanDocument).plan()
        graph.write_text(filter_graph(plan, has_audio=has_audio, crop=_crop(store, framing_key, folder),
                                      subtitles=subtitles))
        output = folder / "render.mp4"
        args = render_args(
            source, output, graph, has_audio=has_audio, settings=encoder, window=window, ffmpeg=settings.ffmpeg
        )
        done = run(args, what=f"rendering {job.clip_id}")
        decode = decode_report(done.stderr) if segment_key is None else segment_decode_report(store, job)
        check_decoded(decode, source=job.source.uri, start_s=job.start_s, end_s=job.end_s,
                      allowed=job.options.allow_decode_errors)
        info = media.probe(output, ffprobe=settings.ffprobe)
        digest, size = sha256_file(output)
        store.put_file(key, output, content_type="video/mp4")
    get_run_logger().info("rendered %s: %.3f s, %d bytes", key, info.duration_s, size)
    return RenderedClip(key=key, sha256=digest, size_bytes=size, info=info, decode=decode)


def _crop(store: ObjectStore, framing_key: str | None, folder: Path) -> Crop | None:
    """The moving crop of the stored framing plan, if any, its ``sendcmd`` file written into `folder`."""
    if framing_key is None:
        return None
    path = load(store, framing_key, FramingDocument).path()
    commands = folder / "crop.cmd"
    commands.write_text(framing_commands(path))
    return framing_crop(path, commands)
