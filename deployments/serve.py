"""Serve the clip job without a work pool: one long-running process that picks up its runs.

    PREFECT_API_URL=http://127.0.0.1:4200/api .venv/bin/python deployments/serve.py

Runs created from the UI, the API or `prefect deployment run 'clip-job/clip-job-served'` execute
in this process. For more than one machine use the `prefect.yaml` deployments and work pools.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.clip_job import clip_job  # noqa: E402

if __name__ == "__main__":
    clip_job.serve(
        name="clip-job-served",
        tags=["clipmill"],
        parameters={"source": "samples/grid_concat_11speakers_33s.mp4", "start": 4.5, "end": 16.25},
        limit=4,
    )
