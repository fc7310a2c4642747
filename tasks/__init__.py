"""Thin Prefect tasks: load inputs by key, call clipmill, store outputs, return keys and summaries."""
