"""The base of every stored document: versioned, strict, checked against its contract when parsed.

A document is a pydantic model whose JSON Schema is checked in under ``data_contracts/`` (file name
`Document.contract`, generated from the model by `clipmill.contracts.write_schemas`). `parse` is the
one way a stored document becomes a model: a document that breaks its contract raises
`ContractViolation` naming where it came from and every wrong field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

import data_contracts

from clipmill.errors import ContractViolation

#: The contracts: the top-level ``data_contracts/`` package's files (package data, so an installed clipmill finds
#: them too).
CONTRACTS_DIR = Path(data_contracts.__file__).resolve().parent

#: How many wrong fields an error message lists before it says how many more there are.
MAX_PROBLEMS_LISTED = 8

D = TypeVar("D", bound="Document")


class Document(BaseModel):
    """A stored document of one version; unknown fields are refused, so a typo cannot pass."""

    model_config = ConfigDict(extra="forbid")

    #: File name of the document's JSON Schema under ``data_contracts/``.
    contract: ClassVar[str]

    schema_version: Literal["1"] = "1"

    def to_json(self) -> bytes:
        """The document as stored: JSON text, one item a line."""
        return self.model_dump_json(indent=1).encode()

    def manifest_summary(self) -> dict[str, Any]:
        """What the manifest's ``stages`` record of this document beside its key (nothing by default)."""
        return {}


def problems(error: ValidationError) -> str:
    """Every wrong field of `error` as ``path.to.field: message``, joined with ``; ``."""
    lines = [f"{'.'.join(str(part) for part in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors()]
    more = len(lines) - MAX_PROBLEMS_LISTED
    return "; ".join(lines[:MAX_PROBLEMS_LISTED]) + (f"; and {more} more" if more > 0 else "")


def parse(kind: type[D], data: bytes | str | dict, *, where: str) -> D:
    """`data` (JSON text or a decoded object) as a `kind` document; `where` names it in the error.

    Raises `ContractViolation` ``<where> breaks data_contracts/<contract>: <field>: <what>; ...``.
    """
    try:
        if isinstance(data, dict):
            return kind.model_validate(data)
        return kind.model_validate_json(data)
    except ValidationError as exc:
        raise ContractViolation(f"{where} breaks data_contracts/{kind.contract}: {problems(exc)}") from None
