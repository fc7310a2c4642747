"""Sources stay inside their roots and buckets; keys from user input stay under their prefix."""

from __future__ import annotations

import pytest

from clipmill.errors import InputError
from clipmill.sources import check_bucket, check_under_roots, local_path
from clipmill.storage.keys import CLIPS_PREFIX, JOBS_PREFIX, clip_key, job_key, safe_name


def test_paths_under_a_root_pass_and_others_are_named_in_the_error(tmp_path):
    root, outside = tmp_path / "media", tmp_path / "private"
    root.mkdir(), outside.mkdir()
    (root / "ok.mp4").write_bytes(b"x")
    (outside / "secret.mp4").write_bytes(b"x")
    assert check_under_roots("ok.mp4", local_path(str(root / "ok.mp4")), [root]) == (root / "ok.mp4").resolve()
    with pytest.raises(InputError) as caught:
        check_under_roots("s", local_path(str(outside / "secret.mp4")), [root])
    assert str(outside / "secret.mp4") in str(caught.value) and str(root) in str(caught.value)


def test_symlinks_and_dot_dot_are_resolved_before_the_root_check(tmp_path):
    root, outside = tmp_path / "media", tmp_path / "private"
    root.mkdir(), outside.mkdir()
    (outside / "secret.mp4").write_bytes(b"x")
    (root / "link.mp4").symlink_to(outside / "secret.mp4")
    for sneaky in (root / "link.mp4", root / ".." / "private" / "secret.mp4"):
        with pytest.raises(InputError, match="outside the allowed source folders"):
            check_under_roots(str(sneaky), local_path(str(sneaky)), [root])


def test_no_roots_means_any_readable_path(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    assert check_under_roots("a", tmp_path / "a.mp4", []) == (tmp_path / "a.mp4").resolve()


def test_object_sources_only_from_allowed_buckets():
    check_bucket("s3://store/a.mp4", "store", [], "store")
    check_bucket("s3://media/a.mp4", "media", ["media"], "store")
    with pytest.raises(InputError, match="bucket 'other'"):
        check_bucket("s3://other/a.mp4", "other", [], "store")
    with pytest.raises(InputError, match=r"\['media'\]"):
        check_bucket("s3://store/a.mp4", "store", ["media"], "store")


@pytest.mark.parametrize(
    "raw",
    ["..", "../..", "/etc/passwd", "a/../../b", "\x00\x1b[31m\r\n", "x" * 5000, "Ünïcödé 名前 🎬", "C:\\Windows\\x",
     " . ", "./.."],
)
def test_names_from_user_input_stay_under_their_prefix(raw):
    name = safe_name(raw)
    assert name and name not in {".", ".."} and len(name) <= 80
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in name)
    assert job_key("abc", name).startswith(JOBS_PREFIX + "abc/") and "/" not in name
    assert clip_key(name, "mp4").startswith(CLIPS_PREFIX)
