"""Plan the crop path around the speaker: ``jobs/<job_id>/framing.json``."""

from __future__ import annotations

from prefect import get_run_logger

from blocks.object_store import resolve
from clipmill.artifacts.results import StageResult
from clipmill.artifacts.stages import EditPlanDocument, FramingDocument
from clipmill.artifacts.store import load, save
from clipmill.config import load_settings
from clipmill.jobs import ClipJob
from clipmill.media import MediaInfo
from clipmill.scratch import scratch_dir
from clipmill.source_access import source_file
from clipmill.stage_settings import framing_settings
from clipmill.storage import job_key
from clipmill.vision.activity import shared_spans
from clipmill.vision.faces_io import read_cut_times, read_mouth_activity, read_tracks
from clipmill.vision.framing import plan_framing
from tasks.runtime import clip_task, object_store

#: Frames per second at which mouth motion is measured: enough to see syllables, cheap to decode.
ACTIVITY_FPS = 10.0


@clip_task(name="plan-framing")
def plan_frame(
    job: ClipJob, info: MediaInfo, segment_key: str | None, tracks_key: str, plan_key: str
) -> StageResult:
    """Follow the talking face with a crop of the requested aspect, through the edit plan.

    Mouth motion is read where two faces or more share the screen (nowhere for one talker: no
    decode at all), from the segment, or without one (`segment_key` None) from the job's range of
    the source, decoded in place.
    """
    settings = load_settings()
    store = object_store(settings)
    with scratch_dir(settings.temp_dir) as folder:
        tracks_path = store.get_file(tracks_key, folder / "tracks.parquet")
        tracks, cut_times_s = read_tracks(tracks_path), read_cut_times(tracks_path)
        camera = framing_settings(job.options)
        spans = shared_spans(tracks, window_s=camera.talk_window_s, end_s=job.duration_s, rate_hz=ACTIVITY_FPS)
        width, height = info.display_size
        activity = None
        if len(spans):
            if segment_key is None:
                video, offset_s = source_file(job.source, settings, resolve_block=resolve), job.start_s
            else:
                video, offset_s = store.get_file(segment_key, folder / "segment.mp4"), 0.0
            activity = read_mouth_activity(
                video, tracks, spans=spans, offset_s=offset_s, size=(width, height), fps=ACTIVITY_FPS,
                ffmpeg=settings.ffmpeg,
            )
    path = plan_framing(
        tracks, width=width, height=height, plan=load(store, plan_key, EditPlanDocument).plan(),
        aspect=job.options.reframe, activity=activity, settings=camera, cut_times_s=cut_times_s,
    )
    document = FramingDocument.of(path)
    key = save(store, job_key(job.job_id, "framing.json"), document)
    get_run_logger().info(
        "framing %s over %d shots: crop %dx%d -> %dx%d, subject inside the crop on %.1f%% of %d frames with a face "
        "(longest run outside: %d frames), %.1f%% of frames without a face; mouth motion decoded over %.1f s",
        path.aspect, path.n_shots, path.crop_width, path.crop_height, path.out_width, path.out_height,
        100 * path.subject_inside_share, path.tracked_frames, path.worst_outside_frames, 100 * path.no_face_share,
        spans.duration,
    )
    return StageResult(key=key, summary=document.manifest_summary())
