"""Request validation and job identity, on hand-made probes."""

from __future__ import annotations

import math

import pytest

from clipmill.config import ClipOptions
from clipmill.errors import InputError
from clipmill.jobs import check_range, check_times, plan_job
from clipmill.media.probe import MediaInfo
from clipmill.sources import SourceRef

INFO = MediaInfo(
    duration_s=33.0, width=360, height=288, fps="25/1", constant_frame_rate=True, rotation=0, video_codec="h264", pix_fmt="yuv420p",
    has_audio=True, audio_codec="aac", audio_sample_rate=44100, audio_channels=1, format_name="mp4", size_bytes=1,
)
SOURCE = SourceRef(uri="/media/talk.mp4", sha256="a" * 64, size_bytes=1000, name="My Talk (final).mp4")


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (5.0, 5.0, "start (5.0 s) must be before end (5.0 s)"),
        (9.0, 3.0, "start (9.0 s) must be before end (3.0 s)"),
        (-1.0, 3.0, "start must be >= 0 s (got -1.0)"),
        (math.nan, 3.0, "start must be a finite number of seconds (got nan)"),
        (0.0, math.inf, "end must be a finite number of seconds (got inf)"),
        ("soon", 3.0, "start must be a finite number of seconds (got 'soon')"),
        (True, 3.0, "start must be a finite number of seconds (got True)"),
    ],
)
def test_bad_times_are_rejected_with_the_value(start, end, message):
    with pytest.raises(InputError) as error:
        check_times(start, end)
    assert message in str(error.value)


def test_numeric_strings_are_accepted_as_seconds():
    assert check_times("1.5", 3) == (1.5, 3.0)


def test_end_past_duration_names_both_values():
    with pytest.raises(InputError, match=r"end \(40.0 s\) is past the end of the source \(33.000 s\)"):
        check_range(10.0, 40.0, INFO)


def test_range_shorter_than_a_frame_is_rejected():
    with pytest.raises(InputError, match="shorter than one frame"):
        check_range(10.0, 10.01, INFO)


def test_end_equal_to_duration_is_allowed():
    check_range(30.0, 33.0, INFO)


def test_job_id_depends_on_content_range_and_options_only():
    job = plan_job(SOURCE, INFO, start_s=1, end_s=2, options=ClipOptions())
    same = plan_job(SOURCE, INFO, start_s=1.0, end_s=2.0, options=ClipOptions())
    renamed = plan_job(
        SourceRef(uri="/other/place.mp4", sha256=SOURCE.sha256, size_bytes=1000, name="place.mp4"), INFO,
        start_s=1, end_s=2, options=ClipOptions(),
    )
    assert job.job_id == same.job_id == renamed.job_id
    assert len(job.job_id) == 32
    others = {
        plan_job(SOURCE, INFO, start_s=1, end_s=2.5, options=ClipOptions()).job_id,
        plan_job(SOURCE, INFO, start_s=1, end_s=2, options=ClipOptions(crf=30)).job_id,
        plan_job(
            SourceRef(uri=SOURCE.uri, sha256="b" * 64, size_bytes=1000, name=SOURCE.name), INFO,
            start_s=1, end_s=2, options=ClipOptions(),
        ).job_id,
    }
    assert job.job_id not in others and len(others) == 3


def test_clip_id_is_key_safe_and_carries_the_job():
    job = plan_job(SOURCE, INFO, start_s=1, end_s=2, options=ClipOptions())
    assert job.clip_id == f"My-Talk-final-{job.job_id[:12]}"
    named = plan_job(SOURCE, INFO, start_s=1, end_s=2, options=ClipOptions(clip_name="intro_v2"))
    assert named.clip_id == "intro_v2"


def test_filler_removal_runs_the_precise_backend_and_the_analysis_follows_the_backend_used():
    """``auto`` (the default) reports fillers with the fast acoustic backend and cuts them with the
    ensemble (the acoustic alone cuts into words); an explicit backend is honoured. The analysis is
    stored per backend used: removing fillers re-analyses, an explicit ``acoustic`` shares the default's."""
    assert ClipOptions().filler_backend == "auto"
    assert ClipOptions().used_filler_backend == "acoustic"
    assert ClipOptions(remove_fillers=True).used_filler_backend == "ensemble"
    assert ClipOptions(remove_fillers=True, filler_backend="acoustic").used_filler_backend == "acoustic"
    assert ClipOptions(filler_backend="ensemble").used_filler_backend == "ensemble"

    def analysis(**options):
        return plan_job(SOURCE, INFO, start_s=1, end_s=2, options=ClipOptions(**options)).analysis_id

    assert analysis() == analysis(filler_backend="acoustic") == analysis(remove_fillers=True, filler_backend="acoustic")
    assert analysis(remove_fillers=True) == analysis(filler_backend="ensemble") != analysis()
