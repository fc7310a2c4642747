"""Plan the edit: which parts of the segment are kept, cut or sped up — ``jobs/<job_id>/edl.json``."""

from __future__ import annotations

from prefect import get_run_logger

from clipmill.artifacts.results import AudioStages, StageResult
from clipmill.artifacts.stages import (
    CaptionsDocument, EditPlanDocument, FillersDocument, FramingDocument, SilencesDocument, SpeechDocument,
    TranscriptDocument,
)
from clipmill.artifacts.store import load, save
from clipmill.edit.edl import plan_edit
from clipmill.events import LabelledEvents
from clipmill.jobs import ClipJob
from clipmill.media import MediaInfo
from clipmill.local_models import missing_package
from clipmill.stage_settings import edit_settings
from clipmill.storage import job_key
from clipmill.timeline import Timeline
from tasks.runtime import clip_task, object_store


@clip_task(name="plan-edit")
def plan_cuts(
    job: ClipJob, info: MediaInfo, audio: AudioStages | None, transcript: StageResult | None = None
) -> StageResult:
    """Turn speech, silences and fillers into the edit plan; without audio, keep everything.

    With a transcript that times its words, no cut enters a word and its filler words join the
    acoustic detector's fillers (which still find those it left out)."""
    store = object_store()
    speech = silences = words = Timeline()
    fillers = LabelledEvents()
    if audio is not None:
        speech = load(store, audio.speech.key, SpeechDocument).timeline()
        silences = load(store, audio.silences.key, SilencesDocument).timeline()
        fillers = load(store, audio.fillers.key, FillersDocument).fillers()
    if transcript is not None:
        timed = load(store, transcript.key, TranscriptDocument).transcript()
        words = timed.spoken(without_fillers=job.options.remove_fillers)
        fillers = fillers.combined(timed.fillers())
    plan = plan_edit(
        job.duration_s, rate=info.frame_rate, speech=speech, silences=silences, fillers=fillers,
        settings=edit_settings(job.options), words=words,
    )
    document = EditPlanDocument.of(plan)
    key = save(store, job_key(job.job_id, "edl.json"), document)
    get_run_logger().info(
        "edit plan: %d segments, %.3f s -> %.3f s (-%.1f%%)", len(plan.segments), plan.source_duration_s,
        plan.output_duration, plan.reduction_pct,
    )
    return StageResult(key=key, summary=document.manifest_summary())


@clip_task(name="export-timeline")
def export_timeline(
    job: ClipJob, info: MediaInfo, plan_key: str, framing_key: str | None, captions_key: str | None = None
) -> StageResult:
    """The cut (and crop path, and captions as markers) as an OpenTimelineIO file an editor can open:
    ``jobs/<job_id>/clip.otio``."""
    try:
        from clipmill.edit.otio_export import timeline_from_plan
    except ImportError as exc:
        raise missing_package("export_otio", "opentimelineio", install="pip install 'clipmill[otio]'") from exc
    store = object_store()
    cues = load(store, captions_key, CaptionsDocument).cues if captions_key else []
    text = timeline_from_plan(
        load(store, plan_key, EditPlanDocument).plan(), source_uri=job.source.uri, source_start_s=job.start_s,
        source_duration_s=info.duration_s, name=job.clip_id,
        framing=load(store, framing_key, FramingDocument).path() if framing_key else None,
        captions=tuple((cue.start_s, cue.end_s, " ".join(cue.lines)) for cue in cues),
    )
    key = job_key(job.job_id, "clip.otio")
    store.put_bytes(key, text.encode(), content_type="application/json")
    return StageResult(key=key)
