"""Local clip jobs run without Prefect's flow-run heartbeats (each cost its run up to a second at the end)."""

from __future__ import annotations

from contextvars import copy_context
from threading import Thread

from prefect.flow_engine import FlowRunEngine
from prefect.flows import flow
from prefect.settings import get_current_settings, temporary_settings

from tasks.runtime import without_heartbeats


@flow
def _nothing() -> None:
    return None


def _engine_heartbeat() -> int | None:
    return FlowRunEngine(flow=_nothing).heartbeat_seconds


def test_a_flow_run_started_inside_sends_no_heartbeats_and_others_still_do():
    before = _engine_heartbeat()
    with without_heartbeats():
        inside = _engine_heartbeat()
        seen_by_thread: list[int | None] = []
        worker = Thread(target=copy_context().run, args=(lambda: seen_by_thread.append(_engine_heartbeat()),))
        worker.start()
        worker.join()
    assert before is not None and _engine_heartbeat() == before
    assert inside is None
    assert seen_by_thread == [None]  # a library batch's clip jobs run on threads that copy the context


def test_the_settings_without_heartbeats_are_derived_once_from_the_settings_in_force():
    with without_heartbeats():
        first = get_current_settings()
    with without_heartbeats():
        assert get_current_settings() is first
    with temporary_settings(updates={"flows.default_retries": 3}):
        with without_heartbeats():
            assert get_current_settings().flows.default_retries == 3
            assert _engine_heartbeat() is None
    with without_heartbeats():
        assert get_current_settings().flows.default_retries == first.flows.default_retries


def test_settings_with_heartbeats_off_already_are_kept_as_they_are():
    """`clipmill run` turns them off where it points Prefect at the local server (`prefect_api`), so the
    job's `without_heartbeats` derives no second copy of the settings."""
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        off = get_current_settings()
        with without_heartbeats():
            assert get_current_settings() is off
            assert _engine_heartbeat() is None
