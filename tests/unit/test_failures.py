"""How the commands report failures: bad input exits 2, a bug (`InternalError`) exits 1 and says it
is a bug and where to report it, everything else exits 1."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from clipmill.cli.failures import fail
from clipmill.errors import REPORT_TO, InputError, InternalError, StorageError
from clipmill.version import __version__


def command_failing_with(exc: Exception) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def go() -> None:
        try:
            raise exc
        except Exception as caught:
            fail(caught)

    return app


@pytest.mark.parametrize(
    ("exc", "code"),
    [(InputError("start must be >= 0 s (got -1)"), 2), (InternalError("track 3: times must be strictly increasing"), 1),
     (StorageError("the store at 127.0.0.1:9 cannot be reached"), 1)],
)
def test_exit_code_says_whose_failure_it_is(exc: Exception, code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLIPMILL_DEBUG", raising=False)
    result = CliRunner().invoke(command_failing_with(exc), [])
    assert result.exit_code == code
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {exc}")
    says_bug = "this is a bug in clipmill" in lines[0]
    assert says_bug == isinstance(exc, InternalError)


def test_a_bug_names_the_version_where_to_report_and_how(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLIPMILL_DEBUG", raising=False)
    result = CliRunner().invoke(command_failing_with(InternalError("tracks table lacks columns ['x1']")), [])
    line = result.output.strip()
    assert f"clipmill {__version__}" in line and REPORT_TO in line and "--debug" in line
    assert "not a problem with your input" in line


def test_debug_adds_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIPMILL_DEBUG", "1")
    result = CliRunner().invoke(command_failing_with(InternalError("planted")), [])
    assert result.exit_code == 1 and "Traceback" in result.output
