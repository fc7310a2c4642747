"""What every task needs: settings, the object store, scratch space, local access to the source,
and one retry policy (storage and tool failures retried with backoff; bad input never).
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from blocks.object_store import resolve
from clipmill.config import Settings, load_settings
from clipmill.errors import ClipmillError, InputError
from clipmill.interrupts import stop_requested
from clipmill.jobs import ClipJob
from clipmill.scratch import folder_prefix
from clipmill.sources import (
    SourceRef, admit_to_cache, cache_path, cached_copy, check_bucket, check_under_roots, classify, local_path, parse_object_uri,
    printable, sha256_file, snapshot_local,
)
from clipmill.storage import ObjectStore, open_store

_stores: dict[str, ObjectStore] = {}
_stores_lock = threading.Lock()


def object_store(settings: Settings | None = None) -> ObjectStore:
    """The configured store, opened once per process and configuration.

    The key holds a digest of the secret key because the JSON dump masks it: without it a changed
    (rotated or wrong) secret would silently reuse the store opened with the old one.
    """
    settings = settings or load_settings()
    storage = resolve(settings.storage)
    secret = storage.secret_key.get_secret_value() if storage.secret_key else ""
    cache_key = storage.model_dump_json() + hashlib.sha256(secret.encode()).hexdigest() + str(settings.home.resolve())
    with _stores_lock:
        if cache_key not in _stores:
            _stores[cache_key] = open_store(storage, home=settings.home)
        return _stores[cache_key]


def retry_unless_bad_input(task: Any, task_run: Any, state: Any) -> bool:
    """Retry failures clipmill marks retryable (storage, tools) and unexpected ones; never bad input,
    and nothing once the command is stopping on a signal (its ffmpeg was stopped on purpose)."""
    if stop_requested():
        return False
    exc = state.result(raise_on_failure=False)
    return not isinstance(exc, ClipmillError) or exc.retryable


def run_subject(parameters: dict[str, Any]) -> str | None:
    """What a task run works on, read off its parameters: the request, the source, or the clip."""
    job = parameters.get("job")
    if isinstance(job, ClipJob):
        return f"{printable(job.source.name)} {job.start_s:g}-{job.end_s:g}"
    ref = parameters.get("ref")
    if isinstance(ref, SourceRef) and "start_s" in parameters:
        end = "end" if parameters["end_s"] is None else f"{parameters['end_s']:g}"
        return f"{printable(ref.name)} {parameters['start_s']:g}-{end}"
    if isinstance(parameters.get("source"), str):
        return printable(PurePosixPath(parameters["source"]).name)
    for key in ("published", "manifest"):
        if isinstance(clip_id := getattr(parameters.get(key), "clip_id", None), str):
            return clip_id
    return None


def named_runs(task_name: str) -> Callable[..., str]:
    """Task-run names that say what each run is about, e.g. ``extract-segment[talk.mp4 10-30]``."""

    def task_run_name(parameters: dict[str, Any]) -> str:
        subject = run_subject(parameters)
        return f"{task_name}[{subject}]" if subject else task_name

    return task_run_name


def clip_task(fn: Callable | None = None, **options: Any) -> Any:
    """`@task` with clipmill's retry policy and named runs; results live in the object store, not in Prefect."""
    settings = load_settings()
    defaults = dict(
        retries=settings.task_retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=settings.retry_backoff_s),
        retry_jitter_factor=0.2,
        retry_condition_fn=retry_unless_bad_input,
        cache_policy=NO_CACHE,
        persist_result=False,
    )
    if "name" in options:
        defaults["task_run_name"] = named_runs(options["name"])
    decorator = task(**{**defaults, **options})
    return decorator(fn) if fn is not None else decorator


@contextmanager
def scratch_dir(settings: Settings) -> Iterator[Path]:
    """A private temporary folder under the clipmill home, removed however the task ends.

    Its name carries this process's id, so a killed process's leftovers are reaped later
    (`clipmill.scratch`).
    """
    settings.temp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.temp_dir, prefix=folder_prefix()) as folder:
        yield Path(folder)


def fingerprint(source: str, settings: Settings) -> SourceRef:
    """Locate `source`, snapshot it into the cache and hash the snapshot (see `clipmill.sources`).

    Local sources must resolve under ``settings.source_roots`` and object sources live in
    ``settings.source_buckets`` (or the storage bucket); anything else is an `InputError`.
    """
    if classify(source) == "object":
        bucket, key = parse_object_uri(source)
        check_bucket(source, bucket, settings.source_buckets, resolve(settings.storage).bucket)
        store = object_store(settings).with_bucket(bucket)
        if not store.exists(key):
            raise InputError(f"source not found: {source} does not exist in the object store")
        with scratch_dir(settings) as folder:
            download = store.get_file(key, folder / "download")
            digest, size = sha256_file(download)
            ref = SourceRef(uri=source, sha256=digest, size_bytes=size, name=Path(key).name)
            if cached_copy(settings.cache_dir, ref) is None:
                admit_to_cache(download, settings.cache_dir, ref)
        return ref
    return snapshot_local(check_under_roots(source, local_path(source), settings.source_roots), settings.cache_dir)


@contextmanager
def local_source(ref: SourceRef, settings: Settings) -> Iterator[Path]:
    """The source's snapshot (`source_file`) for the block's tools to read; an error they raise
    names the source as the user gave it, not the snapshot's path in the cache."""
    path = source_file(ref, settings)
    try:
        yield path
    except ClipmillError as exc:
        text = str(exc).replace(str(path), printable(ref.uri)).replace(path.name, printable(ref.name))
        if text == str(exc):
            raise
        raise type(exc)(text) from exc


def source_file(ref: SourceRef, settings: Settings) -> Path:
    """The local snapshot holding exactly the bytes `ref` hashes, made again where it is missing
    (another machine, a cleaned cache) and refused when the source no longer has those bytes."""
    cached = cached_copy(settings.cache_dir, ref)
    if cached is not None:
        return cached
    if not ref.is_object:
        again = snapshot_local(Path(ref.uri), settings.cache_dir)
        if again.sha256 != ref.sha256:
            raise InputError(f"source {ref.uri!r} changed while the job ran (sha256 {again.sha256} != {ref.sha256})")
        return cache_path(settings.cache_dir, again.sha256, again.name)
    bucket, key = parse_object_uri(ref.uri)
    with scratch_dir(settings) as folder:
        download = object_store(settings).with_bucket(bucket).get_file(key, folder / "download")
        digest, size = sha256_file(download)
        if digest != ref.sha256:
            raise InputError(f"source {ref.uri} changed while the job ran (sha256 {digest} != {ref.sha256})")
        return admit_to_cache(download, settings.cache_dir, ref)
