"""One exception hierarchy for clipmill.

`InputError` means the user's request or media is wrong: retrying cannot help, so Prefect tasks never
retry it. `StorageError` and `ToolError` are transient-looking failures of the object store or of an
external tool (ffmpeg): tasks retry them with backoff. `InternalError` is a broken invariant of
clipmill's own code (a bug, not bad input): reported as a bug and retried like any other failure.
Every message says what was wrong, with the offending value, and what to do about it.
"""

from __future__ import annotations

#: Where a bug is reported (said with every `InternalError` the CLI prints).
REPORT_TO = "the clipmill issue tracker (see 'Reporting a bug' in README.md)"


class ClipmillError(Exception):
    """Base class of every error clipmill raises on purpose."""

    retryable: bool = False


class InputError(ClipmillError, ValueError):
    """Bad media or bad parameters: the user has to change the request."""


class InternalError(ClipmillError):
    """An invariant of clipmill's own code broke: a bug to report, never the user's input.

    Retried like any unexpected failure (a race or a flaky resource may be behind it); the CLI
    exits 1 and says where to report it.
    """

    retryable = True


class StorageError(ClipmillError):
    """The object store failed or could not be reached."""

    retryable = True


class ToolError(ClipmillError):
    """An external tool (ffmpeg, ffprobe) failed on input that looked valid."""

    retryable = True


class ModelUnavailable(ClipmillError):
    """A model backend was chosen but its weights or package are not installed.

    The message names the missing path or package and the setting that supplies it.
    """


class ContractViolation(ClipmillError):
    """An output broke its data contract; it is not published. The message lists every violation."""


class NoSpaceLeft(ClipmillError):
    """A disk clipmill writes to (scratch, source cache, embedded store data) is full or too full
    for the next step; the message names the folder. Not retried: space does not come back by itself."""
