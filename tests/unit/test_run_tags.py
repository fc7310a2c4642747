"""The process tag names a host and a pid, and only process tags parse as one."""

import os
import socket

from clipmill.run_tags import is_process_tag, process_tag, tagged_process


def test_a_process_tag_names_this_host_and_the_pid():
    assert tagged_process(process_tag()) == (socket.gethostname(), os.getpid())
    assert tagged_process(process_tag(42)) == (socket.gethostname(), 42)


def test_other_tags_are_not_process_tags():
    for tag in ("nightly", "clipmill-process", "clipmill-process:host:notapid", "clipmill:host:12"):
        assert tagged_process(tag) is None
    assert not is_process_tag("nightly")
    assert is_process_tag(process_tag())


def test_a_host_name_with_colons_keeps_them():
    assert tagged_process("clipmill-process:a:b:7") == ("a:b", 7)
