"""The data contracts: one JSON Schema per stored document and the Great Expectations suites (``expectations/``).

A package only so that a non-editable install (a wheel, the worker image) carries the files as package data;
it holds no code. ``clipmill.artifacts.document.CONTRACTS_DIR`` is where clipmill reads them from.
"""
