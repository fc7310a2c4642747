"""Object key layout: ``jobs/<job_id>/<name>`` for intermediates, ``clips/<clip_id>.<ext>`` for outputs,
``analyses/<sha256>/…`` and ``suggestions/<sha256>/…`` for whole-source analyses and their suggestions.

Keys built from user input go through `safe_name` first, so a clip name can never climb out of
its prefix (``..``, absolute paths, control characters).
"""

from __future__ import annotations

import re
import unicodedata

from clipmill.errors import InputError

JOBS_PREFIX = "jobs/"
CLIPS_PREFIX = "clips/"
ANALYSES_PREFIX = "analyses/"
SUGGESTIONS_PREFIX = "suggestions/"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, *, max_length: int = 80) -> str:
    """A key-safe version of `text`: ASCII letters, digits, ``.``, ``_``, ``-``; never ``.``/``..``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = _UNSAFE.sub("-", ascii_text).strip(".-_")[:max_length].strip(".-_")
    return name or "clip"


def job_key(job_id: str, name: str) -> str:
    """Key of an intermediate file of one job, e.g. ``jobs/ab12…/segment.mp4``."""
    _check_part(job_id, "job id")
    _check_part(name, "job file name")
    return f"{JOBS_PREFIX}{job_id}/{name}"


def clip_key(clip_id: str, extension: str) -> str:
    """Key of a published file, e.g. ``clips/interview-3f2a….mp4``."""
    _check_part(clip_id, "clip id")
    _check_part(extension, "extension")
    return f"{CLIPS_PREFIX}{clip_id}.{extension}"


def _check_part(part: str, what: str) -> None:
    if not part or part in {".", ".."} or "/" in part or part != safe_name(part, max_length=len(part) + 1):
        raise InputError(f"{what} {part!r} is not a safe object-key component (letters, digits, . _ - only)")
