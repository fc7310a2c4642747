"""Prefect flows: clip_job (one clip)."""
