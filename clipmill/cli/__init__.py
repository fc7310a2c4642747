"""The entry layer: the `clipmill` command (`commands`) and the Python API (`api`).

Only this package, inside `clipmill`, may import the flows, the tasks, the Prefect blocks or
Prefect itself; everything below it is pure compute and adapters (``tests/unit/test_import_rules.py``
keeps it so). Commands import flows and Prefect when they run, not when the command line is parsed,
so ``clipmill --help`` and ``clipmill analyze`` never load them.
"""

from __future__ import annotations


def main() -> None:
    """The console script (``clipmill = "clipmill.cli:main"``): see `clipmill.cli.commands.main`."""
    from clipmill.cli.commands import main as run

    run()
