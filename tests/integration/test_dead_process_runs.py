"""What a killed `clipmill` process leaves on the server is marked Crashed by the next run, and nothing else is.

A real Prefect server (the session's test server) holds, as runs of real jobs do: a dead process's failed
clip job whose face subflow (through its tracking task run) and tasks were left running, a dead process's
run left running, a live process's running job, and a history of failed runs of dead processes with
nothing left under them. The check reads only unfinished runs and their roots.
"""

from __future__ import annotations

import subprocess
import sys

from prefect import flow, get_client, task
from prefect.client.schemas.objects import StateType
from prefect.settings import get_current_settings
from prefect.states import Completed, Failed, Running

from clipmill.cli.api import crash_unfinished_runs
from clipmill.run_tags import process_tag


@flow(name="dead-process-probe")
def _probe_flow() -> None:
    return None


@task(name="dead-process-probe-task")
def _probe_task() -> None:
    return None


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_dead_processs_leftovers_are_crashed_and_live_and_finished_runs_are_not(prefect_server: None) -> None:
    dead_tag = process_tag(_dead_pid())
    live_tag = process_tag()  # this process: alive
    with get_client(sync_client=True) as client:
        def flow_run(tags: list[str], state, parent_task_run_id=None):
            return client.create_flow_run(_probe_flow, tags=tags, state=state, parent_task_run_id=parent_task_run_id)

        def task_run(flow_run_id, key: str, state):
            return client.create_task_run(_probe_task, flow_run_id=flow_run_id, dynamic_key=key, state=state)

        failed_job = flow_run([dead_tag], Running())
        left_task = task_run(failed_job.id, "left", Running())
        tracking = task_run(failed_job.id, "face-stage", Running())
        face_subflow = flow_run([], Running(), parent_task_run_id=tracking.id)
        face_task = task_run(face_subflow.id, "chunk", Running())
        client.set_flow_run_state(failed_job.id, Failed(message="the audio stage failed"), force=True)
        left_running = flow_run([dead_tag], Running())
        live_job = flow_run([live_tag], Running())
        live_task = task_run(live_job.id, "live", Running())
        history = [flow_run([process_tag(_dead_pid())], Failed(message="bad input")) for _ in range(5)]
        finished_task = task_run(history[0].id, "done", Completed())

        marked = crash_unfinished_runs(str(get_current_settings().api.url), own=False, message="the process is gone")

        def flow_state(run) -> StateType:
            return client.read_flow_run(run.id).state_type

        def task_state(run) -> StateType:
            return client.read_task_run(run.id).state_type

        assert marked == 1  # the one tagged job run that was still running
        assert flow_state(left_running) is StateType.CRASHED
        assert client.read_flow_run(left_running.id).state.message == "the process is gone"
        assert flow_state(face_subflow) is StateType.CRASHED
        assert [task_state(run) for run in (face_task, left_task, tracking)] == [StateType.CRASHED] * 3
        assert flow_state(failed_job) is StateType.FAILED
        assert (flow_state(live_job), task_state(live_task)) == (StateType.RUNNING, StateType.RUNNING)
        assert {flow_state(run) for run in history} == {StateType.FAILED}
        assert task_state(finished_task) is StateType.COMPLETED
