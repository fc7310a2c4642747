"""The whole clip job against a bare ffmpeg re-encode, Prefect's own overhead, and peak memory.

Each job runs in a child process (`bench.child`) so its peak RSS is its own and its ephemeral
Prefect server start can be timed apart from the job.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from bench.buckets import drop_bucket
from bench.child import REPO, WARM_UP_S, run_child
from bench.rows import Row, guarded, not_available, rtf_row
from clipmill.config import ClipOptions

GROUP = "clip job"
TARGETS = {"no faces": 1.15, "faces": 1.5}


def job_rows(source: Path, duration_s: float, *, env: dict[str, str], work: Path) -> tuple[list[Row], dict[str, Any]]:
    """Rows for the silence-removal job (and the faces job when clipmill has the option); the raw result."""
    raw: dict[str, Any] = {}

    options = {"detect_faces": False} if "detect_faces" in ClipOptions.model_fields else {}

    def plain() -> list[Row]:
        params = {"source": str(source), "end_s": duration_s, "work": str(work), "options": options}
        raw.update(job_child(params, env=env))
        return _rows("silence removal, no faces", duration_s, raw, TARGETS["no faces"])

    def warm() -> list[Row]:
        params = {"source": str(source), "end_s": duration_s, "work": str(work), "options": options, "warm_up": True}
        result = job_child(params, env=env)
        return _rows("silence removal, no faces, warm process", duration_s, result, TARGETS["no faces"],
                     note=f"after a {WARM_UP_S:.0f} s job in the same process ({result['warm_up_s']:.1f} s), "
                          "as in a library batch")[1:]

    rows = guarded(GROUP, "silence removal, no faces", plain)
    rows += guarded(GROUP, "silence removal, no faces, warm process", warm)
    return rows, raw


def faces_job_rows(source: Path, duration_s: float, *, env: dict[str, str], work: Path) -> list[Row]:
    """The clip job with face detection and 9:16 reframing, when ClipOptions has those options."""
    def measure() -> list[Row]:
        fields = ClipOptions.model_fields
        if "detect_faces" not in fields:
            return [not_available(GROUP, "with faces", "option not implemented (ClipOptions has no detect_faces)")]
        options = {"detect_faces": True, **({"reframe": "9:16"} if "reframe" in fields else {})}
        params = {"source": str(source), "end_s": duration_s, "work": str(work), "options": options}
        result = job_child(params, env=env)
        name = f"faces + reframe {options.get('reframe', 'none')}, {duration_s:.0f} s input"
        return _rows(name, duration_s, result, TARGETS["faces"])
    return guarded(GROUP, "with faces", measure)


def job_child(params: dict[str, Any], *, env: dict[str, str], code: Path = REPO) -> dict[str, Any]:
    """One measured clip job in a child process (of the code base in `code`), on a bucket of its own (dropped after).

    Jobs on the same input would otherwise reuse each other's stored analysis and segment.
    """
    bucket = f"bench-job-{uuid.uuid4().hex[:12]}"
    try:
        return run_child("job", params, env={**env, "CLIPMILL_STORAGE__BUCKET": bucket}, code=code)
    finally:
        drop_bucket(env["CLIPMILL_HOME"], bucket)


def _rows(name: str, duration_s: float, result: dict[str, Any], target: float, *, note: str = "") -> list[Row]:
    """Server start, the bare encode, the job against it, and what the job spent outside its stages.

    In a fresh process (no ``note``) the first job also imports clipmill and loads its models.
    """
    stages_s = sum(result["timings_s"].values())
    overhead_s = result["job_wall_s"] - stages_s
    ratio = result["job_wall_s"] / result["bare_ffmpeg_s"]
    where = note or "fresh process, as `clipmill run`: imports and model loads included"
    return [
        Row(GROUP, "prefect server start", seconds=result["server_start_s"], detail="ephemeral server, before the job"),
        rtf_row(GROUP, "bare ffmpeg re-encode", duration_s, result["bare_ffmpeg_s"], "same preset and crf, same process"),
        rtf_row(
            GROUP, name, duration_s, result["job_wall_s"],
            f"{ratio:.2f}x bare ffmpeg (target <= {target}x); {result['clip_duration_s']:.1f} s out; {where}",
            ratio_to_ffmpeg=ratio, **result,
        ),
        Row(GROUP, "prefect overhead per job" + (", warm process" if note else ""), seconds=overhead_s,
            detail=f"job wall - sum of manifest timings_s ({stages_s:.1f} s): Prefect, contracts, publish"
                   + ("" if note else ", imports")),
    ]


def memory_rows(short: Path, short_s: float, long_s: float, long_result: dict[str, Any], *, env: dict[str, str],
                work: Path) -> list[Row]:
    """Peak RSS of the clip job on the short input vs the main one (streaming keeps them close)."""
    def measure() -> list[Row]:
        if "peak_rss_mb" not in long_result:
            raise RuntimeError(f"the {long_s:.0f} s clip job failed, nothing to compare with")
        small = job_child({"source": str(short), "end_s": short_s, "work": str(work)}, env=env)
        ratio = long_result["peak_rss_mb"] / small["peak_rss_mb"]
        return [
            Row("memory", f"clip job peak RSS, {short_s:.0f} s input", detail=f"{small['peak_rss_mb']:.0f} MiB",
                data={"peak_rss_mb": small["peak_rss_mb"], "children_peak_rss_mb": small["children_peak_rss_mb"]}),
            Row("memory", f"clip job peak RSS, {long_s:.0f} s input", detail=f"{long_result['peak_rss_mb']:.0f} MiB",
                data={"peak_rss_mb": long_result["peak_rss_mb"]}),
            Row("memory", f"peak RSS ratio {long_s:.0f} s / {short_s:.0f} s",
                detail=f"{ratio:.2f}x (must stay <= 1.2x)", data={"ratio": ratio}),
        ]
    return guarded("memory", "clip job peak RSS", measure)
