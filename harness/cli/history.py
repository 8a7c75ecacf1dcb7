"""harness history: the runs in the results folder, as a table or JSON."""

from __future__ import annotations

import argparse
import sys

from rich.table import Table

from harness.cli import options
from harness.cli.output import stdout_console
from harness.store import history


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser("history", help="list the runs in the results folder")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    results_dir, _ = options.paths(args)
    entries = history.refresh(results_dir)
    skipped = [f"unreadable, not listed: {u.reason}" for u in history.unreadable(results_dir)]
    if args.json:
        sys.stdout.write(history.entries_as_json(entries))
        for line in skipped:  # stdout stays one JSON document
            print(f"harness: {line}", file=sys.stderr)
        return 0
    table = Table(title=f"Runs in {results_dir}")
    for column in (
        "run id",
        "status",
        "commit",
        "branch",
        "size",
        "machine",
        "toolchains",
        "workloads",
    ):
        table.add_column(column)
    for e in entries:
        commit = (e.git_commit or "–")[:10] + (" (dirty)" if e.git_dirty else "")
        table.add_row(
            e.run_id,
            e.status,
            commit,
            e.git_branch or "–",
            e.size,
            e.machine_id,
            e.toolchains,
            e.workloads,
        )
    stdout_console.print(table)
    for line in skipped:
        stdout_console.print(line, markup=False, soft_wrap=True)
    return 0
