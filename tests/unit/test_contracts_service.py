"""The local server's contracts process serves every job of that server, and a missing one costs no verdict.

Real GE, real suites, real documents, in a fresh interpreter as a `clipmill run` is: with the
shared process running, a job's verdicts come from it (the job imports no GE and starts no
contracts process of its own), two jobs at once get their own verdicts, a second start reuses it,
code that differs replaces it, and when it is gone a job validates in a process of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from clipmill.quality import contracts_service
from tests.unit.test_contracts_process import PROBE

ROOT = Path(__file__).resolve().parents[2]

SERVICE_PROBE = PROBE.split("contracts_process.start_contracts_process()")[0] + """
import os, threading
from pathlib import Path
import psutil
from clipmill.quality import contracts_service
from clipmill.quality.contracts_process import SERVICE_ENV

home = Path(sys.argv[1])
address = contracts_service.ensure_running(home)
os.environ[SERVICE_ENV] = str(address)
first = contracts_service.running(home)
contracts_process.start_contracts_process()
clean, broken = clip("talk-clean", False), clip("talk-broken", True)
found = {"clean": verdict(contracts_process.check_contracts(*clean)),
         "broken": verdict(contracts_process.check_contracts(*broken))}
found["ge_here"] = "great_expectations" in sys.modules
found["own_process"] = contracts_process._worker is not None
both = {}
threads = [threading.Thread(target=lambda k=k, c=c: both.update({k: verdict(contracts_process.check_contracts(*c))}))
           for k, c in (("clean", clean), ("broken", broken))]
[t.start() for t in threads]
[t.join() for t in threads]
found["together"] = both
contracts_service.ensure_running(home)
found["reused"] = contracts_service.running(home).pid == first.pid
state = json.loads((contracts_service.service_dir(home) / "service.json").read_text())
(contracts_service.service_dir(home) / "service.json").write_text(json.dumps({**state, "code": "older-code"}))
contracts_service.ensure_running(home)
second = contracts_service.running(home)
found["replaced"] = second is not None and second.pid != first.pid and not psutil.pid_exists(first.pid)
found["broken_by_new"] = verdict(contracts_process.check_contracts(*broken))
found["stopped"] = contracts_service.stop(home) and contracts_service.running(home) is None
found["broken_when_gone"] = verdict(contracts_process.check_contracts(*broken))
found["own_process_after"] = contracts_process._worker is not None
print(json.dumps(found))
"""


def test_the_shared_contracts_process_serves_each_job_and_a_stale_or_missing_one_costs_no_verdict() -> None:
    with tempfile.TemporaryDirectory(prefix="cm-") as home:
        done = subprocess.run(
            [sys.executable, "-c", SERVICE_PROBE, home], capture_output=True, text=True,
            timeout=300, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        contracts_service.stop(Path(home))
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["clean"] == []
    assert {(suite, check) for suite, check, _, _ in found["broken"]} >= {
        ("manifests", "video_codec_allowed"), ("timelines", "timeline_non_overlapping"),
    }
    assert not found["ge_here"] and not found["own_process"], "the job validated without the shared process"
    assert found["together"] == {"clean": [], "broken": found["broken"]}
    assert found["reused"], "a second start replaced a shared process that runs this code"
    assert found["replaced"], "a shared process of other code was kept"
    assert found["broken_by_new"] == found["broken"]
    assert found["stopped"]
    assert found["broken_when_gone"] == found["broken"] and found["own_process_after"]
    assert "did not answer" in done.stderr


def test_a_socket_path_too_long_for_the_os_means_no_shared_process(tmp_path: Path) -> None:
    home = tmp_path / ("h" * 120)
    assert contracts_service.ensure_running(home) is None
    assert contracts_service.running(home) is None
