"""Where the stages read a source from: locate it, snapshot and hash it once (`fingerprint`), then
hand out that snapshot (`source_file`, `local_source`), so every stage reads the same bytes.

Object sources are read from the configured store; a ``storage.block`` setting is resolved by the
`resolve_block` the caller passes (see `clipmill.storage.configured`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clipmill.config import Settings
from clipmill.errors import ClipmillError, InputError
from clipmill.scratch import scratch_dir
from clipmill.sources import (
    SourceRef, admit_to_cache, cache_path, cached_copy, check_bucket, check_under_roots, classify, local_path, parse_object_uri,
    printable, sha256_file, snapshot_local,
)
from clipmill.storage.configured import BlockResolver, configured_store, resolved_storage


def fingerprint(source: str, settings: Settings, *, resolve_block: BlockResolver | None = None) -> SourceRef:
    """Locate `source`, snapshot it into the cache and hash the snapshot (see `clipmill.sources`).

    Local sources must resolve under ``settings.source_roots`` and object sources live in
    ``settings.source_buckets`` (or the storage bucket); anything else is an `InputError`.
    """
    if classify(source) == "object":
        bucket, key = parse_object_uri(source)
        check_bucket(source, bucket, settings.source_buckets, resolved_storage(settings, resolve_block).bucket)
        store = configured_store(settings, resolve_block=resolve_block).with_bucket(bucket)
        if not store.exists(key):
            raise InputError(f"source not found: {source} does not exist in the object store")
        with scratch_dir(settings.temp_dir) as folder:
            download = store.get_file(key, folder / "download")
            digest, size = sha256_file(download)
            ref = SourceRef(uri=source, sha256=digest, size_bytes=size, name=Path(key).name)
            if cached_copy(settings.cache_dir, ref) is None:
                admit_to_cache(download, settings.cache_dir, ref)
        return ref
    return snapshot_local(check_under_roots(source, local_path(source), settings.source_roots), settings.cache_dir)


@contextmanager
def local_source(ref: SourceRef, settings: Settings, *, resolve_block: BlockResolver | None = None) -> Iterator[Path]:
    """The source's snapshot (`source_file`) for the block's tools to read; an error they raise
    names the source as the user gave it, not the snapshot's path in the cache."""
    path = source_file(ref, settings, resolve_block=resolve_block)
    try:
        yield path
    except ClipmillError as exc:
        text = str(exc).replace(str(path), printable(ref.uri)).replace(path.name, printable(ref.name))
        if text == str(exc):
            raise
        raise type(exc)(text) from exc


def source_file(ref: SourceRef, settings: Settings, *, resolve_block: BlockResolver | None = None) -> Path:
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
    with scratch_dir(settings.temp_dir) as folder:
        store = configured_store(settings, resolve_block=resolve_block).with_bucket(bucket)
        download = store.get_file(key, folder / "download")
        digest, size = sha256_file(download)
        if digest != ref.sha256:
            raise InputError(f"source {ref.uri} changed while the job ran (sha256 {digest} != {ref.sha256})")
        return admit_to_cache(download, settings.cache_dir, ref)
