"""ffmpeg and every other tool run from argument lists, never through a shell (issue 9, security).

A shell would turn a crafted file name or option into a command; this greps the library source for
the ways Python hands a string to one.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO_ROOT

LIBRARY = ("clipmill", "tasks", "flows")
SHELL_CALLS = re.compile(r"shell\s*=\s*True|os\.system\s*\(|os\.popen\s*\(|subprocess\.getoutput\s*\(|"
                         r"subprocess\.getstatusoutput\s*\(")


def shell_calls(root: Path) -> list[str]:
    """``path:line: text`` for every line under the library folders of `root` that runs a shell."""
    hits = []
    for folder in LIBRARY:
        for path in sorted((root / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if SHELL_CALLS.search(line):
                    hits.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return hits


def test_the_library_never_runs_a_tool_through_a_shell():
    assert shell_calls(REPO_ROOT) == []


def test_the_grep_finds_each_shell_call(tmp_path):
    calls = ["subprocess.run(cmd, shell=True)", "os.system('ffmpeg')", "os.popen(cmd)",
             "subprocess.getoutput(cmd)", "subprocess.getstatusoutput(cmd)"]
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "bad.py").write_text("\n".join(calls) + "\nsubprocess.run(['ffmpeg', '-i', path])\n")
    assert shell_calls(tmp_path) == [f"tasks/bad.py:{n}: {call}" for n, call in enumerate(calls, start=1)]
