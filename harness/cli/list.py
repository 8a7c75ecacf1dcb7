"""harness list: the workloads the command sees, with category, kind and implementations."""

from __future__ import annotations

import argparse

from rich.table import Table

from harness.cli import options
from harness.cli.output import stdout_console


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser(
        "list", help="list the workloads with category, kind and implementations"
    )
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    workloads = options.workloads(args)
    table = Table(title="Workloads")
    for column in ("name", "category", "kind", "implementations", "description"):
        table.add_column(column)
    for w in workloads.values():
        impls = ", ".join(
            f"{i.key} ({'go+rust: ' if i.links else ''}{i.library})" for i in w.implementations
        )
        table.add_row(w.name, w.category, w.kind, impls, w.description)
    stdout_console.print(table)
    return 0
