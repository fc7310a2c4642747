"""Credentials never leak (issue 9, security): not into logs, run states, artifacts, stored documents,
error messages or the console, after a good clip job and after one that fails on a wrong secret key.

The secret key (real and wrong) is the credential checked everywhere. The access key is an identifier,
not a secret (S3 puts it in every signed request and presigned URL), so it is not required to be absent.
"""

from __future__ import annotations

import logging
import os
import secrets
import traceback
import uuid

import pytest
from prefect.client.orchestration import get_client
from prefect.logging.handlers import APILogHandler

from blocks.object_store import ObjectStoreCredentials
from clipmill import process_clip
from clipmill.config import load_settings
from clipmill.errors import StorageError

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PAGE = 200


def paged(read, **filters) -> list:
    """Every item a Prefect ``read_*`` call returns, page by page."""
    items, offset = [], 0
    while page := read(limit=PAGE, offset=offset, **filters):
        items += page
        offset += len(page)
    return items


def prefect_records() -> dict[str, str]:
    """Every log, flow run, task run (states, messages, parameters) and artifact on the server, as JSON."""
    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        found = {
            "logs": paged(client.read_logs),
            "flow runs": paged(client.read_flow_runs),
            "task runs": paged(client.read_task_runs),
            "artifacts": paged(client.read_artifacts),
        }
    assert found["logs"] and found["flow runs"] and found["task runs"] and found["artifacts"], "nothing collected"
    return {f"{kind} {item.id}": item.model_dump_json() for kind, items in found.items() for item in items}


def stored_objects(store) -> dict[str, bytes]:
    """Every object under clips/ and jobs/: clips, manifests, stage documents, intermediates."""
    keys = [key for prefix in ("clips/", "jobs/") for key in store.list(prefix)]
    assert any(key.endswith(".json") for key in keys), keys
    return {f"object {key}": store.get_bytes(key) for key in keys}


def error_text(exc: BaseException) -> str:
    """The message, repr and full traceback of `exc` and every exception chained to it."""
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc))


def leaks(places: dict[str, str | bytes], credentials: list[str]) -> list[str]:
    """``place: credential`` for every place holding one of the credentials."""
    return [
        f"{place}: {credential[:4]}..."
        for place, text in places.items() for credential in credentials
        if (credential.encode() if isinstance(text, bytes) else credential) in text
    ]


def test_no_secret_key_in_logs_runs_artifacts_objects_errors_or_console(
    clip_env, workdir, monkeypatch, caplog, capfd
):
    secret = os.environ["CLIPMILL_STORAGE__SECRET_KEY"]
    wrong = "wrong-" + secrets.token_urlsafe(24)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="prefect")
    source = str(workdir / "grid_concat_11speakers_33s.mp4")
    name = f"secrets-{uuid.uuid4().hex[:8]}"

    good = process_clip(source, start=2.0, end=3.5, out_dir=workdir / "good", detect_faces=False, clip_name=name)
    monkeypatch.setenv("CLIPMILL_STORAGE__SECRET_KEY", wrong)
    with pytest.raises(StorageError, match="refused") as failed:
        process_clip(source, start=4.0, end=5.0, out_dir=workdir / "bad", detect_faces=False, clip_name=name + "-x")

    console = capfd.readouterr()
    places: dict[str, str | bytes] = {
        **prefect_records(),
        **stored_objects(clip_env),
        "manifest on disk": good.manifest_path.read_bytes(),
        "error": error_text(failed.value),
        "stdout": console.out,
        "stderr": console.err,
        **{f"log record {k}": f"{r.getMessage()} {r.exc_text or ''}" for k, r in enumerate(caplog.records)},
    }
    assert leaks(places, [secret, wrong]) == []


def test_settings_and_block_reprs_hide_the_secret_key(clip_env):
    secret = os.environ["CLIPMILL_STORAGE__SECRET_KEY"]
    settings = load_settings()
    block = ObjectStoreCredentials(endpoint="minio:9000", access_key="clipmill", secret_key=secret)

    shown = [repr(settings), str(settings), settings.model_dump_json(), repr(block), str(block),
             block.model_dump_json()]
    assert settings.storage.secret_key.get_secret_value() == secret, "the secret is there, only hidden"
    assert leaks(dict(enumerate(map(str, shown))), [secret]) == []
