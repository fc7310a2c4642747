"""Where a clip's source comes from: a local path or an ``s3://bucket/key`` object.

A source is identified by its content (sha256), not its name, so job ids and caches survive
renames and notice silent replacements. Every source is read once into a local cache keyed by that
hash (a *snapshot*: object sources are downloaded, local files copied, hashing the very bytes that
are written), and every stage reads the snapshot: a file that is rewritten while a job runs (a sync
still copying) can neither be rendered from other bytes than its manifest's sha256 names nor be
half-read. Local sources are only ever read, never modified.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

from clipmill.errors import InputError
from clipmill.space import ensure_free, out_of_space

_CHUNK = 1 << 20
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@dataclass(frozen=True)
class SourceRef:
    """A located, fingerprinted source: what every later stage refers to."""

    uri: str
    sha256: str
    size_bytes: int
    name: str

    @property
    def is_object(self) -> bool:
        return self.uri.startswith("s3://")


def printable(text: str) -> str:
    """`text` with control characters (newlines, escapes) written as ``\\n``-style escapes: how source
    names appear in logs and run names, so a file name can never forge or split a log line."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def parse_object_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into bucket and key, rejecting anything else.

    Keys with ``.`` or ``..`` segments and bucket names S3 does not allow are refused here, as
    bad input, before any request reaches the store.
    """
    parsed = urlparse(uri)
    key = parsed.path.lstrip("/")
    if parsed.scheme != "s3" or not parsed.netloc or not key:
        raise InputError(f"object source must look like s3://bucket/key (got {uri!r})")
    if {".", ".."} & set(key.split("/")):
        raise InputError(f"object source {uri!r} has a '.' or '..' segment in its key; give the object's plain key")
    if not _BUCKET_NAME.fullmatch(parsed.netloc) or ".." in parsed.netloc:
        raise InputError(
            f"object source {uri!r} names bucket {parsed.netloc!r}, which is not a valid S3 bucket name "
            "(3-63 lowercase letters, digits, dots and hyphens)"
        )
    return parsed.netloc, key


def classify(source: str) -> str:
    """``"object"`` for ``s3://`` sources, ``"local"`` for paths; other URL schemes are refused."""
    if not source or not source.strip():
        raise InputError("source is empty: give a video path or an s3://bucket/key")
    scheme = urlparse(source).scheme
    if scheme == "s3":
        return "object"
    if scheme in ("", "file") or (len(scheme) == 1 and source[1:3] in (":\\", ":/")):
        return "local"
    raise InputError(f"unsupported source {source!r}: only local paths and s3://bucket/key are accepted")


def local_path(source: str) -> Path:
    """The absolute path of a local source, checked to be a readable file."""
    path = Path(urlparse(source).path if source.startswith("file:") else source).expanduser().resolve()
    if not path.exists():
        raise InputError(f"source not found: {str(path)!r} does not exist")
    if not path.is_file():
        raise InputError(f"source {str(path)!r} is not a regular file")
    return path


def check_under_roots(source: str, path: Path, roots: Sequence[Path]) -> Path:
    """`path` with symlinks resolved, when it lies under one of `roots` (any path when `roots` is empty).

    The check runs on the resolved path, so a symlink inside a root that points outside it is refused.
    """
    real = path.resolve()
    if not roots:
        return real
    allowed = [Path(root).expanduser().resolve() for root in roots]
    if any(real.is_relative_to(root) for root in allowed):
        return real
    raise InputError(
        f"source {source!r} (resolved to {str(real)!r}) is outside the allowed source folders "
        f"{[str(root) for root in allowed]}; move it under one of them or add its folder to source_roots"
    )


def check_bucket(source: str, bucket: str, allowed: Sequence[str], storage_bucket: str) -> None:
    """Refuse an object source outside the allowed buckets (by default only the storage bucket)."""
    buckets = list(allowed) or [storage_bucket]
    if bucket not in buckets:
        raise InputError(
            f"source {source!r} is in bucket {bucket!r}, which is not an allowed source bucket {buckets}; "
            "copy it into one of them or add the bucket to source_buckets"
        )


def sha256_of(stream: BinaryIO) -> tuple[str, int]:
    """Hash a stream in 1 MiB blocks; returns hex digest and byte count."""
    digest, size = hashlib.sha256(), 0
    while block := stream.read(_CHUNK):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def sha256_file(path: Path) -> tuple[str, int]:
    with path.open("rb") as handle:
        return sha256_of(handle)


def cached_copy(cache_dir: Path, ref: SourceRef) -> Path | None:
    """The cached snapshot of a source, when one with the right hash exists."""
    path = cache_path(cache_dir, ref.sha256, ref.name)
    return path if path.is_file() and path.stat().st_size == ref.size_bytes else None


def cache_path(cache_dir: Path, sha256: str, name: str) -> Path:
    """Where the snapshot of content `sha256` lives (the extension kept for tools that look at it)."""
    suffix = Path(name).suffix.lower()[:10]
    return cache_dir / "sources" / f"{sha256}{suffix}"


def admit_to_cache(download: Path, cache_dir: Path, ref: SourceRef) -> Path:
    """Move a verified download into the cache under its hash (atomic rename), read-only."""
    target = cache_path(cache_dir, ref.sha256, ref.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    download.chmod(0o444)
    shutil.move(str(download), target)
    return target


def snapshot_local(path: Path, cache_dir: Path) -> SourceRef:
    """Hash local file `path` and make sure the cache holds a snapshot of exactly those bytes.

    A snapshot already cached under the file's hash is reused; otherwise the file is copied and
    the copy's bytes are hashed as they are written, so the `SourceRef` names what the copy holds
    even when the file changes meanwhile.
    """
    digest, size = sha256_file(path)
    ref = SourceRef(uri=str(path), sha256=digest, size_bytes=size, name=path.name)
    if cached_copy(cache_dir, ref) is not None:
        return ref
    folder = cache_dir / "sources"
    folder.mkdir(parents=True, exist_ok=True)
    ensure_free(folder, size, what=f"the snapshot of {printable(path.name)}")
    handle, name = tempfile.mkstemp(dir=folder, prefix=".copy-")
    os.close(handle)
    copy = Path(name)
    try:
        digest, size = _copy_hashing(path, copy)
        ref = SourceRef(uri=str(path), sha256=digest, size_bytes=size, name=path.name)
        admit_to_cache(copy, cache_dir, ref)
    finally:
        copy.unlink(missing_ok=True)
    return ref


def _copy_hashing(path: Path, copy: Path) -> tuple[str, int]:
    """Copy `path` to `copy`, hashing what is written; a full disk is `NoSpaceLeft`."""
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("rb") as source, copy.open("wb") as target:
            while block := source.read(_CHUNK):
                target.write(block)
                digest.update(block)
                size += len(block)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise out_of_space(copy.parent, f"copying the snapshot of {printable(path.name)}") from exc
        raise
    return digest.hexdigest(), size
