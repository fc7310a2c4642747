"""The clip job: one clip from one source range, as a DAG of retryable tasks.

    stage source (and transcript) → probe + validate → (already published? done) → transcript fits the source?
      (the data contracts' process starts here: it imports GE on another core)
      → beside each other: extract segment (only for sources whose frames cannot be cut in place),
        faces: chunks on Dask → tracks (subflow, decoding the source's range in place; when detect_faces or reframing),
        and the audio: decode → profile → speech (cut from the whole-source analysis the range was chosen from,
        when its model VAD is the job's) → silences → fillers (skipped without an audio track)
      → plan the edit (cut / speed up pauses and fillers) → framing (crop path around the speaker)
      → captions re-timed to the cut (optional) → OpenTimelineIO export (optional) → render → manifest (JSON Schema) → in one transaction: data contracts (Great Expectations)
      → publish (manifest last) → verify

Tasks exchange object keys and small typed summaries; media never travels through Prefect.
Parameters are validated by clipmill, not by Prefect, so a bad one fails the run with an
`InputError` that names it (the typed signature still gives the Prefect UI its form).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, Iterator

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from prefect.transactions import transaction

from blocks.presets import resolve_preset
from clipmill.artifacts.results import AudioStages, JobStages
from clipmill.config import ClipOptions, effective_options, load_settings
from clipmill.jobs import ClipJob, check_open_times
from clipmill.quality.contracts_process import start_contracts_process
from clipmill.errors import InputError
from clipmill.sources import printable
from flows.base import clip_flow
from tasks.captions import load_transcript, make_captions, stage_transcript, transcribe_speech
from tasks.audio import collect_timelines, decode_audio, find_fillers, find_silences, find_speech, profile_audio
from tasks.publish import PublishedClip, find_published, make_manifest, publish_clip, verify_published
from flows.faces import decodes_source_in_place, face_stage, needs_segment
from tasks.edit import export_timeline, plan_cuts
from tasks.framing import plan_frame
from tasks.render import render_clip
from tasks.segment import extract_segment
from tasks.validate import validate_contracts
from tasks.runtime import untagged_runs
from tasks.source import probe_source, stage_source


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    timings[stage] = time.perf_counter() - started


def _run_name() -> str:
    """``clip <source> [start-end]``, the source's control characters escaped."""
    parameters = flow_run.parameters
    return f"clip {printable(str(parameters.get('source')))} [{parameters.get('start')}-{parameters.get('end')}]"


