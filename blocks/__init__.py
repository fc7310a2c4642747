"""Prefect blocks clipmill registers: object-store credentials."""
