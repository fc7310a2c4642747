"""Audio stages: decode once, then profile → speech → silences → fillers, each stored as JSON.

Every task loads its inputs' documents by key, calls one analysis function and stores one document,
``jobs/<analysis_id>/<stage>.json`` (`clipmill.artifacts.stages`); a stage whose document is already
stored (an earlier, interrupted run of the same analysis) is not recomputed (`_cached_stage`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
from prefect import get_run_logger

from blocks.object_store import resolve
from clipmill import media
from clipmill.artifacts.document import Document
from clipmill.artifacts.results import StageResult
from clipmill.artifacts.stages import (
    FillersDocument, ProfileDocument, SilencesDocument, SpeechDocument, TimelinesDocument,
)
from clipmill.analysis_slice import speech_in_range
from clipmill.artifacts.store import cached, load, save
from clipmill.artifacts.suggestions import SourceAnalysisDocument
from clipmill.audio.analysis import silences_for
from clipmill.audio.fillers import detect_fillers
from clipmill.audio.profile import AudioProfile, compute_profile
from clipmill.audio.vad import detect_speech
from clipmill.config import load_settings
from clipmill.errors import InputError
from clipmill.jobs import ClipJob
from clipmill.source_access import local_source
from clipmill.stage_settings import audio_settings
from clipmill.storage import ObjectStore, job_key
from clipmill.timeline import Timeline
from tasks.runtime import clip_task, object_store

D = TypeVar("D", bound=Document)


def _load_audio(store: ObjectStore, key: str) -> tuple[np.ndarray, int]:
    return media.from_wav_bytes(store.get_bytes(key))


def _analysis_inputs(
    store: ObjectStore, audio_key: str, profile_key: str, speech_key: str
) -> tuple[np.ndarray, int, AudioProfile, Timeline]:
    """What the stages after VAD read: the audio, its profile and the speech timeline."""
    samples, sr = _load_audio(store, audio_key)
    profile = load(store, profile_key, ProfileDocument).profile()
    return samples, sr, profile, load(store, speech_key, SpeechDocument).timeline()


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
    with local_source(job.source, settings, resolve_block=resolve) as source:
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


def _cached_stage(
    job: ClipJob, filename: str, kind: type[D], make: Callable[[ObjectStore], D]
) -> tuple[D, StageResult]:
    """The stage's document ``jobs/<analysis_id>/<filename>``: the stored one, else ``make(store)``, stored."""
    store = object_store()
    key = job_key(job.analysis_id, filename)
    document = cached(store, key, kind, lambda: make(store))
    return document, StageResult.of(key, document)


@clip_task(name="audio-profile")
def profile_audio(job: ClipJob, audio_key: str) -> StageResult:
    """Noise floor, speech-band energy, SNR, loudness, clipping: the basis of every threshold."""
    def make(store: ObjectStore) -> ProfileDocument:
        return ProfileDocument.of(compute_profile(*_load_audio(store, audio_key)))

    document, result = _cached_stage(job, "profile.json", ProfileDocument, make)
    get_run_logger().info(
        "noise floor %.1f dBFS, SNR %.1f dB, loudness %.1f dBFS",
        document.noise_floor_db, document.snr_db, document.loudness_db,
    )
    return result


@clip_task(name="detect-speech")
def find_speech(job: ClipJob, audio_key: str, profile_key: str) -> StageResult:
    """Voice activity with the configured backend: ``speech.json``; cut from the whole-source analysis
    the job's range was chosen from when it heard the source with the same backend (`ClipJob.speech_from`)."""
    def make(store: ObjectStore) -> SpeechDocument:
        profile = load(store, profile_key, ProfileDocument).profile()
        if job.speech_from:
            analysis = load(store, job.speech_from, SourceAnalysisDocument)
            speech = speech_in_range(analysis, job.start_s, profile.duration_s)
        else:
            samples, sr = _load_audio(store, audio_key)
            speech = detect_speech(samples, sr, backend=job.options.vad_backend, profile=profile)
        return SpeechDocument.of(speech, duration_s=profile.duration_s, backend=job.options.vad_backend,
                                 sliced_from=job.speech_from)

    document, result = _cached_stage(job, "speech.json", SpeechDocument, make)
    get_run_logger().info("speech: %d intervals, %.1f%% of the segment", document.totals.count,
                          document.totals.share_pct)
    return result


@clip_task(name="detect-silences")
def find_silences(job: ClipJob, audio_key: str, profile_key: str, speech_key: str) -> StageResult:
    """Pauses of at least ``min_silence_s`` under the (adaptive) threshold: ``silences.json``."""
    def make(store: ObjectStore) -> SilencesDocument:
        samples, sr, profile, speech = _analysis_inputs(store, audio_key, profile_key, speech_key)
        result = silences_for(samples, sr, speech=speech, profile=profile, settings=audio_settings(job.options))
        return SilencesDocument.of(result, duration_s=len(samples) / sr)

    document, result = _cached_stage(job, "silences.json", SilencesDocument, make)
    get_run_logger().info("silences: %d, %.2f s in total (threshold %.1f dBFS)", document.totals.count,
                          document.totals.total_s, document.threshold_db)
    return result


@clip_task(name="detect-fillers")
def find_fillers(job: ClipJob, audio_key: str, profile_key: str, speech_key: str) -> StageResult:
    """Filler sounds ("um", "uh", …) with the backend the options resolve to (``auto``: the
    ensemble when they are cut), recorded in ``fillers.json``."""
    def make(store: ObjectStore) -> FillersDocument:
        samples, sr, profile, speech = _analysis_inputs(store, audio_key, profile_key, speech_key)
        backend = audio_settings(job.options).filler_backend
        result = detect_fillers(samples, sr, speech=speech, profile=profile, backend=backend)
        return FillersDocument.of(result, duration_s=len(samples) / sr, backend=backend)

    document, result = _cached_stage(job, "fillers.json", FillersDocument, make)
    get_run_logger().info("fillers: %d", document.totals.count)
    return result


@clip_task(name="collect-timelines")
def collect_timelines(job: ClipJob, speech_key: str, silences_key: str, fillers_key: str) -> StageResult:
    """Speech, silences and fillers in one document checked against data_contracts/timelines."""
    store = object_store()
    document = TimelinesDocument.of(
        load(store, speech_key, SpeechDocument), load(store, silences_key, SilencesDocument),
        load(store, fillers_key, FillersDocument),
    )
    return StageResult(key=save(store, job_key(job.analysis_id, "timelines.json"), document))
