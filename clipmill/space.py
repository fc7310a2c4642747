"""Free disk space where clipmill writes: checked before a step and named when a write runs out.

Scratch files, source snapshots and the embedded store's data usually share one disk under the
clipmill home. A step that would not fit fails before it starts, and a write that still hits a
full disk (``ENOSPC``) is reported as `NoSpaceLeft` naming the folder, never as a bad source or an
unreachable store.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from clipmill.errors import NoSpaceLeft

#: Kept free beyond each step's own estimate, for logs, the store's metadata and other writers.
RESERVE_BYTES = 8 * 1024 * 1024


def free_bytes(path: Path) -> int:
    """Free bytes on the file system holding `path` (or its nearest existing parent)."""
    probe = Path(path).resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def ensure_free(path: Path, needed_bytes: int, *, what: str) -> None:
    """Raise `NoSpaceLeft` unless `needed_bytes` (plus a reserve) fit under `path`."""
    free = free_bytes(path)
    if free < needed_bytes + RESERVE_BYTES:
        raise NoSpaceLeft(
            f"no space left on {path}: {_mb(free)} free, {what} needs about {_mb(needed_bytes + RESERVE_BYTES)}; "
            "free space there or point CLIPMILL_HOME at a larger disk"
        )


def out_of_space(path: Path, action: str) -> NoSpaceLeft:
    """The error for a write under `path` that hit a full disk while `action` ran."""
    return NoSpaceLeft(
        f"no space left on {path} while {action} ({_mb(free_bytes(path))} free); "
        "free space there or point CLIPMILL_HOME at a larger disk"
    )


def _mb(count: int) -> str:
    return f"{count / 1e6:.1f} MB"
