"""Audio stages: decode once, then profile → speech → silences → fillers, each stored as JSON.

Every task reads its inputs by key and writes ``jobs/<job_id>/<stage>.json``; a stage whose
document is already stored (an earlier, interrupted run of the same job) is not recomputed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from prefect import get_run_logger

from clipmill import media
from clipmill.audio.analysis import (
    AudioSettings, fillers_document, silences_for, silences_document, timeline_document, timeline_from_document,
)
from clipmill.audio.fillers import detect_fillers
from clipmill.audio.profile import AudioProfile, compute_profile
from clipmill.audio.vad import detect_speech
from clipmill.config import ClipOptions, load_settings
from clipmill.contracts import TimelinesContract
from clipmill.errors import InputError
from clipmill.jobs import ClipJob
from clipmill.storage import ObjectStore, job_key
from clipmill.timeline import Timeline
from tasks.runtime import clip_task, local_source, object_store


@dataclass(frozen=True)
class StageResult:
    """Where a stage's document is stored, and the summary the manifest records."""

    key: str
    summary: dict[str, Any]


def audio_settings(options: ClipOptions) -> AudioSettings:
    return AudioSettings(
        vad_backend=options.vad_backend, min_silence_s=options.min_silence_s, padding_s=options.padding_s,
        threshold_db=options.threshold_db, adaptive_threshold=options.adaptive_threshold,
        filler_backend=options.filler_backend,
    )


def _load_audio(store: ObjectStore, key: str) -> tuple[np.ndarray, int]:
    return media.from_wav_bytes(store.get_bytes(key))


def _stored(store: ObjectStore, key: str) -> dict[str, Any] | None:
    return json.loads(store.get_bytes(key)) if store.exists(key) else None


def _store(store: ObjectStore, key: str, document: dict[str, Any]) -> None:
    store.put_bytes(key, json.dumps(document, indent=1).encode(), content_type="application/json")


def _analysis_inputs(
    store: ObjectStore, audio_key: str, profile_key: str, speech_key: str
) -> tuple[np.ndarray, int, AudioProfile, Timeline]:
    """What the stages after VAD read: the audio, its profile and the speech timeline."""
    samples, sr = _load_audio(store, audio_key)
    profile = _profile(json.loads(store.get_bytes(profile_key)))
    return samples, sr, profile, timeline_from_document(json.loads(store.get_bytes(speech_key)))


def _profile(document: dict[str, Any]) -> AudioProfile:
    fields = {**document, "percentiles": tuple(document["percentiles"])}
    return AudioProfile(**fields)


@clip_task(name="decode-audio")
def decode_audio(job: ClipJob) -> str:
    """The range's audio as 16 kHz mono float32 WAV: ``jobs/<analysis_id>/audio.wav``.

    Decoded straight from the source (sample-accurate input seek), so the audio stages need not
    wait for the video segment to be extracted: the two run side by side.
    """
    settings = load_settings()
    store = object_store(settings)
    key = job_key(job.analysis_id, "audio.wav")
    if store.exists(key):
        return key
    with local_source(job.source, settings) as source:
        samples = media.decode_audio(
            source, has_audio=True, start_s=job.start_s, duration_s=job.duration_s, ffmpeg=settings.ffmpeg,
        )
    if samples.size == 0:
        raise InputError(
            f"source {job.source.uri!r} yielded no audio for {job.start_s:.3f}-{job.end_s:.3f} s although it has "
            "an audio track: the file is truncated or corrupt in that range"
        )
    store.put_bytes(key, media.to_wav_bytes(samples, media.ANALYSIS_SAMPLE_RATE), content_type="audio/wav")
    return key


