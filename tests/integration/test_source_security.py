"""No playlist, concat list or path outside the configured roots ever reaches ffmpeg."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from clipmill.errors import InputError
from clipmill.media import probe
from flows.clip_job import clip_job
from tests import media_factory

pytestmark = pytest.mark.timeout(60)


def test_hls_playlist_named_mp4_is_rejected_before_it_reads_other_files(tmp_path, sample_video):
    secret = tmp_path / "private" / "secret.mp4"
    secret.parent.mkdir()
    shutil.copy(sample_video, secret)
    evil = media_factory.hls_playlist(tmp_path / "holiday.mp4", references=[f"file://{secret}"])
    unguarded = subprocess.run(
        ["ffprobe", "-v", "error", "-protocol_whitelist", "file,pipe", "-show_entries", "format=format_name",
         "-of", "csv=p=0", str(evil)], capture_output=True, text=True,
    )
    assert unguarded.stdout.strip() == "hls", "the playlist must be a live attack without the format allow-list"
    with pytest.raises(InputError, match="not in an allowed container format") as caught:
        probe(evil)
    assert str(evil) in str(caught.value)
    for reference in ("file:///etc/passwd", f"concat:{secret}|{secret}", f"subfile:,start,0,end,100,:{secret}"):
        with pytest.raises(InputError, match="not in an allowed container format"):
            probe(media_factory.hls_playlist(tmp_path / "other.mp4", references=[reference]))


def test_concat_list_is_rejected(tmp_path, sample_video):
    listing = tmp_path / "list.mp4"
    listing.write_text(f"ffconcat version 1.0\nfile '{sample_video}'\n")
    with pytest.raises(InputError):
        probe(listing)


def test_sources_outside_the_roots_fail_the_run(clip_env, tmp_path, sample_video, monkeypatch):
    root = tmp_path / "allowed"
    root.mkdir()
    (root / "link.mp4").symlink_to(sample_video)
    monkeypatch.setenv("CLIPMILL_SOURCE_ROOTS", f'["{root}"]')
    state = clip_job(str(root / "link.mp4"), 1, 2, {"detect_faces": False}, return_state=True)
    error = state.result(raise_on_failure=False)
    assert isinstance(error, InputError) and "outside the allowed source folders" in str(error)
    assert str(sample_video) in str(error) and str(root) in str(error)


def test_object_sources_outside_allowed_buckets_fail_the_run(clip_env):
    state = clip_job("s3://someone-elses-bucket/a.mp4", 1, 2, None, return_state=True)
    error = state.result(raise_on_failure=False)
    assert isinstance(error, InputError) and "'someone-elses-bucket'" in str(error)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("uri", ["s3://clipmill-test/../../etc/passwd", "s3://clipmill-test/a/./b.mp4",
                                 "s3://Not_A_Bucket/a.mp4"])
def test_object_keys_that_climb_or_bad_bucket_names_are_bad_input_tried_once(uri, clip_env):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    state = clip_job(uri, 0, 1, None, return_state=True)
    error = state.result(raise_on_failure=False)
    assert isinstance(error, InputError) and repr(uri) in str(error) and "\n" not in str(error), error
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
    assert [(run.name.split("[")[0], run.run_count) for run in runs] == [("stage-source", 1)]


@pytest.mark.timeout(180)
def test_the_cli_refuses_a_climbing_key_with_exit_2_and_the_key(clip_env):
    from typer.testing import CliRunner

    from clipmill.cli.commands import app

    done = CliRunner().invoke(app, ["run", "s3://clipmill-test/../../etc/passwd", "--start", "0", "--end", "1"])
    assert done.exit_code == 2, done.output
    assert "'s3://clipmill-test/../../etc/passwd'" in done.stderr and "'..' segment" in done.stderr
