"""Retention on the real store: only expired jobs/ folders go, published clips and the rest stay.

S3 cannot backdate an object, so the tests move `now` forward instead of moving objects back.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from clipmill.errors import InputError
from flows.retention import cleanup_intermediates
from tasks.retention import expired_jobs

KEPT = ["clips/ret-clip.mp4", "clips/ret-clip.json", "batches/b1/summary.json", "audits/a1/report.html",
        "requests/r1.csv"]
JOBS = {"jobs/ret-job-a/segment.mp4": 3000, "jobs/ret-job-a/speech.json": 20, "jobs/ret-job-b/render.mp4": 500}


@pytest.fixture
def retention_store(seaweed, prefect_server, monkeypatch):
    """A bucket of its own (other tests' jobs/ stay out of reach) with jobs and published objects."""
    monkeypatch.setenv("CLIPMILL_STORAGE__BUCKET", "clipmill-retention-test")
    store = seaweed.with_bucket("clipmill-retention-test")
    store.ensure_bucket()
    for key in KEPT:
        store.put_bytes(key, b"published")
    for key, size in JOBS.items():
        store.put_bytes(key, b"x" * size)
    return store


def in_two_days() -> datetime:
    return datetime.now(timezone.utc) + timedelta(days=2)


def test_fresh_intermediates_are_kept(retention_store):
    summary = cleanup_intermediates(older_than_days=7.0)
    assert (summary["jobs"], summary["deleted"]) == (0, 0)
    assert sorted(retention_store.list("jobs/")) == sorted(JOBS)


def test_dry_run_counts_and_deletes_nothing(retention_store):
    summary = cleanup_intermediates(older_than_days=1.0, dry_run=True, now=in_two_days())
    assert (summary["jobs"], summary["objects"], summary["bytes"], summary["deleted"]) == (2, 3, 3520, 0)
    assert sorted(retention_store.list("jobs/")) == sorted(JOBS)


def test_expired_jobs_are_emptied_and_published_clips_untouched(retention_store):
    summary = cleanup_intermediates(older_than_days=1.0, now=in_two_days())
    assert (summary["jobs"], summary["deleted"], summary["bytes"]) == (2, 3, 3520)
    assert list(retention_store.list("jobs/")) == []
    assert sorted(retention_store.list("")) == sorted(KEPT)
    assert all(retention_store.get_bytes(key) == b"published" for key in KEPT)


def test_a_lifetime_must_be_positive(retention_store):
    with pytest.raises(InputError, match="older_than_days must be positive"):
        cleanup_intermediates(older_than_days=0)


def test_a_job_expires_only_when_its_newest_object_is_old():
    cutoff = datetime(2026, 1, 10, tzinfo=timezone.utc)
    old, new = cutoff - timedelta(days=3), cutoff + timedelta(hours=1)
    listing = [("jobs/a/segment.mp4", old, 10), ("jobs/a/render.mp4", new, 5), ("jobs/b/segment.mp4", old, 7),
               ("clips/c.mp4", old, 99)]
    expired = expired_jobs(listing, cutoff)
    assert (expired.jobs, expired.keys, expired.bytes) == (("b",), ("jobs/b/segment.mp4",), 7)
