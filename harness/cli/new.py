"""harness new: scaffold a Go/Rust pair (harness/scaffold/) and say how to run it."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli import options
from harness.cli.output import stdout_console
from harness.scaffold import pair as scaffold


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser(
        "new", help="scaffold a Go/Rust pair to paste your code into (manifest, programs, input)"
    )
    s.add_argument("name", metavar="NAME", help="the workload's name, [a-z0-9-]+")
    s.add_argument("--kind", choices=("batch", "server"), default="batch")
    s.add_argument("--category", help="parsing, compression, crypto, allocation or server")
    s.add_argument(
        "--dir",
        help="the workloads folder to write into; created if missing (default: the first "
        "workloads folder: --workloads-dir, ./harness.toml, else this repository's)",
    )
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    folder = Path(args.dir) if args.dir else options.workloads_dirs(args)[0]
    made = scaffold.scaffold(folder, args.name, args.kind, args.category)
    for path in made.created:
        stdout_console.print(f"created {path}", markup=False, soft_wrap=True)
    if made.lock_updated:
        stdout_console.print(f"updated {folder / 'rust' / 'Cargo.lock'} (cargo update -w)")
    else:
        stdout_console.print(
            f"cargo not found: run `cargo update -w` in {folder / 'rust'} before building",
            markup=False,
        )
    default = [options.ROOT / "workloads"]
    where = (
        ""
        if [folder.resolve()] == [d.resolve() for d in default]
        else (f" --workloads-dir {folder}")
    )
    stdout_console.print(
        f"next: harness{where} run --workloads {args.name} --size quick", markup=False
    )
    return 0
