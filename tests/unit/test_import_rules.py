"""The import rules of the layout, read from the source (ast: module- and function-level imports).

- `clipmill` below its entry layer (`clipmill/cli/`) never imports tasks, flows, blocks or Prefect,
  and never reaches up into the entry layer (the package's own ``process_clip`` re-export aside);
- tasks never import flows;
- the pure packages (`clipmill.audio`, `.vision`, `.edit`, `.timeline`, `.timebase`, `.events`) never import the object store
  (`clipmill.storage`, `minio`);
- no two modules import each other, however indirectly (a cycle hidden in a function-level import
  is still a cycle);
- the top-level names ``tasks``, ``flows``, ``blocks`` and ``data_contracts`` are this project's: no
  other installed distribution provides them (several on PyPI do).
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.metadata
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("clipmill", "tasks", "flows", "blocks")
PREFECT_SIDE = ("tasks", "flows", "blocks", "prefect", "prefect_dask")
STORE = ("clipmill.storage", "minio")
PURE = ("clipmill.audio", "clipmill.vision", "clipmill.edit", "clipmill.timeline", "clipmill.timebase", "clipmill.events")
ENTRY = "clipmill.cli"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name."""
    return {module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def imports(name: str, path: Path) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for every import in the file, at any depth, relative ones resolved;
    ``from a import b`` yields ``a.b`` (a submodule or a name in `a`: `within` tells them apart);
    ``importlib.import_module("x")`` with a literal name counts too."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in _nodes(path):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif (
            isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


@functools.cache
def _nodes(path: Path) -> tuple[ast.AST, ...]:
    """Every node of the file's syntax tree (parsed once per session: several tests read the whole tree)."""
    return tuple(ast.walk(ast.parse(path.read_text(), filename=str(path))))


def within(target: str, prefixes: tuple[str, ...]) -> bool:
    return any(target == prefix or target.startswith(prefix + ".") for prefix in prefixes)


def project_module(target: str, known: dict[str, Path]) -> str | None:
    """The project module `target` loads (the longest known prefix: ``clipmill.media.probe`` of
    ``clipmill.media.probe.MediaInfo``), or None for a third-party one."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return None


def violations(known: dict[str, Path]) -> list[str]:
    found = []
    for name, path in known.items():
        for line, target in imports(name, path):
            where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{line} imports {target}"
            below_entry = within(name, ("clipmill",)) and not within(name, (ENTRY,))
            if below_entry and within(target, PREFECT_SIDE):
                found.append(f"{where}: only the entry layer ({ENTRY}) may import tasks, flows, blocks or Prefect")
            if below_entry and name != "clipmill" and within(target, (ENTRY,)):
                found.append(f"{where}: nothing below the entry layer imports it")
            if within(name, ("tasks",)) and within(target, ("flows",)):
                found.append(f"{where}: tasks never import flows")
            if within(name, PURE) and within(target, STORE):
                found.append(f"{where}: pure packages ({', '.join(PURE)}) never import the object store")
    return found


def cycles(known: dict[str, Path]) -> list[list[str]]:
    """Strongly connected components of more than one module in the import graph (Tarjan)."""
    graph = {name: set() for name in known}
    for name, path in known.items():
        for _, target in imports(name, path):
            module = project_module(target, known)
            if module is not None and module != name:
                graph[name].add(module)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_layers_import_downwards_only() -> None:
    assert violations(modules()) == []


@pytest.mark.parametrize("name", ["tasks", "flows", "blocks", "data_contracts"])
def test_top_level_names_are_ours(name: str) -> None:
    """Only clipmill's distribution provides the name, and the package imported is the one beside `clipmill`."""
    others = set(importlib.metadata.packages_distributions().get(name, [])) - {"clipmill"}
    assert not others, f"installed distributions {sorted(others)} also provide the top-level package {name!r}"
    package = importlib.import_module(name)
    assert Path(package.__file__).parent.parent == Path(importlib.import_module("clipmill").__file__).parent.parent


def test_no_import_cycles() -> None:
    assert cycles(modules()) == []


@pytest.mark.parametrize(
    ("name", "source", "rule"),
    [
        ("clipmill.suggest", "def f():\n    from tasks.runtime import object_store\n", "only the entry layer"),
        ("clipmill.jobs", "import prefect\n", "only the entry layer"),
        ("clipmill.batch", "from clipmill.cli.storage import object_store\n", "below the entry layer"),
        ("tasks.edit", "def f():\n    from flows.clip_job import clip_job\n", "tasks never import flows"),
        ("clipmill.vision.framing", "from ..storage import job_key\n", "never import the object store"),
        ("clipmill.audio.vad", "import importlib\nimportlib.import_module('minio')\n", "never import the object store"),
    ],
)
def test_each_rule_catches_a_breach(tmp_path: Path, name: str, source: str, rule: str) -> None:
    """A planted import in a copy of a module's place breaks exactly its rule."""
    known = modules()
    planted = tmp_path / "planted.py"
    planted.write_text(source)
    known[name] = planted
    found = violations(known)
    assert len(found) == 1 and rule in found[0], found


def test_a_function_level_cycle_is_found(tmp_path: Path) -> None:
    """Two modules that import each other only inside functions still form a cycle."""
    known = modules()
    for name, other, symbol in (("tasks.edit", "tasks.framing", "plan_frame"), ("tasks.framing", "tasks.edit", "plan_cuts")):
        planted = tmp_path / f"{name}.py"
        planted.write_text(f"def f():\n    from {other} import {symbol}\n" + known[name].read_text())
        known[name] = planted
    assert ["tasks.edit", "tasks.framing"] in cycles(known)
