"""Task-run names say what each run works on, so a flow run's page in the Prefect UI reads like the job."""

from __future__ import annotations

from types import SimpleNamespace

from clipmill.config import ClipOptions
from clipmill.jobs import plan_job
from tasks.runtime import named_runs
from tests.unit.test_jobs import INFO, SOURCE

JOB = plan_job(SOURCE, INFO, start_s=10.0, end_s=30.5, options=ClipOptions())


def test_a_run_on_a_job_names_the_source_and_range():
    assert named_runs("extract-segment")({"job": JOB, "info": INFO}) == "extract-segment[My Talk (final).mp4 10-30.5]"


def test_probing_names_the_requested_range_before_there_is_a_job():
    name = named_runs("probe-source")({"ref": SOURCE, "start_s": 2.0, "end_s": 3.25, "options": ClipOptions()})
    assert name == "probe-source[My Talk (final).mp4 2-3.25]"


def test_staging_names_the_file_of_a_path_or_object_uri():
    assert named_runs("stage-source")({"source": "s3://media/2026/keynote.mp4"}) == "stage-source[keynote.mp4]"


def test_publishing_steps_name_the_clip():
    published = SimpleNamespace(clip_id="keynote-1a2b3c4d5e6f")
    assert named_runs("verify-published")({"published": published, "manifest": None}) == "verify-published[keynote-1a2b3c4d5e6f]"


def test_a_run_with_nothing_to_name_keeps_the_task_name():
    assert named_runs("list-library")({"prefix": "library/", "window_s": 60.0, "defaults": {}}) == "list-library"
