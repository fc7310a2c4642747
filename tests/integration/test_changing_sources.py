"""Sources and publications that change under a job: what is published is what was hashed.

A local file rewritten while its job runs (a sync still copying) must not reach the clip: the job
renders the snapshot it hashed. A published clip deleted or altered in the store is published again
on the next run, never returned as ``reused``.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from pathlib import Path

import pytest

from clipmill import process_clip
from tests import media_factory

pytestmark = pytest.mark.timeout(120)

FAST = {"detect_faces": False, "vad_backend": "energy", "remove_silence": False, "crf": 35}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rewrite_when_audio_is_stored(store, source: Path, replacement: bytes, timeout_s: float = 60) -> threading.Thread:
    """Overwrite `source` in place as soon as the job has stored its decoded audio."""
    def watch() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not any(k.endswith("/audio.wav") for k in store.list("jobs/")):
            time.sleep(0.02)
        source.write_bytes(replacement)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def own_bucket(monkeypatch, store, name: str):
    """A fresh bucket as clipmill's store, so no stage of another run is reused."""
    monkeypatch.setenv("CLIPMILL_STORAGE__BUCKET", name)
    bucket = store.with_bucket(name)
    bucket.ensure_bucket()
    return bucket


def test_a_source_rewritten_mid_job_publishes_the_clip_of_what_was_hashed(clip_env, sample_video, tmp_path, monkeypatch):
    own_bucket(monkeypatch, clip_env, "unchanged-source")
    clean = process_clip(str(sample_video), start=2.0, end=5.0, out_dir=tmp_path / "clean", **FAST)

    store = own_bucket(monkeypatch, clip_env, "changing-source")
    source = tmp_path / "a.mp4"
    shutil.copy(sample_video, source)
    other = media_factory.synthetic(tmp_path / "other.mp4", size="360x288", seconds=8.0).read_bytes()
    watcher = rewrite_when_audio_is_stored(store, source, other)
    changed = process_clip(str(source), start=2.0, end=5.0, out_dir=tmp_path / "changed", **FAST)
    watcher.join(10)
    assert source.read_bytes() == other, "the watcher rewrote the source while the job ran"
    assert changed.manifest.source.sha256 == sha256(sample_video.read_bytes())
    assert sha256(changed.clip_path.read_bytes()) == sha256(clean.clip_path.read_bytes()), \
        "the clip was rendered from other bytes than the manifest's source sha256"

    shutil.copy(sample_video, source)
    again = process_clip(str(source), start=2.0, end=5.0, out_dir=tmp_path / "again", **FAST)
    assert again.reused and sha256(again.clip_path.read_bytes()) == sha256(clean.clip_path.read_bytes())


def test_a_published_clip_deleted_or_altered_is_published_again(clip_env, sample_video, tmp_path):
    options = {**FAST, "clip_name": "verify-on-reuse"}
    first = process_clip(str(sample_video), start=6.0, end=8.0, out_dir=tmp_path / "first", **options)
    key = f"clips/{first.clip_id}.mp4"
    damages = {
        "deleted": lambda: clip_env.delete(key),
        "altered": lambda: clip_env.put_bytes(key, first.clip_path.read_bytes()[:-1000] + b"\0" * 1000),
    }
    for damage, apply in damages.items():
        apply()
        again = process_clip(str(sample_video), start=6.0, end=8.0, out_dir=tmp_path / damage, **options)
        assert not again.reused, f"a {damage} clip was reused"
        assert sha256(clip_env.get_bytes(key)) == again.manifest.clip.sha256 == sha256(first.clip_path.read_bytes())
    assert process_clip(str(sample_video), start=6.0, end=8.0, out_dir=tmp_path / "intact", **options).reused
