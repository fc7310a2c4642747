"""The Python API: the `clip_job` flow for notebooks and programs, with local copies of the results.

Part of the entry layer (`clipmill.cli`): the only part of the `clipmill` package that imports
the flows, tasks, blocks or Prefect.
"""

from __future__ import annotations

import json
import logging
import socket
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from clipmill.config import ClipOptions, Settings, effective_options, load_settings
from clipmill.errors import InputError
from clipmill.jobs import check_open_times
from clipmill.manifest import Manifest
from clipmill.quality.contracts_process import start_contracts_process
from clipmill.run_tags import process_tag, tagged_process
from clipmill.sources import check_under_roots, classify, local_path, parse_object_uri

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ClipResult:
    """A finished clip on local disk, with its manifest and where both live in the store."""

    clip_path: Path
    manifest_path: Path
    manifest: Manifest
    clip_uri: str
    manifest_uri: str
    reused: bool
    timeline_path: Path | None = None
    captions_path: Path | None = None

    @property
    def clip_id(self) -> str:
        return self.manifest.clip_id

    @property
    def duration_s(self) -> float:
        return self.manifest.clip.duration_s


def process_clip(
    source: str, *, start: float = 0.0, end: float | None = None, out_dir: str | Path = "clips",
    clip_preset: str | None = None, **options: Any,
) -> ClipResult:
    """Run the `clip_job` flow on ``[start, end)`` of `source` and download the clip and manifest.

    Options are `clipmill.config.ClipOptions` fields (``crf=23``, ``clip_name="intro"``); an unknown
    one raises an `InputError` that names it. Without `end` the clip runs to the end of the source.
    `clip_preset` names a saved preset (`clipmill presets`) that the options override. Everything
    that needs no media (times, options, preset, `out_dir`, the source's scheme and path) is checked
    before the flow runs. The flow runs on the Prefect server the settings name (``PREFECT_API_URL``;
    `clipmill run` starts a local one), on the embedded store without a configured endpoint.
    """
    settings = load_settings()
    check_request(source, start=start, end=end, out_dir=out_dir, options=options, settings=settings)
    start_contracts_process()  # GE imports on another core while Prefect and the flow import here

    from prefect import tags

    from blocks.presets import resolve_preset
    from flows.clip_job import clip_job
    from clipmill.cli.storage import object_store
    from tasks.runtime import without_heartbeats

    effective_options(effective_options(settings.options, resolve_preset(clip_preset)), options)
    with tags(process_tag()), without_heartbeats():
        published = clip_job.with_options(on_running=[_announce])(source, start, end, options or None, clip_preset)
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    store = object_store()
    clip_path = store.get_file(published["clip_key"], target / Path(published["clip_key"]).name)
    manifest_path = store.get_file(published["manifest_key"], target / Path(published["manifest_key"]).name)
    manifest = Manifest.model_validate(json.loads(manifest_path.read_text()))
    timeline, captions = published.get("timeline_key"), published.get("captions_key")
    return ClipResult(
        clip_path=clip_path, manifest_path=manifest_path, manifest=manifest, clip_uri=published["clip_uri"],
        manifest_uri=published["manifest_uri"], reused=published["reused"],
        timeline_path=store.get_file(timeline, target / Path(timeline).name) if timeline else None,
        captions_path=store.get_file(captions, target / Path(captions).name) if captions else None,
    )


def check_request(
    source: str, *, start: object, end: object | None, out_dir: str | Path, options: dict[str, Any],
    settings: Settings,
) -> ClipOptions:
    """Check what a clip request can be checked on without media, store or server; its options.

    Times, options (the clip name among them) over the installation's defaults, the source's scheme
    (and a local source's path and folder), and that `out_dir` is, or can become, a writable folder.
    """
    check_open_times(start, end)
    chosen = effective_options(settings.options, options)
    if classify(source) == "object":
        parse_object_uri(source)
    else:
        check_under_roots(source, local_path(source), settings.source_roots)
    if chosen.transcript:
        _check_transcript(chosen.transcript, settings)
    check_out_dir(Path(out_dir))
    return chosen


