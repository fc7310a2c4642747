"""Transcript in, captions out: ``jobs/<job_id>/transcript.json`` and ``captions.json`` / ``.srt`` / ``.vtt`` / ``.ass``."""

from __future__ import annotations

from prefect import get_run_logger

from blocks.object_store import resolve
from clipmill import media
from clipmill.artifacts.results import StageResult
from clipmill.artifacts.stages import CaptionsDocument, EditPlanDocument, FramingDocument, TranscriptDocument
from clipmill.artifacts.store import load, save
from clipmill.captions.ass import burn_document
from clipmill.captions.cues import caption_cues, layout_for
from clipmill.captions.formats import render_sidecar
from clipmill.captions.parse import parse_transcript
from clipmill.captions.transcript import Transcript, check_fits
from clipmill.config import load_settings
from clipmill.errors import InputError
from clipmill.jobs import ClipJob
from clipmill.media import MediaInfo
from clipmill.source_access import fingerprint, source_file
from clipmill.sources import SourceRef, printable
from clipmill.storage import clip_key, job_key
from tasks.runtime import clip_task, object_store


@clip_task(name="stage-transcript")
def stage_transcript(transcript: str) -> SourceRef:
    """Locate the transcript (local path or s3://) and snapshot it by content, like a source."""
    try:
        return fingerprint(transcript, load_settings(), resolve_block=resolve)
    except InputError as exc:
        raise InputError(f"transcript: {exc}") from exc


@clip_task(name="load-transcript")
def load_transcript(job: ClipJob, info: MediaInfo) -> StageResult:
    """Parse the transcript, check it fits the source, keep what overlaps the range (on its timeline)."""
    settings = load_settings()
    ref = job.transcript
    name = printable(ref.name)
    parsed = check_fits(parse_transcript(source_file(ref, settings, resolve_block=resolve).read_bytes(), name), name=name,
                        duration_s=info.duration_s)
    clipped = parsed.clipped(job.start_s, job.end_s)
    get_run_logger().info("transcript %s: %d %s cues, %d in the range", name, len(parsed.cues), parsed.format,
                          len(clipped.cues))
    return _stored(job, clipped, uri=ref.uri, sha256=ref.sha256, cues=len(parsed.cues))


@clip_task(name="transcribe-speech")
def transcribe_speech(job: ClipJob, audio_key: str) -> StageResult:
    """The range's words from the local Whisper model (``transcription=whisper``), stored like a parsed transcript."""
    from clipmill.captions.transcribe import transcribe

    samples, sr = media.from_wav_bytes(object_store().get_bytes(audio_key))
    transcript = transcribe(samples, sr)
    get_run_logger().info("transcribed %d words", len(transcript.words))
    return _stored(job, transcript, cues=len(transcript.cues))


def _stored(job: ClipJob, transcript: Transcript, **facts: object) -> StageResult:
    """Store the range's transcript as ``jobs/<job_id>/transcript.json``; its summary for the manifest."""
    key = save(object_store(), job_key(job.job_id, "transcript.json"), TranscriptDocument.of(transcript))
    return StageResult(key=key, summary={
        **facts, "format": transcript.format, "words_known": transcript.words_known,
        "cues_in_range": len(transcript.cues), "words_in_range": len(transcript.words),
        "fillers_in_range": len(transcript.fillers()),
    })


@clip_task(name="make-captions")
def make_captions(job: ClipJob, info: MediaInfo, transcript_key: str, plan_key: str,
                  framing_key: str | None = None) -> StageResult:
    """The transcript re-timed through the edit plan, in lines for the output frame: a sidecar
    (``srt``/``vtt``; ``srt`` beside a burn), the cues as a contract document and, to burn, an ASS file."""
    store = object_store()
    plan = load(store, plan_key, EditPlanDocument).plan()
    if framing_key is not None:
        framing = load(store, framing_key, FramingDocument)
        width, height = framing.out_width, framing.out_height
    else:
        width, height = info.display_size
    layout = layout_for(width, height)
    cues = caption_cues(load(store, transcript_key, TranscriptDocument).transcript(), plan, layout)
    burn = job.options.captions == "burn"
    fmt = "srt" if burn else job.options.captions
    sidecar = job_key(job.job_id, f"captions.{fmt}")
    store.put_bytes(sidecar, render_sidecar(cues, fmt).encode(), content_type="text/plain; charset=utf-8")
    document = CaptionsDocument(
        format=fmt, burned=burn, clip_duration_s=plan.output_duration, width=width, height=height,
        cues=[{"start_s": c.start, "end_s": c.end, "lines": list(c.lines),
               "words": [[w.start, w.end, w.text] for w in c.words]} for c in cues],
    )
    key = save(store, job_key(job.job_id, "captions.json"), document)
    summary = {"format": fmt, "burned": burn, "cues": len(cues), "max_line_chars": layout.max_line_chars,
               "sidecar_key": sidecar, "published_key": clip_key(job.clip_id, fmt)}
    if burn:
        summary["ass_key"] = job_key(job.job_id, "captions.ass")
        summary["highlight"] = job.options.caption_highlight and any(c.words for c in cues)
        text = burn_document(cues, width=width, height=height, layout=layout, highlight=job.options.caption_highlight)
        store.put_bytes(summary["ass_key"], text.encode(), content_type="text/plain; charset=utf-8")
    get_run_logger().info("captions: %d cues (%s%s), lines of at most %d characters", len(cues), fmt,
                          ", burned in" if burn else "", layout.max_line_chars)
    return StageResult(key=key, summary=summary)
