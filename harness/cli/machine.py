"""harness machine: the machine a results file measured, as a block for workload docs."""

from __future__ import annotations

import argparse
import sys

from harness.cli import options
from harness.report import machine_block


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser(
        "machine", help="print the machine a results file measured, as a block for workload docs"
    )
    s.add_argument("results", nargs="?", default="latest", help="results file, run id or 'latest'")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """The machine block a workload doc quotes (harness/report/machine_block.py), from a results file."""
    results_dir, _ = options.paths(args)
    _, run = options.load_measured(args.results, results_dir)
    sys.stdout.write(machine_block.render(run))
    return 0