def _check_transcript(transcript: str, settings: Settings) -> None:
    """A local transcript is read and parsed now (malformed, wrong encoding: exit 2 before any server
    starts); an s3:// one is checked for its form. Whether it fits the source needs the probe."""
    from clipmill.captions.parse import check_local_transcript

    try:
        if classify(transcript) == "object":
            parse_object_uri(transcript)
            return
        path = check_under_roots(transcript, local_path(transcript), settings.source_roots)
    except InputError as exc:
        raise InputError(f"transcript: {exc}") from exc
    check_local_transcript(transcript, name=Path(transcript).name, path=path)


def check_out_dir(out_dir: Path) -> None:
    """`out_dir` is a writable folder, or one that can be made in a writable folder; else `InputError`."""
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():
            raise InputError(f"--out {str(out_dir)!r}: {str(existing)!r} is a dangling symlink")
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"--out {str(out_dir)!r}: {str(existing)!r} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".clipmill-write-check-"):
            pass
    except OSError as exc:
        raise InputError(f"--out {str(out_dir)!r}: cannot write in {str(existing)!r} ({exc.strerror or exc})") from exc


def crash_unfinished_runs(api_url: str, *, own: bool, message: str, timeout_s: float = 2.0) -> int:
    """Mark unfinished flow and task runs on the server at `api_url` Crashed: this process's (``own``,
    failed ones too: on the way out of a stop), else those of dead processes on this host. Only a job's root
    flow run carries the process tag; its subflow and task runs are told by their root, a failed one included
    (a flow that failed may leave its face subflow running). Returns how many tagged flow runs were marked; a
    server that does not answer is let be."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    try:
        pointed = nullcontext() if str(get_current_settings().api.url) == api_url else temporary_settings(
            updates={PREFECT_API_URL: api_url})
        with pointed, get_client(sync_client=True, httpx_settings={"timeout": timeout_s}) as client:
            return _crash_own_runs(client, message) if own else _crash_dead_processes_runs(client, message)
    except Exception as exc:  # bookkeeping on the way out must never hide the real outcome
        log.debug("could not mark unfinished runs: %s", exc)
        return 0


def _unfinished_states() -> list[Any]:
    from prefect.client.schemas.objects import StateType

    return [StateType.RUNNING, StateType.PENDING, StateType.SCHEDULED, StateType.PAUSED, StateType.CANCELLING]


def _crash_own_runs(client: Any, message: str) -> int:
    """This process's tagged flow runs, unfinished or failed (a stop fails them on their way out: say why
    they ended), and their unfinished descendants."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType, FlowRunFilterTags
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    ended_by_the_stop = [*_unfinished_states(), StateType.FAILED]
    flow_runs = client.read_flow_runs(
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=ended_by_the_stop)),
                                      tags=FlowRunFilterTags(all_=[process_tag()])),
        limit=200,
    )
    for run in flow_runs:
        client.set_flow_run_state(run.id, Crashed(message=message), force=True)
    _crash_descendants(client, [run.id for run in flow_runs], ended_by_the_stop, message)
    return len(flow_runs)


