"""Object-store adapter on the `minio` client: the only code that talks S3.

Every failure of the store surfaces as `StorageError` naming the endpoint, so tasks can retry it
and users can see where clipmill was trying to reach.
"""

from __future__ import annotations

import copy
import errno
import hashlib
import io
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import MinioException, S3Error

from clipmill.errors import ClipmillError, StorageError
from clipmill.space import RESERVE_BYTES, ensure_free, free_bytes, out_of_space

log = logging.getLogger(__name__)
T = TypeVar("T")

_MISSING = {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}
_CONDITION_FAILED = {"PreconditionFailed", "ConditionalRequestConflict"}
_UNSUPPORTED = {"NotImplemented"}


class ObjectStore:
    """One bucket on an S3 endpoint, with the handful of operations the pipeline needs."""

    def __init__(
        self, endpoint: str, *, access_key: str | None, secret_key: str | None, bucket: str,
        secure: bool = False, region: str | None = None, connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.secure = secure
        #: Where the store keeps its data when it runs on this machine (the embedded SeaweedFS):
        #: writes are checked against that disk's free space, and a failed one is named by it.
        self.local_data: Path | None = None
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
            maxsize=16,
        )
        self.client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region, http_client=http
        )

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"

    def uri(self, key: str) -> str:
        """``s3://bucket/key``: how manifests refer to stored objects."""
        return f"s3://{self.bucket}/{key}"

    def with_bucket(self, bucket: str) -> "ObjectStore":
        """The same endpoint and credentials, another bucket (for sources stored elsewhere)."""
        other = copy.copy(self)
        other.bucket = bucket
        return other

    def ensure_bucket(self) -> None:
        """Create the bucket when missing; this is also the reachability check."""
        with self._errors("checking the bucket"):
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)

    def put_file(self, key: str, path: Path, *, content_type: str = "application/octet-stream") -> None:
        if self.local_data is not None:
            ensure_free(self.local_data, path.stat().st_size, what=f"storing {key!r} in the embedded store")
        with self._errors(f"uploading {key!r}"):
            self.client.fput_object(self.bucket, key, str(path), content_type=content_type)

    def get_file(self, key: str, path: Path) -> Path:
        """Download `key` to `path` (written to a temporary name first, then renamed), after
        checking that it fits there."""
        path.parent.mkdir(parents=True, exist_ok=True)
        ensure_free(path.parent, self.size(key), what=f"downloading {key!r}")
        with self._errors(f"downloading {key!r}"):
            self.client.fget_object(self.bucket, key, str(path))
        return path

    def put_bytes(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        with self._errors(f"uploading {key!r}"):
            self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=content_type)

    def put_if_absent(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> bool:
        """Write `key` only when no object has that key; True when this call wrote it.

        Uses an S3 conditional write (``If-None-Match: *``: the store answers 412 when the key
        exists, and of concurrent writers exactly one wins). An exists-check runs first as the
        fallback for stores that ignore the header; a store that rejects it as not implemented
        gets a plain write after that check.
        """
        if self.exists(key):
            return False
        headers = {"Content-Type": content_type, "If-None-Match": "*"}
        try:
            self.client._put_object(self.bucket, key, data, headers=headers)
        except S3Error as exc:
            if exc.code in _CONDITION_FAILED:
                return False
            if exc.code not in _UNSUPPORTED:
                raise self._storage_error(f"uploading {key!r} if absent", exc) from exc
            log.warning("%s ignores conditional writes; %s written after an exists-check only", self.url, key)
            self.put_bytes(key, data, content_type=content_type)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._storage_error(f"uploading {key!r} if absent", exc) from exc
        return True

    def get_bytes(self, key: str) -> bytes:
        with self._errors(f"reading {key!r}"):
            response = self.client.get_object(self.bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def sha256(self, key: str) -> str | None:
        """Hex sha256 of the object's bytes, streamed (nothing written locally); None when it is missing."""
        digest = hashlib.sha256()
        response = self._unless_missing(f"reading {key!r}", lambda: self.client.get_object(self.bucket, key))
        if response is None:
            return None
        with self._errors(f"reading {key!r}"):
            try:
                for block in response.stream(1 << 20):
                    digest.update(block)
            finally:
                response.close()
                response.release_conn()
        return digest.hexdigest()

    def exists(self, key: str) -> bool:
        return self._unless_missing(f"checking {key!r}", lambda: self.client.stat_object(self.bucket, key)) is not None

    def size(self, key: str) -> int:
        with self._errors(f"checking {key!r}"):
            return int(self.client.stat_object(self.bucket, key).size or 0)

    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[str]:
        with self._errors(f"listing {prefix!r}"):
            for item in self.client.list_objects(self.bucket, prefix=prefix, recursive=recursive):
                yield item.object_name

    def list_with_times(self, prefix: str = "") -> Iterator[tuple[str, datetime, int]]:
        """``(key, last_modified, size)`` of every object under `prefix`; times are timezone-aware UTC."""
        with self._errors(f"listing {prefix!r}"):
            for item in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
                yield item.object_name, item.last_modified, int(item.size or 0)

    def copy(self, source_key: str, target_key: str) -> None:
        with self._errors(f"copying {source_key!r} to {target_key!r}"):
            self.client.copy_object(self.bucket, target_key, CopySource(self.bucket, source_key))

    def delete(self, key: str) -> None:
        with self._errors(f"deleting {key!r}"):
            self.client.remove_object(self.bucket, key)

    def presigned_url(self, key: str, *, expires_s: int = 3600) -> str:
        with self._errors(f"signing {key!r}"):
            return self.client.presigned_get_object(self.bucket, key, expires=timedelta(seconds=expires_s))

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn minio and urllib3 failures into `StorageError` naming the action and endpoint."""
        try:
            yield
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._storage_error(action, exc) from exc

    def _unless_missing(self, action: str, call: Callable[[], T]) -> T | None:
        """`call()`, or None when the store says the object is not there; other failures as in `_errors`."""
        try:
            return call()
        except S3Error as exc:
            if exc.code in _MISSING:
                return None
            raise self._storage_error(action, exc) from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._storage_error(action, exc) from exc

    def _storage_error(self, action: str, exc: BaseException) -> ClipmillError:
        if self.local_data is not None and free_bytes(self.local_data) < RESERVE_BYTES:
            return out_of_space(self.local_data, f"{action} (the embedded store's data)")
        if isinstance(exc, S3Error):
            return StorageError(f"object store at {self.url} refused {action}: {exc.code}: {exc.message}")
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return out_of_space(Path(exc.filename).parent if exc.filename else Path.cwd(), f"{action} from {self.url}")
        if isinstance(exc, (urllib3.exceptions.HTTPError, OSError)):
            reason = getattr(exc, "reason", None) or exc
            return StorageError(
                f"object store unreachable at {self.url} while {action} in bucket {self.bucket!r}: "
                f"{type(reason).__name__}: {reason}; check that it is running and that the endpoint is right"
            )
        return StorageError(f"object store at {self.url} failed while {action}: {exc}")
