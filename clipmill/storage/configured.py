"""The configured object store, opened once per process and configuration.

A ``storage.block`` setting names a Prefect block holding the credentials. Reading it needs
Prefect, which only the entry layer and the tasks may import, so they pass the resolver in
(`resolve_block`, e.g. `blocks.object_store.resolve`); plain settings never call it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

from clipmill.config import Settings, StorageSettings
from clipmill.errors import InternalError
from clipmill.storage import ObjectStore, open_store

#: Replaces a block reference by the block's contents.
BlockResolver = Callable[[StorageSettings], StorageSettings]

_stores: dict[str, ObjectStore] = {}
_stores_lock = threading.Lock()


def resolved_storage(settings: Settings, resolve_block: BlockResolver | None) -> StorageSettings:
    """The storage settings with a block reference replaced by the block's contents."""
    if not settings.storage.block:
        return settings.storage
    if resolve_block is None:
        raise InternalError(
            f"storage.block = {settings.storage.block!r} was not resolved: the caller passed no resolve_block "
            "(the entry layer and the tasks pass blocks.object_store.resolve)"
        )
    return resolve_block(settings.storage)


def configured_store(settings: Settings, *, resolve_block: BlockResolver | None = None) -> ObjectStore:
    """The store `settings` configure, opened once per process and configuration.

    The key holds a digest of the secret key because the JSON dump masks it: without it a changed
    (rotated or wrong) secret would silently reuse the store opened with the old one.
    """
    storage = resolved_storage(settings, resolve_block)
    secret = storage.secret_key.get_secret_value() if storage.secret_key else ""
    cache_key = storage.model_dump_json() + hashlib.sha256(secret.encode()).hexdigest() + str(settings.home.resolve())
    with _stores_lock:
        if cache_key not in _stores:
            _stores[cache_key] = open_store(storage, home=settings.home)
        return _stores[cache_key]