def _crash_dead_processes_runs(client: Any, message: str) -> int:
    """The unfinished flow runs, and the unfinished task runs of unfinished or failed flow runs, whose root
    flow run carries the tag of a dead process on this host.

    Only unfinished runs are read, and the roots of those: the server's history of failed runs costs
    nothing (reading its 200 latest failed runs to look under each took a `clipmill run` 0.1-0.4 s).
    """
    from prefect.client.schemas.filters import (
        FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType, TaskRunFilter, TaskRunFilterState,
        TaskRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    unfinished = _unfinished_states()
    flow_runs = client.read_flow_runs(
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=unfinished))),
        limit=200,
    )
    task_runs = client.read_task_runs(
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[*unfinished, StateType.FAILED]))),
        task_run_filter=TaskRunFilter(state=TaskRunFilterState(type=TaskRunFilterStateType(any_=unfinished))),
        limit=200,
    )
    roots = _RootRuns(client, flow_runs)
    marked = 0
    for run in flow_runs:
        if roots.of_dead_process(run.id):
            client.set_flow_run_state(run.id, Crashed(message=message), force=True)
            marked += run.parent_task_run_id is None
    for task_run in task_runs:
        if task_run.flow_run_id is not None and roots.of_dead_process(task_run.flow_run_id):
            client.set_task_run_state(task_run.id, Crashed(message=message), force=True)
    return marked


class _RootRuns:
    """Whether a flow run's root (up through its subflows' parent task runs) is a dead process's, each run
    read from the server at most once."""

    #: Subflows nest this deep at most (a batch's clip job's face stage's tracks); a deeper chain is a cycle
    MAX_DEPTH = 8

    def __init__(self, client: Any, known: list[Any]) -> None:
        self._client = client
        self._flow_runs = {run.id: run for run in known}
        self._dead: dict[Any, bool] = {}

    def of_dead_process(self, flow_run_id: Any) -> bool:
        """False where the chain cannot be read to its root (a run deleted meanwhile): such a run is let be."""
        from prefect.exceptions import ObjectNotFound

        if flow_run_id not in self._dead:
            try:
                run = self._flow_run(flow_run_id)
                for _ in range(self.MAX_DEPTH):
                    if run.parent_task_run_id is None:
                        break
                    run = self._flow_run(self._client.read_task_run(run.parent_task_run_id).flow_run_id)
            except ObjectNotFound:
                self._dead[flow_run_id] = False
            else:
                self._dead[flow_run_id] = run.parent_task_run_id is None and any(
                    _dead_process_tag(tag) for tag in run.tags)
        return self._dead[flow_run_id]

    def _flow_run(self, flow_run_id: Any) -> Any:
        if flow_run_id not in self._flow_runs:
            self._flow_runs[flow_run_id] = self._client.read_flow_run(flow_run_id)
        return self._flow_runs[flow_run_id]


def _crash_descendants(client: Any, flow_run_ids: list[Any], unfinished: list[Any], message: str) -> None:
    """Mark the unfinished task runs of the flow runs `flow_run_ids`, and their unfinished subflow runs (with
    their task runs, at any depth), Crashed."""
    from prefect.client.schemas.filters import (
        FlowRunFilter, FlowRunFilterParentFlowRunId, FlowRunFilterState, FlowRunFilterStateType, TaskRunFilter,
        TaskRunFilterFlowRunId, TaskRunFilterState, TaskRunFilterStateType,
    )
    from prefect.states import Crashed

    level = list(flow_run_ids)
    while level:
        task_runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(
                state=TaskRunFilterState(type=TaskRunFilterStateType(any_=unfinished)),
                flow_run_id=TaskRunFilterFlowRunId(any_=level),
            ),
            limit=200,  # the most the server returns at once
        )
        for task_run in task_runs:
            client.set_task_run_state(task_run.id, Crashed(message=message), force=True)
        level = [run.id for run in client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=unfinished)),
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=level),
            ),
            limit=200,
        )]
        for run_id in level:
            client.set_flow_run_state(run_id, Crashed(message=message), force=True)


def _dead_process_tag(tag: str) -> bool:
    """Whether `tag` is the process tag of a process on this host that is gone."""
    tagged = tagged_process(tag)
    return tagged is not None and tagged[0] == socket.gethostname() and not psutil.pid_exists(tagged[1])


def _announce(flow: Any, flow_run: Any, state: Any) -> None:
    """Say where the run can be watched, as it starts."""
    from clipmill.cli.orchestrate import run_url

    log.info("flow run %r: %s", flow_run.name, run_url(flow_run.id))
