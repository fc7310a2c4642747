"""Object storage: the S3 adapter, the key layout and the embedded SeaweedFS default."""

from __future__ import annotations

from pathlib import Path

from clipmill.config import StorageSettings
from clipmill.storage import embedded
from clipmill.storage.keys import CLIPS_PREFIX, JOBS_PREFIX, clip_key, job_key, safe_name
from clipmill.storage.store import ObjectStore

__all__ = [
    "CLIPS_PREFIX",
    "JOBS_PREFIX",
    "ObjectStore",
    "clip_key",
    "job_key",
    "open_store",
    "safe_name",
]


def open_store(storage: StorageSettings, *, home) -> ObjectStore:
    """The configured object store, with its bucket present.

    An explicit endpoint wins; without one, the embedded SeaweedFS under `home` is started (or
    reused). Prefect blocks are resolved by the caller (they live in ``blocks/``) and arrive here as
    plain settings.
    """
    if storage.endpoint:
        secret = storage.secret_key.get_secret_value() if storage.secret_key else None
        store = ObjectStore(
            storage.endpoint, access_key=storage.access_key, secret_key=secret, bucket=storage.bucket,
            secure=storage.secure, region=storage.region, connect_timeout_s=storage.connect_timeout_s,
            read_timeout_s=storage.read_timeout_s,
        )
    else:
        server = embedded.ensure_running(home)
        store = ObjectStore(
            server.endpoint, access_key=server.access_key, secret_key=server.secret_key, bucket=storage.bucket,
            connect_timeout_s=storage.connect_timeout_s, read_timeout_s=storage.read_timeout_s,
        )
        store.local_data = Path(server.data_dir)
    store.ensure_bucket()
    return store
