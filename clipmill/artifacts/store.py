"""Documents in the object store: stored and loaded through their contracts, computed once.

`save` checks what it writes reads back as the same kind of document; `load` checks what it reads;
both raise `ContractViolation` naming the key and every wrong field. `cached` is the one "skip the
stage when its document is already stored" (an earlier, interrupted run of the same job).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from clipmill.artifacts.document import Document, parse
from clipmill.artifacts.stages import CaptionsDocument, EditPlanDocument, TimelinesDocument, TrackRowsDocument
from clipmill.errors import ContractViolation, StorageError
from clipmill.storage import ObjectStore

D = TypeVar("D", bound=Document)


def save(store: ObjectStore, key: str, document: Document) -> str:
    """Store `document` at `key` as JSON, after checking it reads back; returns `key`."""
    data = document.to_json()
    parse(type(document), data, where=key)
    store.put_bytes(key, data, content_type="application/json")
    return key


def load(store: ObjectStore, key: str, kind: type[D]) -> D:
    """The `kind` document stored at `key`."""
    return parse(kind, store.get_bytes(key), where=key)


def cached(store: ObjectStore, key: str, kind: type[D], make: Callable[[], D]) -> D:
    """The `kind` document at `key` if one is stored, else ``make()``, stored there."""
    if store.exists(key):
        return load(store, key, kind)
    document = make()
    save(store, key, document)
    return document


def load_track_rows(store: ObjectStore, key: str) -> list[dict[str, Any]]:
    """The face-track rows at `key` (``tracks.parquet``, or a JSON `TrackRowsDocument`), checked
    against data_contracts/tracks.schema.json, as plain dicts in stored order."""
    data = store.get_bytes(key)
    if key.endswith(".parquet"):
        import pandas as pd  # only where track rows are read: a clip job without faces never needs it

        document = parse(TrackRowsDocument, {"rows": pd.read_parquet(io.BytesIO(data)).to_dict("records")}, where=key)
    else:
        document = parse(TrackRowsDocument, data, where=key)
    return document.model_dump()["rows"]


def _plain(kind: type[Document]) -> Callable[[ObjectStore, str], dict[str, Any]]:
    """A reader of the `kind` document at a key, as a plain dict."""
    return lambda store, key: load(store, key, kind).model_dump()


#: What the data contracts check beside a manifest: the stage and how its document at the key is read.
LINKED_STAGES: dict[str, Callable[[ObjectStore, str], Any]] = {
    "timelines": _plain(TimelinesDocument), "tracks": load_track_rows, "edit": _plain(EditPlanDocument),
    "captions": _plain(CaptionsDocument),
}


@dataclass
class LinkedArtifacts:
    """Timelines, track rows, edit plans and captions linked from manifests (``stages.<stage>.key``) by
    clip id, and per clip what could not be read or broke its contract."""

    timelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    tracks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    edit: dict[str, dict[str, Any]] = field(default_factory=dict)
    captions: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)


def read_linked(store: ObjectStore, manifests: Iterable[Mapping[str, Any]]) -> LinkedArtifacts:
    """Read the timelines, tracks, edit plan and captions each manifest document links to, checked
    against their contracts.

    A missing object or a document that breaks its contract is recorded as a problem of that clip,
    and its rows are left out.
    """
    linked = LinkedArtifacts()
    for manifest in manifests:
        clip_id = str(manifest.get("clip_id"))
        stages = manifest.get("stages") if isinstance(manifest.get("stages"), dict) else {}
        for name, read in LINKED_STAGES.items():
            key = (stages.get(name) or {}).get("key")
            if not key:
                continue
            try:
                getattr(linked, name)[clip_id] = read(store, key)
            except (StorageError, ContractViolation, ValueError) as exc:
                linked.problems.setdefault(clip_id, []).append(f"{name} {key}: {exc}".replace("\n", " "))
    return linked
