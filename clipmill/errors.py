"""One exception hierarchy for clipmill.

`InputError` means the request or the media is wrong: retrying cannot help, so Prefect tasks never
retry it. `StorageError` and `ToolError` are transient-looking failures of the object store or of an
external tool (ffmpeg): tasks retry them with backoff. Every message says what was wrong, with the
offending value, and what to do about it.
"""

from __future__ import annotations


class ClipmillError(Exception):
    """Base class of every error clipmill raises on purpose."""

    retryable: bool = False


class InputError(ClipmillError, ValueError):
    """Bad media or bad parameters: the user has to change the request."""


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
