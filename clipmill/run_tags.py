"""The process tag: the tag on every flow run a clipmill process starts (``clipmill-process:<host>:<pid>``), so
the runs a killed process left behind can be found and marked Crashed. Pure text; no Prefect here."""

from __future__ import annotations

import os
import socket

__all__ = ["PROCESS_TAG_PREFIX", "is_process_tag", "process_tag", "tagged_process"]

PROCESS_TAG_PREFIX = "clipmill-process:"


def process_tag(pid: int | None = None) -> str:
    """The tag of this host's process `pid` (this process by default)."""
    return f"{PROCESS_TAG_PREFIX}{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def is_process_tag(tag: str) -> bool:
    """Whether `tag` is a process tag (any host's)."""
    return tag.startswith(PROCESS_TAG_PREFIX)


def tagged_process(tag: str) -> tuple[str, int] | None:
    """``(host, pid)`` of a process tag; None for any other tag (or a process tag whose pid is not a number)."""
    if not is_process_tag(tag):
        return None
    host, _, pid = tag.removeprefix(PROCESS_TAG_PREFIX).rpartition(":")
    return (host, int(pid)) if pid.isdigit() else None
