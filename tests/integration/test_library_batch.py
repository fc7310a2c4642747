"""The library batch for real: SeaweedFS, a Prefect server, ffmpeg; good, bad and missing requests."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import typer
from typer.testing import CliRunner
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId

from clipmill.cli.orchestrate import batch
from flows.library_batch import library_batch
from clipmill.batch import expand_listing
from clipmill.segment_policy import Segmentation
from tasks.batch import list_library, plan_clips

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

QUICK = {"remove_silence": False, "detect_faces": False}


@pytest.fixture
def library(clip_env, sample_video) -> str:
    """A private prefix holding the sample video, a non-video file and a corrupt 'video'."""
    prefix = f"library-test/{uuid.uuid4().hex[:8]}/"
    clip_env.put_file(prefix + "talk.mp4", sample_video, content_type="video/mp4")
    clip_env.put_bytes(prefix + "notes.txt", b"not a video")
    clip_env.put_bytes(prefix + "broken.mp4", b"this is not an mp4 file")
    return prefix


def requests_file(store, prefix: str) -> str:
    source = store.uri(prefix + "talk.mp4")
    lines = [
        {"source": source, "start": 1.0, "end": 2.5, "options": QUICK},
        {"source": source, "start": 5.0, "end": 6.0, "options": QUICK},
        {"source": source, "start": 10.0, "end": 11.5, "options": {**QUICK, "crf": 30}},
        {"source": source, "start": 30.0, "end": 40.0, "options": QUICK},
        {"source": store.uri(prefix + "missing.mp4"), "start": 0.0, "end": 1.0},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + '\n{"source": "x.mp4", "start": "soon", "end": 3}\n'
    key = prefix + "requests.jsonl"
    store.put_bytes(key, text.encode(), content_type="application/x-ndjson")
    return key


def by_row(summary: dict) -> dict[int, dict]:
    return {result["row"]: result for result in summary["results"]}


def tasks_run_by(summary: dict, rows: tuple[int, ...]) -> set[str]:
    """The task names (without what each run was about) the clip-job subflows of these rows ran."""
    flow_run_ids = [by_row(summary)[row]["flow_run_id"] for row in rows]
    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=flow_run_ids)))
    return {run.name.split("[")[0] for run in task_runs}


def test_a_batch_publishes_good_requests_and_records_bad_ones_then_reruns_cheaply(clip_env, library):
    key = requests_file(clip_env, library)

    started = time.perf_counter()
    first = library_batch(requests_key=key, max_concurrency=2, batch_size=3)
    first_s = time.perf_counter() - started

    assert first["counts"] == {"requests": 6, "published": 3, "reused": 0, "failed": 3, "duplicates": 0}
    rows = by_row(first)
    for row in (1, 2, 3):
        assert rows[row]["status"] == "published", rows[row]
        assert clip_env.exists(rows[row]["clip_uri"].split("/", 3)[3])
        manifest = json.loads(clip_env.get_bytes(rows[row]["manifest_uri"].split("/", 3)[3]))
        assert manifest["request"]["start_s"] == rows[row]["start_s"] and manifest["job_id"] == rows[row]["job_id"]
    assert "past the end of the source" in rows[4]["reason"] and rows[4]["flow_run_id"]
    assert "source not found" in rows[5]["reason"]
    assert "start must be a finite number" in rows[6]["reason"] and rows[6]["input"].startswith('{"source": "x.mp4"')

    stored = json.loads(clip_env.get_bytes(f"batches/{first['batch_id']}/summary.json"))
    assert stored["counts"] == first["counts"] and stored["results"] == first["results"]
    assert first["summary_uri"].endswith(f"batches/{first['batch_id']}/summary.json")

    with get_client(sync_client=True) as client:
        runs = [client.read_flow_run(rows[row]["flow_run_id"]) for row in (1, 2, 3, 4)]
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["library-batch-summary"])))
    assert all(run.parent_task_run_id is not None for run in runs), "each request is a subflow run of the batch"
    assert [run.state.type.value for run in runs] == ["COMPLETED"] * 3 + ["FAILED"]
    table = next(a for a in artifacts if a.flow_run_id is not None and str(a.flow_run_id) == first["flow_run_id"])
    assert {row["status"] for row in json.loads(table.data)} == {"published", "failed"}

    started = time.perf_counter()
    again = library_batch(requests_key=key, max_concurrency=2, batch_size=3)
    again_s = time.perf_counter() - started
    assert again["batch_id"] == first["batch_id"]
    assert again["counts"] == {"requests": 6, "published": 0, "reused": 3, "failed": 3, "duplicates": 0}
    assert [r["clip_uri"] for r in again["results"]] == [r["clip_uri"] for r in first["results"]]
    assert tasks_run_by(again, rows=(1, 2, 3)) == {"stage-source", "probe-source", "find-published"}, (
        "a re-run finds each published clip before any analysis or render"
    )
    per_request = {r["status"]: r["seconds"] for r in first["results"] + again["results"] if r["source"]}
    print(f"\nbatch of 6 rows (3 clips): first run {first_s:.1f} s, re-run {again_s:.1f} s; seconds per request {per_request}")


def test_the_batch_command_uploads_a_local_requests_file_and_exits_1_on_failures(clip_env, library, tmp_path):
    local = tmp_path / "requests.jsonl"
    local.write_bytes(clip_env.get_bytes(requests_file(clip_env, library)))
    app = typer.Typer()
    app.command()(batch)

    done = CliRunner().invoke(app, ["--requests", str(local), "--max-concurrency", "2"])

    assert done.exit_code == 1, done.output
    brief = json.loads(done.stdout.strip().splitlines()[-1])
    assert brief["counts"]["failed"] == 3 and brief["counts"]["published"] + brief["counts"]["reused"] == 3
    assert "FAIL row 4" in done.stderr and "past the end of the source" in done.stderr
    assert any(key.endswith("-requests.jsonl") for key in clip_env.list("requests/"))


def test_a_prefix_lists_videos_with_durations_and_windows_snapped_to_pauses(clip_env, library):
    videos = list_library(library)
    planned = [plan_clips(video, Segmentation("windows", 15.0)) for video in videos]
    parsed = expand_listing(planned, window_s=15.0, defaults={"crf": 28})

    source = clip_env.uri(library + "talk.mp4")
    starts = [r.start_s for r in parsed.requests]
    assert [r.source for r in parsed.requests] == [source] * 3 and starts[0] == 0.0
    assert starts[1] == pytest.approx(15.0, abs=2.0) and starts[2] == pytest.approx(30.0, abs=2.0)
    assert starts[1:] != [15.0, 30.0], "the edges moved from the plain windows into the pauses"
    assert parsed.requests[-1].end_s == pytest.approx(33.0, abs=0.1)
    assert all(r.options == {"crf": 28} and r.selection["policy"] == "windows" and r.selection["snapped"]
               for r in parsed.requests)
    assert [f.text for f in parsed.failures] == [clip_env.uri(library + "broken.mp4")]
    assert "not readable media" in parsed.failures[0].reason and "X-Amz" not in parsed.failures[0].reason


def test_a_batch_without_a_server_url_runs_on_the_local_server_and_leaves_it_for_the_next_command(tmp_path):
    """Without PREFECT_API_URL, `clipmill batch` reports to the local server (a real process) and leaves it up."""
    import httpx
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from clipmill import prefect_server
    from clipmill.cli.server import prefect_api

    home = tmp_path / "home"
    try:
        with temporary_settings(updates={PREFECT_API_URL: None}):
            with prefect_api(home):
                url = str(get_current_settings().api.url)
                assert url.startswith("http://127.0.0.1:")
                assert httpx.get(f"{url}/health", timeout=10).json() is True
            assert get_current_settings().api.url is None
            assert httpx.get(f"{url}/health", timeout=10).json() is True
            with prefect_api(home):
                assert str(get_current_settings().api.url) == url
                assert get_current_settings().flows.heartbeat_frequency is not None  # a batch keeps its own
            with prefect_api(home, heartbeats=False):  # as `clipmill run` points its job there
                assert str(get_current_settings().api.url) == url
                assert get_current_settings().flows.heartbeat_frequency is None
    finally:
        assert prefect_server.stop(home)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=2)
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        with prefect_api(home):  # a configured server is used as it is
            assert str(get_current_settings().api.url) == "http://127.0.0.1:9/api"


def test_a_csv_row_with_an_open_quote_fails_on_its_line_and_every_other_request_runs(clip_env, library):
    source = clip_env.uri(library + "talk.mp4")
    options = '"{""remove_silence"": false, ""detect_faces"": false}"'
    text = f'source,start,end,options\n"{source},1,2,\n{source},1.0,2.5,{options}\n{source},5.0,6.0,{options}\n'
    key = library + "requests.csv"
    clip_env.put_bytes(key, text.encode(), content_type="text/csv")

    summary = library_batch(requests_key=key, max_concurrency=2)

    rows = by_row(summary)
    assert summary["counts"]["requests"] == 3 and summary["counts"]["failed"] == 1, summary["counts"]
    assert "line 2 is not valid CSV" in rows[2]["reason"] and rows[2]["input"] == f'"{source},1,2,'
    assert {rows[3]["status"], rows[4]["status"]} <= {"published", "reused"}, rows
    assert (rows[3]["start_s"], rows[4]["start_s"]) == (1.0, 5.0)
