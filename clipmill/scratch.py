"""Scratch folders under ``<home>/tmp`` that say which process made them, so leftovers can be reaped.

Each task's scratch folder is ``job-<pid>-<random>``. A process stopped by a signal removes its own;
one killed outright (SIGKILL, a crash) leaves them behind, and the next command removes every
folder whose process is gone. Folders of live processes (concurrent jobs) are never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

_OWNED = re.compile(r"^job-(\d+)-")


def folder_prefix() -> str:
    """The name prefix of this process's scratch folders."""
    return f"job-{os.getpid()}-"


@contextmanager
def scratch_dir(temp_dir: Path) -> Iterator[Path]:
    """A private temporary folder under `temp_dir` (``settings.temp_dir``), removed however the
    caller ends; its name carries this process's id, so a killed process's leftovers are reaped."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=temp_dir, prefix=folder_prefix()) as folder:
        yield Path(folder)


def remove_own(temp_dir: Path) -> None:
    """Remove this process's scratch folders (on the way out after a signal)."""
    for folder in temp_dir.glob(folder_prefix() + "*"):
        shutil.rmtree(folder, ignore_errors=True)


def reap_orphans(temp_dir: Path) -> list[Path]:
    """Remove the scratch folders of processes that no longer exist; the folders removed."""
    removed = []
    for folder in temp_dir.glob("job-*") if temp_dir.is_dir() else ():
        match = _OWNED.match(folder.name)
        if match and not psutil.pid_exists(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed

