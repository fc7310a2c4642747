"""Face stage speed: chunk by chunk in this process per sampling method, and through the Dask flow."""

from __future__ import annotations

from pathlib import Path

from bench.child import run_child
from bench.rows import Row, guarded, rtf_row, stopwatch
from clipmill.media import probe
from clipmill.vision.chunks import fps_value, plan_chunks, stitch_chunks
from clipmill.vision.faces_io import FaceOptions, detect_chunk

GROUP = "faces"
SAMPLINGS = ("uniform", "motion", "keyframe", "adaptive")
DASK_WORKERS = (1, 2)


def face_rows(segment: Path, window_s: float, env: dict[str, str], found: dict) -> list[Row]:
    """One-process rows per sampling, Dask flow rows per worker count, then the 1→2 worker speed-up.

    All run on the first `window_s` seconds of `segment`; the uniform run's stitched tracks go into
    ``found["tracks"]`` for the reframing rows.
    """
    rows: list[Row] = []
    for sampling in SAMPLINGS:
        rows += guarded(GROUP, f"1 process, {sampling}", lambda s=sampling: [_one_process(segment, s, window_s, found)])
    for workers in DASK_WORKERS:
        rows += guarded(GROUP, f"dask flow, {workers} worker(s)",
                        lambda w=workers: [_dask_flow(segment, w, window_s, env)])
    return rows + scaling_rows(rows)


def _one_process(segment: Path, sampling: str, window_s: float, found: dict) -> Row:
    info = probe(segment)
    fps = fps_value(info.fps)
    window_s = min(window_s, info.duration_s)
    options = FaceOptions(sampling=sampling)
    specs = plan_chunks(window_s, fps=fps, chunk_s=options.chunk_s, overlap_frames=options.overlap_frames)
    per_chunk = []
    with stopwatch() as elapsed:
        for spec in specs:
            per_chunk.append(detect_chunk(
                segment, spec, fps=fps, source_size=info.display_size,
                ensemble_config=options.ensemble_config(), sampling=options.sampling_config(),
            ))
    tracks = stitch_chunks(per_chunk)
    if sampling == "uniform":
        found.update(tracks=tracks, window_s=window_s)
    detected = sum(int(tr.observed.sum()) for chunk in per_chunk for tr in chunk)
    detail = (f"first {window_s:.0f} s, 5 Hz max, {len(specs)} chunks, {len(tracks)} tracks, "
              f"{detected} observed boxes, default ensemble")
    return rtf_row(GROUP, f"1 process, {sampling}", window_s, elapsed(), detail, chunks=len(specs),
                   observed_boxes=detected)


def _dask_flow(segment: Path, workers: int, window_s: float, env: dict[str, str]) -> Row:
    result = run_child("faces", {"segment": str(segment), "workers": workers, "window_s": window_s}, env=env)
    detail = (
        f"first {result['duration_s']:.0f} s, uniform, LocalCluster start included; "
        f"Prefect server start {result['server_start_s']:.1f} s not included; {result['n_tracks']} tracks"
    )
    return rtf_row(GROUP, f"dask flow, {workers} worker(s)", result["duration_s"], result["wall_s"], detail, **result)


def scaling_rows(rows: list[Row]) -> list[Row]:
    """Throughput of the Dask flow on 2 workers over 1 worker."""
    rtf = {row.name: row.rtf for row in rows if row.rtf}
    one, two = rtf.get("dask flow, 1 worker(s)"), rtf.get("dask flow, 2 worker(s)")
    if not (one and two):
        return [Row("scaling", "faces 1→2 dask workers", detail="error: a Dask flow row failed")]
    return [Row("scaling", "faces 1→2 dask workers", detail=f"speed-up {two / one:.2f}x (ideal 2x on 2 free cores)",
                data={"speedup": two / one})]
