"""``clipmill faces`` on the real sample: the ``--json`` document's exact shape and the overlay video."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from clipmill.cli.faces import faces


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    app.command()(faces)

    @app.callback()
    def main() -> None:
        """Keep ``faces`` a named subcommand, as in ``clipmill faces``."""

    return app


def frame_png(video: Path, at_s: float, target: Path) -> np.ndarray:
    import cv2

    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-ss", f"{at_s}", "-i", str(video), "-frames:v", "1", str(target)], check=True
    )
    return cv2.imread(str(target))[:, :, ::-1]


def test_faces_json_has_one_row_per_frame_on_the_source_timeline_and_draws_an_overlay(app, sample_video, tmp_path):
    overlay = tmp_path / "overlay.mp4"
    result = CliRunner().invoke(
        app, ["faces", str(sample_video), "--start", "2", "--end", "7.2", "--json", "--overlay", str(overlay)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout.strip().splitlines()[-1])
    assert list(document) == ["fps", "width", "height", "tracks"]
    assert (document["fps"], document["width"], document["height"]) == (25.0, 360, 288)
    assert [list(t) for t in document["tracks"]] == [["id", "label", "frames"]] * 3
    assert [(t["id"], t["label"]) for t in document["tracks"]] == [(1, None), (2, None), (3, None)]
    rows = [row for t in document["tracks"] for row in t["frames"]]
    assert all(len(row) == 6 and all(isinstance(v, (int, float)) for v in row) for row in rows)
    times = np.asarray([row[0] for row in rows])
    # 5.2 s at 25 fps = 130 frames, each in exactly one track; t counts from the source's start
    assert len(rows) == 130 and times[0] == 2.0 and times[-1] == pytest.approx(7.16)
    assert np.allclose(np.diff(times), 1 / 25)
    assert [t["frames"][0][0] for t in document["tracks"]] == [2.0, 3.0, 6.0]

    # the overlay's box edge is drawn in track 2's colour where its box says
    x1, y1, x2, y2 = document["tracks"][1]["frames"][50][1:5]
    picture = frame_png(overlay, document["tracks"][1]["frames"][50][0] - 2.0 + 0.001, tmp_path / "frame.png")
    edge = picture[int(round((y1 + y2) / 2)), int(round(x1))].astype(int)
    assert np.abs(edge - [60, 180, 75]).max() < 40


def test_faces_rejects_a_range_outside_the_source(app, sample_video):
    result = CliRunner().invoke(app, ["faces", str(sample_video), "--start", "30", "--end", "40"])
    assert result.exit_code == 2
    assert "range" in result.stderr
