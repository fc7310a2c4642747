"""A broken invariant (`InternalError`) is retried like any failure; bad input (`InputError`) never is.

Real Prefect: a `clip_task` with clipmill's retry policy (one retry in the test session) inside a flow.
"""

from __future__ import annotations

import pytest
from prefect import flow

from clipmill.errors import InputError, InternalError
from tasks.runtime import clip_task

ATTEMPTS: list[str] = []


@clip_task(name="fails-once")
def fails_once(kind: str) -> str:
    """Raises the error `kind` names on its first attempt, succeeds on the next."""
    ATTEMPTS.append(kind)
    if ATTEMPTS.count(kind) == 1:
        raise {"internal": InternalError, "input": InputError}[kind](f"planted {kind} failure")
    return "done"


@flow
def one_task(kind: str) -> str:
    return fails_once(kind)


def test_an_internal_error_is_retried(prefect_server) -> None:
    ATTEMPTS.clear()
    assert one_task("internal") == "done"
    assert ATTEMPTS == ["internal", "internal"]


def test_bad_input_is_tried_once(prefect_server) -> None:
    ATTEMPTS.clear()
    with pytest.raises(InputError, match="planted input failure"):
        one_task("input")
    assert ATTEMPTS == ["input"]
