"""bench/ without running it: the table formatter, the error guard and the results JSON writer on fake rows."""

from __future__ import annotations

import json
from datetime import date

from bench.report import format_table, machine_slug, write_results
from bench.rows import Row, guarded, not_available, rtf_row

MACHINE = {"hostname": "box", "cpu_model": "AMD EPYC 7B13", "cores": 2}


def fake_rows() -> list[Row]:
    return [
        rtf_row("stage", "probe", 600.0, 0.5, "1280x720"),
        not_available("reframing", "pyautoflip", "downloads weights"),
        Row("memory", "peak RSS ratio", detail="1.05x"),
    ]


def test_table_has_a_header_and_one_line_per_row_with_blank_cells_for_missing_figures():
    lines = format_table(fake_rows()).splitlines()
    assert lines[0].split() == ["group", "row", "seconds", "x", "real", "time", "detail"]
    assert len(lines) == 2 + 3
    assert "1200.0" in lines[2] and "0.50" in lines[2]
    assert lines[3].rstrip().endswith("n/a: downloads weights")
    assert "None" not in "\n".join(lines)


def test_a_failing_measure_becomes_one_error_row():
    def broken() -> list[Row]:
        raise ValueError("no such file")

    (row,) = guarded("stage", "extract", broken)
    assert (row.group, row.name, row.seconds) == ("stage", "extract", None)
    assert row.detail.startswith("error: ValueError: no such file")


def test_results_json_is_named_by_date_and_machine_and_holds_every_row(tmp_path):
    path = write_results(fake_rows(), machine=MACHINE, run={"mode": "quick"}, folder=tmp_path, day=date(2026, 11, 25))
    assert path.name == f"2026-11-25-{machine_slug(MACHINE)}.json" == "2026-11-25-box-amd-epyc-7b13-2cores.json"
    document = json.loads(path.read_text())
    assert document["machine"] == MACHINE and document["run"] == {"mode": "quick"}
    assert [row["name"] for row in document["rows"]] == ["probe", "pyautoflip", "peak RSS ratio"]
    assert document["rows"][0]["rtf"] == 1200.0
