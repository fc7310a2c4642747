"""The configured object store for the commands, reading a ``storage.block`` from Prefect only when
one is configured (so a command that needs no Prefect never imports it)."""

from __future__ import annotations

from clipmill.config import Settings, StorageSettings, load_settings
from clipmill.storage import ObjectStore
from clipmill.storage.configured import configured_store


def resolve_block(storage: StorageSettings) -> StorageSettings:
    """The Prefect block ``storage.block`` names, as plain storage settings."""
    from blocks.object_store import resolve

    return resolve(storage)


def object_store(settings: Settings | None = None) -> ObjectStore:
    """The configured store, opened once per process and configuration (shared with the tasks)."""
    return configured_store(settings or load_settings(), resolve_block=resolve_block)