@clip_flow(name="clip-job", flow_run_name=_run_name, validate_parameters=False)
@untagged_runs
def clip_job(
    source: str, start: float = 0.0, end: float | None = None, options: ClipOptions | dict[str, Any] | None = None,
    clip_preset: str | None = None, selection: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Cut ``[start, end)`` out of `source`, encode it and publish it with its manifest.

    Args:
        source: Local path or s3://bucket/key of the source video.
        start: Start of the clip in seconds from the beginning of the source.
        end: End of the clip in seconds (exclusive); at most the source's duration (empty: its end).
        options: Per-run options over the preset and the installation's defaults.
        clip_preset: Name of a saved clip preset (`clipmill presets`), applied before `options`.
        selection: How a library batch chose the range (`clipmill.manifest.RangeSelection`), for the manifest;
            the job's speech is cut from its ``analysis_key`` when that analysis ran the job's model VAD.
    """
    log = get_run_logger()
    start, end = check_open_times(start, end)
    settings = load_settings()
    chosen = effective_options(effective_options(settings.options, resolve_preset(clip_preset)), options)
    timings: dict[str, float] = {}

    with _timed(timings, "stage_source"):
        source_ref = stage_source(source)
        transcript_ref = stage_transcript(chosen.transcript) if chosen.transcript else None
    with _timed(timings, "probe"):
        info, job = probe_source(source_ref, start, end, chosen, transcript_ref, (selection or {}).get("analysis_key"))
    if (already := find_published(job)) is not None:
        return asdict(already)
    start_contracts_process()
    transcript = load_transcript(job, info) if transcript_ref is not None else None
    if chosen.transcription != "none":
        if not info.has_audio:
            raise InputError(f"transcription={chosen.transcription} needs an audio track; {printable(source)} has none")
        transcript = transcribe_speech(job, decode_audio(job))
    faces_wanted = chosen.detect_faces or chosen.reframe != "none"
    faces_in_place = faces_wanted and decodes_source_in_place(info)
    extracting = extract_segment.submit(job, info) if needs_segment(info, faces_wanted=faces_wanted) else None
    finding_faces = face_stage.submit(
        job.analysis_id, None if faces_in_place else extracting, job.duration_s, info.fps, *info.display_size,
        sampling=chosen.face_sampling, identity=None if chosen.face_identity == "none" else chosen.face_identity,
        source=job.source if faces_in_place else None, source_start_s=job.start_s,
    ) if faces_wanted else None
    audio = analyse_audio(job, timings) if info.has_audio else None
    with _timed(timings, "extract_wait"):
        segment_key = extracting.result() if extracting is not None else None
    tracks = None
    if finding_faces is not None:
        with _timed(timings, "faces"):
            tracks = finding_faces.result()["stage"]
    with _timed(timings, "plan"):
        plan = plan_cuts(job, info, audio, transcript)
    framing = None
    if chosen.reframe != "none":
        with _timed(timings, "framing"):
            framing = plan_frame(job, info, segment_key, tracks.key, plan.key)
    framing_key = framing.key if framing else None
    captions = None
    if chosen.captions != "none":
        with _timed(timings, "captions"):
            captions = make_captions(job, info, transcript.key, plan.key, framing_key)
    captions_key = captions.key if captions else None
    timeline = export_timeline(job, info, plan.key, framing_key, captions_key) if chosen.export_otio else None
    burn_key = captions.summary.get("ass_key") if captions else None
    with _timed(timings, "render"):
        rendered = render_clip(job, segment_key, plan.key, info.has_audio, framing_key, burn_key)
    stages = JobStages(audio=audio, transcript=transcript, tracks=tracks, edit=plan, framing=framing, captions=captions,
                       timeline=timeline)
    manifest = make_manifest(job, info, rendered, timings, stages, selection)
    with transaction():
        validate_contracts(manifest)
        published = publish_clip(job, rendered, manifest)
        verify_published(published, manifest)

    log.info("clip %s ready: %s", job.clip_id, published.clip_uri)
    _summary_artifact(published, manifest.clip.duration_s, timings, stages)
    return asdict(published)


def analyse_audio(job: ClipJob, timings: dict[str, float]) -> AudioStages:
    """The audio stages in order (beside the face stage and the extraction)."""
    with _timed(timings, "decode_audio"):
        audio_key = decode_audio(job)
    with _timed(timings, "profile"):
        profile = profile_audio(job, audio_key)
    with _timed(timings, "speech"):
        speech = find_speech(job, audio_key, profile.key)
    with _timed(timings, "silences"):
        silences = find_silences(job, audio_key, profile.key, speech.key)
    with _timed(timings, "fillers"):
        fillers = find_fillers(job, audio_key, profile.key, speech.key)
    timelines = collect_timelines(job, speech.key, silences.key, fillers.key)
    return AudioStages(profile=profile, speech=speech, silences=silences, fillers=fillers, timelines=timelines)


def _summary_artifact(published: PublishedClip, duration_s: float, timings: dict[str, float], stages: JobStages) -> None:
    rows = "\n".join(f"| {stage} | {seconds:.2f} |" for stage, seconds in timings.items())
    audio = _audio_lines(stages.audio)
    create_markdown_artifact(
        key="clip-job-summary",
        description=f"clip {published.clip_id}",
        markdown=(
            f"## Clip `{published.clip_id}`\n\n"
            f"- clip: `{published.clip_uri}` ({duration_s:.3f} s, {_edit_line(stages.edit.summary)})\n"
            f"- manifest: `{published.manifest_uri}`\n- job: `{published.job_id}`\n\n{audio}\n\n"
            f"| stage | seconds |\n|---|---|\n{rows}\n"
        ),
    )


def _audio_lines(audio: AudioStages | None) -> str:
    if audio is None:
        return "### Audio\n\nno audio track: audio stages skipped"
    profile, speech, silences, fillers = (s.summary for s in (audio.profile, audio.speech, audio.silences, audio.fillers))
    return (
        "### Audio\n\n"
        f"- noise floor {profile['noise_floor_db']:.1f} dBFS, SNR {profile['snr_db']:.1f} dB\n"
        f"- speech {speech['share_pct']:.1f}% ({speech['count']} intervals, {speech['backend']})\n"
        f"- silences {silences['count']} ({silences['total_s']:.2f} s, threshold {silences['threshold_db']:.1f} dBFS)\n"
        f"- fillers {fillers['count']} ({fillers['backend']})"
    )


def _edit_line(edit: dict[str, Any]) -> str:
    return (
        f"{edit['source_duration_s']:.2f} s in, {edit['reduction_pct']:.1f}% shorter: "
        f"{edit['removed_silence_s']:.2f} s of pauses cut, {edit['sped_up_silence_s']:.2f} s sped up, "
        f"{edit['removed_filler_s']:.2f} s of fillers cut"
    )

