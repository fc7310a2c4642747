"""Data quality: Great Expectations suites over manifests, timelines, tracks and published outputs.

`frames` flattens documents into tables, `suites` builds the expectation suites, `validate` runs
them and returns typed results (`results`), `report` renders them as an HTML page, `contracts_process` runs a
clip job's validation in a process of its own that imports GE while the media stages run, and
`contracts_service` keeps one such process beside the local Prefect server for all its jobs (both speak
`wire` frames). Import the module you
need: the package itself imports nothing, so a clip job's start does not pay for pandas and GE.
"""
