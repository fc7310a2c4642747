"""What the benchmark ran on: hostname, CPU model, core count, tool versions."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or the platform's processor string)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown-cpu"


def describe_machine() -> dict[str, Any]:
    """Hostname, CPU model, usable cores, Python and ffmpeg versions."""
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=False).stdout
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "ffmpeg": (ffmpeg.split() or ["?", "?", "unknown"])[2],
        "note": "cores are shared with other engineers' work: figures are noisy",
    }
