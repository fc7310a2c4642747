"""clipmill benchmarks: real-time factors per stage, ratios against ffmpeg and peers, memory, scaling.

Run ``python -m bench`` (full, 10-minute input) or ``python -m bench --quick`` (60 s smoke run).
Figures are printed and written to ``bench/results/<date>-<machine>.json``; nothing asserts on time.
"""
