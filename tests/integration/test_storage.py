"""The object-store adapter against a real SeaweedFS S3 server."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from clipmill.errors import StorageError
from clipmill.storage import ObjectStore, embedded


def test_bytes_and_files_round_trip(seaweed, tmp_path):
    seaweed.put_bytes("tests/rt/a.json", b'{"a": 1}', content_type="application/json")
    assert seaweed.get_bytes("tests/rt/a.json") == b'{"a": 1}'
    source = tmp_path / "blob.bin"
    source.write_bytes(bytes(range(256)) * 4096)
    seaweed.put_file("tests/rt/blob.bin", source)
    copy = seaweed.get_file("tests/rt/blob.bin", tmp_path / "out" / "blob.bin")
    assert copy.read_bytes() == source.read_bytes()
    assert seaweed.size("tests/rt/blob.bin") == source.stat().st_size


def test_exists_list_copy_delete(seaweed):
    seaweed.put_bytes("tests/ops/one.txt", b"1")
    assert seaweed.exists("tests/ops/one.txt")
    assert not seaweed.exists("tests/ops/none.txt")
    seaweed.copy("tests/ops/one.txt", "tests/ops/two.txt")
    assert sorted(seaweed.list("tests/ops/")) == ["tests/ops/one.txt", "tests/ops/two.txt"]
    seaweed.delete("tests/ops/one.txt")
    assert sorted(seaweed.list("tests/ops/")) == ["tests/ops/two.txt"]


def test_presigned_url_serves_the_object_without_credentials(seaweed):
    seaweed.put_bytes("tests/signed/x.txt", b"signed")
    with urllib.request.urlopen(seaweed.presigned_url("tests/signed/x.txt", expires_s=60), timeout=10) as response:
        assert response.read() == b"signed"


def test_wrong_credentials_are_refused_with_the_endpoint_named(seaweed):
    intruder = ObjectStore(seaweed.endpoint, access_key="nobody", secret_key="wrong", bucket=seaweed.bucket)
    with pytest.raises(StorageError) as error:
        intruder.get_bytes("tests/rt/a.json")
    assert seaweed.url in str(error.value) and "InvalidAccessKeyId" in str(error.value)


def test_unreachable_store_names_the_endpoint():
    dead = ObjectStore("127.0.0.1:9", access_key="k", secret_key="s", bucket="clipmill", connect_timeout_s=1)
    with pytest.raises(StorageError, match=r"object store unreachable at http://127\.0\.0\.1:9"):
        dead.ensure_bucket()


def test_embedded_store_starts_once_and_is_reused(tmp_path: Path):
    home = tmp_path / "home"
    first = embedded.ensure_running(home)
    try:
        again = embedded.ensure_running(home)
        assert again == first
        assert embedded.running(home) == first
        store = ObjectStore(first.endpoint, access_key=first.access_key, secret_key=first.secret_key, bucket="embedded")
        store.ensure_bucket()
        store.put_bytes("k", b"v")
        assert store.get_bytes("k") == b"v"
        assert (home / "store" / "identities.json").stat().st_mode & 0o077 == 0
    finally:
        assert embedded.stop(home, timeout_s=5)
    assert embedded.running(home) is None
    assert not embedded.stop(home)


def test_a_damaged_server_state_never_leaves_the_embedded_store_running_unseen(tmp_path: Path):
    home = tmp_path / "home"
    state = home / "store" / "server.json"
    first = embedded.ensure_running(home)
    try:
        assert state.stat().st_mode & 0o077 == 0 and [p.name for p in state.parent.glob(".server.json*")] == []
        state.write_text(state.read_text()[:40])  # a half-written copy, as a crash mid-write would leave
        assert embedded.running(home) is None
        second = embedded.ensure_running(home)
        assert not embedded._alive(first.pid), "a second server was started beside the unseen first one"
        assert embedded.running(home) == second
        state.write_text(state.read_text()[:40])
    finally:
        stopped = embedded.stop(home, timeout_s=5)
    assert stopped and not embedded._alive(second.pid)
    assert not state.exists()
