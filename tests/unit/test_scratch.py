"""Scratch folders carry their process's id: a dead process's are reaped, a live one's never."""

from __future__ import annotations

import os
import subprocess
import sys

from clipmill.scratch import folder_prefix, reap_orphans, remove_own


def test_only_the_scratch_of_dead_processes_is_reaped(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f"job-{int(finished.stdout)}-abc"
    mine = tmp_path / f"{folder_prefix()}def"
    unrelated = tmp_path / "job-old-style"
    for folder in (dead, mine, unrelated):
        (folder / "part").mkdir(parents=True)

    assert reap_orphans(tmp_path) == [dead]
    assert not dead.exists() and mine.exists() and unrelated.exists()
    remove_own(tmp_path)
    assert not mine.exists() and unrelated.exists()
    assert folder_prefix() == f"job-{os.getpid()}-"
