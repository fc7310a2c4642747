"""How a command reports a failure: one line on stderr and an exit code that says whose it is.

Exit 2: the user's input (`InputError`); exit 1: anything else. A broken invariant
(`InternalError`) is a bug, and its line says so and where to report it, so it never reads as
"bad input".
"""

from __future__ import annotations

import sys
import traceback
from typing import NoReturn

import typer

from clipmill.cli.console import debug_requested
from clipmill.errors import REPORT_TO, InputError, InternalError
from clipmill.version import __version__


def exit_code(exc: BaseException) -> int:
    """2 for bad input, 1 for every other failure (bugs, storage, tools, contracts)."""
    return 2 if isinstance(exc, InputError) else 1


def describe(exc: BaseException) -> str:
    """The one line shown for `exc`: its message, and for a bug, that it is one and where to report it."""
    if isinstance(exc, InternalError):
        return (
            f"error: {exc} -- this is a bug in clipmill {__version__}, not a problem with your input: please report "
            f"it to {REPORT_TO} with the command and the traceback that --debug (or CLIPMILL_DEBUG=1) prints"
        )
    return f"error: {exc}"


def report(exc: BaseException, *, debug: bool = False, hint: str = "") -> int:
    """Print `exc` as one line on stderr (the traceback instead of `hint` under ``--debug``); its exit code."""
    if debug_requested(debug):
        traceback.print_exception(exc, file=sys.stderr)
        hint = ""
    typer.secho(describe(exc) + hint, fg=typer.colors.RED, err=True)
    return exit_code(exc)


def fail(exc: BaseException, *, debug: bool = False) -> NoReturn:
    """`report` `exc` and end the command with its exit code."""
    raise typer.Exit(code=report(exc, debug=debug)) from exc
