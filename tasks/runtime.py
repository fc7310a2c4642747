"""What every task needs: the object store and one retry policy (storage and tool failures retried
with backoff; bad input never). Scratch folders and the source's snapshot come from
`clipmill.scratch` and `clipmill.source_access`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import SettingsContext, TagsContext, get_settings_context
from prefect.tasks import exponential_backoff

from blocks.object_store import resolve
from clipmill.config import Settings, load_settings
from clipmill.errors import ClipmillError
from clipmill.interrupts import stop_requested
from clipmill.jobs import ClipJob
from clipmill.run_tags import is_process_tag
from clipmill.sources import SourceRef, printable
from clipmill.storage import ObjectStore
from clipmill.storage.configured import configured_store


def untagged_runs(fn: Callable) -> Callable:
    """Run `fn` (a flow's function) with the process tag left off the task and subflow runs it starts.

    The tag marks the flow run, so runs a killed process left can be found (their task and subflow
    runs are found from it). On a task run it would cost a server round trip per task: Prefect asks
    for a tagged task's concurrency slots before it runs, 0.1-0.3 s each on a loaded local server.
    Other tags (a user's concurrency limits) stay.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current = TagsContext.get().current_tags
        with TagsContext(current_tags={tag for tag in current if not is_process_tag(tag)}):
            return fn(*args, **kwargs)

    return wrapper


@contextmanager
def without_heartbeats() -> Iterator[None]:
    """Run the flows started inside without Prefect's flow-run heartbeats.

    Heartbeats let a server's automation mark a deployment's run as crashed once its worker's process
    is gone. A run of `clipmill run`, the Python API or a library batch's clip-job subflow needs none:
    its flow run carries the process tag that `clipmill run` checks to mark a dead process's runs
    crashed, and a batch's own flow run keeps its heartbeat. Each heartbeat thread costs its flow run
    up to a second at the end (Prefect joins it after a sleep of one second), 0.46 s a job measured.
    The settings without heartbeats are derived once per settings object (`temporary_settings` would
    rebuild and validate them for every job: 0.1-0.17 s).
    """
    global _settings_without_heartbeats
    context = get_settings_context()
    if context.settings.flows.heartbeat_frequency is None:  # off already (`clipmill.cli.server.prefect_api`)
        yield
        return
    base, derived = _settings_without_heartbeats
    if base is not context.settings:
        derived = context.settings.copy_with_update(updates={"flows.heartbeat_frequency": None})
        _settings_without_heartbeats = (context.settings, derived)
    with SettingsContext(profile=context.profile, settings=derived):
        yield


#: (settings, the same without flow-run heartbeats), for `without_heartbeats`.
_settings_without_heartbeats: tuple[Any, Any] = (None, None)


def object_store(settings: Settings | None = None) -> ObjectStore:
    """The configured store (a ``storage.block`` read from Prefect), opened once per process and configuration."""
    return configured_store(settings or load_settings(), resolve_block=resolve)


def retry_unless_bad_input(task: Any, task_run: Any, state: Any) -> bool:
    """Retry failures clipmill marks retryable (storage, tools, broken invariants) and unexpected ones;
    never bad input, and nothing once the command is stopping on a signal (its ffmpeg was stopped on purpose)."""
    if stop_requested():
        return False
    exc = state.result(raise_on_failure=False)
    return not isinstance(exc, ClipmillError) or exc.retryable


def run_subject(parameters: dict[str, Any]) -> str | None:
    """What a task run works on, read off its parameters: the request, the source, or the clip."""
    job = parameters.get("job")
    if isinstance(job, ClipJob):
        return f"{printable(job.source.name)} {job.start_s:g}-{job.end_s:g}"
    ref = parameters.get("ref")
    if isinstance(ref, SourceRef) and "start_s" in parameters:
        end = "end" if parameters["end_s"] is None else f"{parameters['end_s']:g}"
        return f"{printable(ref.name)} {parameters['start_s']:g}-{end}"
    if isinstance(parameters.get("source"), str):
        return printable(PurePosixPath(parameters["source"]).name)
    for key in ("published", "manifest"):
        if isinstance(clip_id := getattr(parameters.get(key), "clip_id", None), str):
            return clip_id
    return None


def named_runs(task_name: str) -> Callable[..., str]:
    """Task-run names that say what each run is about, e.g. ``extract-segment[talk.mp4 10-30]``."""

    def task_run_name(parameters: dict[str, Any]) -> str:
        subject = run_subject(parameters)
        return f"{task_name}[{subject}]" if subject else task_name

    return task_run_name


def clip_task(fn: Callable | None = None, **options: Any) -> Any:
    """`@task` with clipmill's retry policy and named runs; results live in the object store, not in Prefect."""
    settings = load_settings()
    defaults = dict(
        retries=settings.task_retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=settings.retry_backoff_s),
        retry_jitter_factor=0.2,
        retry_condition_fn=retry_unless_bad_input,
        cache_policy=NO_CACHE,
        persist_result=False,
    )
    if "name" in options:
        defaults["task_run_name"] = named_runs(options["name"])
    decorator = task(**{**defaults, **options})
    return decorator(fn) if fn is not None else decorator