@clip_task(name="audio-profile")
def profile_audio(job: ClipJob, audio_key: str) -> StageResult:
    """Noise floor, speech-band energy, SNR, loudness, clipping: the basis of every threshold."""
    store = object_store()
    key = job_key(job.analysis_id, "profile.json")
    document = _stored(store, key)
    if document is None:
        samples, sr = _load_audio(store, audio_key)
        document = compute_profile(samples, sr).to_dict()
        _store(store, key, document)
    get_run_logger().info(
        "noise floor %.1f dBFS, SNR %.1f dB, loudness %.1f dBFS",
        document["noise_floor_db"], document["snr_db"], document["loudness_db"],
    )
    summary = {name: document[name] for name in ("noise_floor_db", "snr_db", "loudness_db", "clipping_ratio")}
    return StageResult(key=key, summary=summary)


@clip_task(name="detect-speech")
def find_speech(job: ClipJob, audio_key: str, profile_key: str) -> StageResult:
    """Voice activity with the configured backend: ``speech.json``."""
    store = object_store()
    key = job_key(job.analysis_id, "speech.json")
    document = _stored(store, key)
    if document is None:
        samples, sr = _load_audio(store, audio_key)
        profile = _profile(json.loads(store.get_bytes(profile_key)))
        speech = detect_speech(samples, sr, backend=job.options.vad_backend, profile=profile)
        document = timeline_document("speech", speech, duration_s=len(samples) / sr)
        document["backend"] = job.options.vad_backend
        _store(store, key, document)
    get_run_logger().info("speech: %d intervals, %.1f%% of the segment", document["summary"]["count"],
                          document["summary"]["share_pct"])
    return StageResult(key=key, summary={**document["summary"], "backend": document["backend"]})


@clip_task(name="detect-silences")
def find_silences(job: ClipJob, audio_key: str, profile_key: str, speech_key: str) -> StageResult:
    """Pauses of at least ``min_silence_s`` under the (adaptive) threshold: ``silences.json``."""
    store = object_store()
    key = job_key(job.analysis_id, "silences.json")
    document = _stored(store, key)
    if document is None:
        samples, sr, profile, speech = _analysis_inputs(store, audio_key, profile_key, speech_key)
        result = silences_for(samples, sr, speech=speech, profile=profile, settings=audio_settings(job.options))
        document = silences_document(result, duration_s=len(samples) / sr)
        _store(store, key, document)
    get_run_logger().info("silences: %d, %.2f s in total (threshold %.1f dBFS)", document["summary"]["count"],
                          document["summary"]["total_s"], document["threshold_db"])
    return StageResult(key=key, summary={**document["summary"], "threshold_db": document["threshold_db"]})


@clip_task(name="detect-fillers")
def find_fillers(job: ClipJob, audio_key: str, profile_key: str, speech_key: str) -> StageResult:
    """Filler sounds ("um", "uh", …) with the configured backend: ``fillers.json``."""
    store = object_store()
    key = job_key(job.analysis_id, "fillers.json")
    document = _stored(store, key)
    if document is None:
        samples, sr, profile, speech = _analysis_inputs(store, audio_key, profile_key, speech_key)
        result = detect_fillers(samples, sr, speech=speech, profile=profile, backend=job.options.filler_backend)
        document = fillers_document(result, duration_s=len(samples) / sr)
        document["backend"] = job.options.filler_backend
        _store(store, key, document)
    get_run_logger().info("fillers: %d", document["summary"]["count"])
    return StageResult(key=key, summary={**document["summary"], "backend": document["backend"]})


@clip_task(name="collect-timelines")
def collect_timelines(job: ClipJob, speech_key: str, silences_key: str, fillers_key: str) -> str:
    """Speech, silences and fillers in one document checked against data_contracts/timelines."""
    store = object_store()
    key = job_key(job.analysis_id, "timelines.json")
    speech, silences, fillers = (json.loads(store.get_bytes(k)) for k in (speech_key, silences_key, fillers_key))
    document = TimelinesContract(
        segment_duration_s=speech["duration_s"], speech=speech["intervals"], silences=silences["intervals"],
        fillers=[[e["start"], e["end"]] for e in fillers["events"]],
        filler_labels=[e["label"] for e in fillers["events"]],
        filler_confidence=[e["confidence"] for e in fillers["events"]],
    )
    store.put_bytes(key, document.model_dump_json().encode(), content_type="application/json")
    return key
