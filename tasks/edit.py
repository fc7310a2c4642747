"""Plan the edit: which parts of the segment are kept, cut or sped up — ``jobs/<job_id>/edl.json``."""

from __future__ import annotations

import json

from prefect import get_run_logger

from clipmill.audio.analysis import timeline_from_document
from clipmill.config import ClipOptions
from clipmill.edit.edl import EditPlan, EditSettings, plan_edit
from clipmill.errors import ModelUnavailable
from clipmill.jobs import ClipJob
from clipmill.media import MediaInfo
from clipmill.storage import job_key
from clipmill.timeline import Interval, Timeline
from tasks.audio import StageResult
from tasks.runtime import clip_task, object_store


def edit_settings(options: ClipOptions) -> EditSettings:
    return EditSettings(
        remove_silence=options.remove_silence, speed_up_silence=options.speed_up_silence,
        speed_factor=options.speed_factor, max_silence_s=options.max_silence_s, remove_fillers=options.remove_fillers,
    )


@clip_task(name="plan-edit")
def plan_cuts(job: ClipJob, info: MediaInfo, audio: dict[str, dict]) -> StageResult:
    """Turn speech, silences and fillers into the edit plan; without audio, keep everything.

    With a transcript that times its words (in `audio` as ``transcript``), no cut enters a word and
    its filler words join the acoustic detector's fillers (which still find those it left out)."""
    store = object_store()
    timelines = {}
    for stage in ("speech", "silences", "fillers"):
        if stage in audio:
            document = json.loads(store.get_bytes(audio[stage]["key"]))
            timelines[stage] = (
                Timeline([Interval(e["start"], e["end"]) for e in document["events"]]) if stage == "fillers"
                else timeline_from_document(document)
            )
    words = Timeline()
    if "transcript" in audio:
        from tasks.captions import load_transcript_document

        transcript = load_transcript_document(audio["transcript"]["key"])
        words = transcript.spoken(without_fillers=job.options.remove_fillers)
        timelines["fillers"] = timelines.get("fillers", Timeline()).union(transcript.fillers())
    plan = plan_edit(
        job.duration_s, fps=info.fps, speech=timelines.get("speech", Timeline()),
        silences=timelines.get("silences", Timeline()), fillers=timelines.get("fillers", Timeline()),
        settings=edit_settings(job.options), words=words,
    )
    key = job_key(job.job_id, "edl.json")
    store.put_bytes(key, json.dumps(plan.to_dict(), indent=1).encode(), content_type="application/json")
    summary = {k: v for k, v in plan.to_dict().items() if k != "segments"}
    summary["segments"] = len(plan.segments)
    get_run_logger().info(
        "edit plan: %d segments, %.3f s -> %.3f s (-%.1f%%)", len(plan.segments), plan.source_duration_s,
        plan.output_duration, plan.reduction_pct,
    )
    return StageResult(key=key, summary=summary)


def load_plan(key: str) -> EditPlan:
    return EditPlan.from_dict(json.loads(object_store().get_bytes(key)))


@clip_task(name="export-timeline")
def export_timeline(
    job: ClipJob, info: MediaInfo, plan_key: str, framing_key: str | None, captions_key: str | None = None
) -> StageResult:
    """The cut (and crop path, and captions as markers) as an OpenTimelineIO file an editor can open:
    ``jobs/<job_id>/clip.otio``."""
    try:
        from clipmill.edit.otio_export import timeline_from_plan
    except ImportError as exc:
        raise ModelUnavailable(
            "export_otio needs the opentimelineio package: pip install 'clipmill[otio]'"
        ) from exc
    from clipmill.contracts import CaptionsContract
    from tasks.framing import load_framing

    cues = CaptionsContract.model_validate_json(object_store().get_bytes(captions_key)).cues if captions_key else []
    text = timeline_from_plan(
        load_plan(plan_key), source_uri=job.source.uri, source_start_s=job.start_s,
        source_duration_s=info.duration_s, name=job.clip_id,
        framing=load_framing(framing_key) if framing_key else None,
        captions=tuple((cue.start_s, cue.end_s, " ".join(cue.lines)) for cue in cues),
    )
    key = job_key(job.job_id, "clip.otio")
    object_store().put_bytes(key, text.encode(), content_type="application/json")
    return StageResult(key=key, summary={"format": "otio_json"})
