"""Object keys built from user input stay under their prefix; only paths and s3:// are sources."""

from __future__ import annotations

import pytest

from clipmill.errors import InputError
from clipmill.sources import classify, parse_object_uri
from clipmill.storage.keys import clip_key, job_key, safe_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "etc-passwd"),
        ("/abs/path name.mp4", "abs-path-name.mp4"),
        ("tab\tand\nnewline\x00nul", "tab-and-newline-nul"),
        ("Café Müller", "Cafe-Muller"),
        ("..", "clip"),
        ("", "clip"),
    ],
)
def test_safe_name_removes_traversal_and_control_characters(raw, expected):
    assert safe_name(raw) == expected


@pytest.mark.parametrize("bad", ["..", "a/b", "", "x\n", "../x"])
def test_keys_refuse_unsafe_components(bad):
    with pytest.raises(InputError):
        job_key(bad, "segment.mp4")
    with pytest.raises(InputError):
        clip_key(bad, "mp4")


def test_key_layout():
    assert job_key("abc", "segment.mp4") == "jobs/abc/segment.mp4"
    assert clip_key("talk-1", "json") == "clips/talk-1.json"


@pytest.mark.parametrize(
    "source",
    ["http://example.com/a.mp4", "concat:a.mp4|b.mp4", "subfile:,start,0,end,10,:a.mp4", "ftp://x/y.mp4", "  "],
)
def test_only_local_paths_and_object_uris_are_sources(source):
    with pytest.raises(InputError):
        classify(source)


def test_source_kinds():
    assert classify("/videos/a.mp4") == "local"
    assert classify("relative/a b.mp4") == "local"
    assert classify("s3://media/raw/a.mp4") == "object"
    assert parse_object_uri("s3://media/raw/a.mp4") == ("media", "raw/a.mp4")
    with pytest.raises(InputError):
        parse_object_uri("s3://media/")
