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
    failed ones too: on the way out of a stop), else those of dead processes on this host. Only flow runs carry
    the process tag: their subflow and task runs are found from them, failed ones included (a flow that failed
    may leave its face subflow running). Returns how many tagged flow runs were marked; a server that does not
    answer is let be."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType, FlowRunFilterTags
    from prefect.client.schemas.objects import StateType
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings
    from prefect.states import Crashed

    unfinished = [StateType.RUNNING, StateType.PENDING, StateType.SCHEDULED, StateType.PAUSED, StateType.CANCELLING]
    if own:  # the stop made this process's runs fail on their way out: say why they ended
        unfinished += [StateType.FAILED]
    marked = 0
    try:
        pointed = nullcontext() if str(get_current_settings().api.url) == api_url else temporary_settings(
            updates={PREFECT_API_URL: api_url})
        with pointed, get_client(sync_client=True, httpx_settings={"timeout": timeout_s}) as client:
            flow_runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[*unfinished, StateType.FAILED])),
                    tags=FlowRunFilterTags(all_=[process_tag()]) if own else None,
                ),
                limit=200,
            )
            abandoned = [run for run in flow_runs if any(_abandoned(tag, own=own) for tag in run.tags)]
            for run in abandoned:
                if run.state_type in unfinished:
                    client.set_flow_run_state(run.id, Crashed(message=message), force=True)
                    marked += 1
            _crash_descendants(client, [run.id for run in abandoned], unfinished, message)
    except Exception as exc:  # bookkeeping on the way out must never hide the real outcome
        log.debug("could not mark unfinished runs: %s", exc)
    return marked


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


def _abandoned(tag: str, *, own: bool) -> bool:
    """Whether `tag` marks a run to crash: this process's (``own``), else a dead process's on this host."""
    if own:
        return tag == process_tag()
    tagged = tagged_process(tag)
    return tagged is not None and tagged[0] == socket.gethostname() and not psutil.pid_exists(tagged[1])


def _announce(flow: Any, flow_run: Any, state: Any) -> None:
    """Say where the run can be watched, as it starts."""
    from clipmill.cli.orchestrate import run_url

    log.info("flow run %r: %s", flow_run.name, run_url(flow_run.id))
