"""`clip_flow`: Prefect's ``@flow`` for clipmill's flows, whose runs send their parameters without FastAPI.

To create a flow run, Prefect turns its parameters into JSON with FastAPI's ``jsonable_encoder``.
That import loads all of FastAPI, its OpenAPI models included: 0.12 s of CPU in every fresh job
process, and nothing else in it needs FastAPI. pydantic, which Prefect and clipmill load anyway,
turns what clipmill's flows take (strings, numbers, None, lists, dicts, pydantic models,
dataclasses) into the same JSON; any value it cannot is serialized Prefect's own way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import Flow
from prefect.futures import PrefectFuture
from prefect.states import State
from pydantic_core import to_jsonable_python


class ClipmillFlow(Flow):
    """A Prefect flow whose run parameters are made JSON by pydantic (`serialize_parameters`)."""

    def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        if self.ismethod or self.isclassmethod:
            return super().serialize_parameters(parameters)
        serialized: dict[str, Any] = {}
        for key, value in parameters.items():
            if not isinstance(value, (PrefectFuture, State)):
                try:
                    serialized[key] = to_jsonable_python(value)
                    continue
                except Exception:  # noqa: BLE001 - Prefect's way decides what such a value becomes
                    pass
            serialized.update(super().serialize_parameters({key: value}))
        return serialized

    def with_options(self, **options: Any) -> ClipmillFlow:
        """`Flow.with_options`, still a `ClipmillFlow` (Prefect's builds a plain `Flow`)."""
        derived = object.__new__(type(self))
        derived.__dict__.update(super().with_options(**options).__dict__)
        return derived


def clip_flow(**options: Any) -> Callable[[Callable[..., Any]], ClipmillFlow]:
    """``@prefect.flow(**options)``, making a `ClipmillFlow`."""
    return lambda fn: ClipmillFlow(fn, **options)
