"""Where a clip's source comes from: a local path or an ``s3://bucket/key`` object.

A source is identified by its content (sha256), not its name, so job ids and caches survive
renames and notice silent replacements. Object-store sources are copied once into a local cache
keyed by that hash; local sources are read in place and never modified.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

from clipmill.errors import InputError

_CHUNK = 1 << 20


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


def parse_object_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into bucket and key, rejecting anything else."""
    parsed = urlparse(uri)
    key = parsed.path.lstrip("/")
    if parsed.scheme != "s3" or not parsed.netloc or not key:
        raise InputError(f"object source must look like s3://bucket/key (got {uri!r})")
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
    """The cached local copy of an object source, when one with the right hash exists."""
    path = cache_path(cache_dir, ref)
    return path if path.is_file() and path.stat().st_size == ref.size_bytes else None


def cache_path(cache_dir: Path, ref: SourceRef) -> Path:
    suffix = Path(ref.name).suffix.lower()[:10]
    return cache_dir / "sources" / f"{ref.sha256}{suffix}"


def admit_to_cache(download: Path, cache_dir: Path, ref: SourceRef) -> Path:
    """Move a verified download into the cache under its hash (atomic rename)."""
    target = cache_path(cache_dir, ref)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(download), target)
    return target
