"""A clip job's contracts are validated in a process of their own, with the verdict validation in the job's process gives.

Real GE, real suites, real documents, in a fresh interpreter as a `clipmill run` is: the job's
process must not import Great Expectations (its import is the contracts process's work, on
another core), and a contracts process that dies must not cost a verdict: that one is validated
in the job's process and the next in a new contracts process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from clipmill.artifacts.stages import TimelinesDocument
from clipmill.artifacts.store import LinkedArtifacts
from clipmill.quality import contracts_process
from tests.unit.test_contracts import _document

BOX = {"x1": 10.0, "y1": 10.0, "x2": 50.0, "y2": 60.0, "confidence": 0.9}

def clip(clip_id, broken):
    manifest = _document(clip_id=clip_id, **({"outputs__0__video_codec": "hevc"} if broken else {}))
    speech = [(0.1, 0.5), (0.4, 0.8)] if broken else [(0.1, 0.5), (0.6, 0.8), (1.0, 1.4)]
    timelines = TimelinesDocument(segment_duration_s=2.0, speech=speech, silences=[(0.8, 1.0)])
    tracks = [{"track_id": 1, "t": round(0.2 * i, 1), **BOX} for i in range(5)]
    return [json.loads(json.dumps(manifest))], LinkedArtifacts(
        timelines={clip_id: timelines.model_dump()}, tracks={clip_id: tracks})

def verdict(report):
    return sorted([f.suite, f.check, list(f.clip_ids), f.unexpected_count] for f in report.failures)

contracts_process.start_contracts_process()
clean, broken = clip("talk-clean", False), clip("talk-broken", True)
found = {"clean": verdict(contracts_process.check_contracts(*clean)),
         "broken": verdict(contracts_process.check_contracts(*broken))}
found["ge_here"] = "great_expectations" in sys.modules
first = contracts_process._worker
first.kill()
first.wait()
found["broken_after_kill"] = verdict(contracts_process.check_contracts(*broken))
found["clean_after_kill"] = verdict(contracts_process.check_contracts(*clean))
found["restarted"] = contracts_process._worker is not None and contracts_process._worker.pid != first.pid

class OnlyHere(LinkedArtifacts):  # the contracts process cannot unpickle it: it dies mid-request
    pass

documents, linked = broken
found["broken_when_it_dies"] = verdict(contracts_process.check_contracts(documents, OnlyHere(**vars(linked))))
found["dead_forgotten"] = contracts_process._worker is None
print(json.dumps(found))
"""


def test_the_contracts_process_gives_the_verdicts_and_a_dead_one_costs_none() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["clean"] == []
    assert {(suite, check) for suite, check, _, _ in found["broken"]} >= {
        ("manifests", "video_codec_allowed"), ("timelines", "timeline_non_overlapping"),
    }
    assert {tuple(clips) for _, _, clips, _ in found["broken"]} == {("talk-broken",)}
    assert not found["ge_here"], "the job's process imported GE, the contracts process's work"
    assert found["broken_after_kill"] == found["broken"]
    assert found["clean_after_kill"] == []
    assert found["restarted"], "a dead contracts process was not replaced"
    assert found["broken_when_it_dies"] == found["broken"]
    assert found["dead_forgotten"]
    assert "the data-contracts process ended" in done.stderr
