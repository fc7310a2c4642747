"""Settings reach out-of-process Dask workers through the environment (Prefect #15783, #17546).

`EnvDaskTaskRunner` starts its `LocalCluster` when the flow run starts; the worker processes are
spawned then and inherit the flow process's environment, so ``CLIPMILL_*`` settings and Prefect's
own ``PREFECT_RESULTS_*`` settings exported before the run are what the tasks see on the workers.
"""

from __future__ import annotations

import os

import pytest
from prefect import flow, task

from clipmill.config import load_settings
from flows.faces import EnvDaskTaskRunner

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


@task
def seen_on_worker() -> dict:
    settings = load_settings()
    return {
        "pid": os.getpid(),
        "endpoint": settings.storage.endpoint,
        "bucket": settings.storage.bucket,
        "persist": os.environ.get("PREFECT_RESULTS_PERSIST_BY_DEFAULT"),
    }


@flow(task_runner=EnvDaskTaskRunner())
def probe_workers() -> dict:
    return seen_on_worker.submit().result()


def test_local_cluster_workers_inherit_settings_exported_before_the_run(prefect_server, monkeypatch):
    monkeypatch.setenv("CLIPMILL_DASK_WORKERS", "1")
    monkeypatch.setenv("CLIPMILL_STORAGE__ENDPOINT", "store.example:9000")
    monkeypatch.setenv("CLIPMILL_STORAGE__BUCKET", "exported-bucket")
    monkeypatch.setenv("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")

    seen = probe_workers()

    assert seen["pid"] != os.getpid(), "the task ran in a Dask worker process"
    assert (seen["endpoint"], seen["bucket"], seen["persist"]) == ("store.example:9000", "exported-bucket", "false")
