"""harness build: build the selected implementations, cached by source hash."""

from __future__ import annotations

import argparse

from harness import config
from harness.build.builder import Builder
from harness.cli import options
from harness.cli.output import progress_view
from harness.measure.runner import build_all


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser("build", help="build implementations (cached by source hash)")
    s.add_argument("--workloads", help="comma-separated names (default: all)")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    _, cache_dir = options.paths(args)
    selected = config.select(options.workloads(args), options.workload_names(args.workloads))
    builder = Builder(cache_dir)
    records = [r for w in selected for r in build_all(w, builder, progress_view).values()]
    return 0 if all(r.ok for r in records) else 1
