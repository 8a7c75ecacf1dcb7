"""The command line's parser: the global options, then each command's subparser, added by the
command's own module (`add_parser`, which sets `func` to its `run`)."""

from __future__ import annotations

import argparse

from harness.cli import (
    ab,
    build,
    compare,
    export,
    history,
    machine,
    new,
    profile,
    report,
    run,
    sweep,
)
from harness.cli import list as list_command

# In the order `harness --help` lists them.
COMMANDS = (
    list_command,
    build,
    run,
    sweep,
    report,
    profile,
    compare,
    ab,
    new,
    history,
    export,
    machine,
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="harness", description="Go vs Rust benchmark harness.")
    p.add_argument(
        "--workloads-dir",
        action="append",
        metavar="DIR",
        help="a folder of workload manifests with its own go/ module and rust/ workspace "
        "(repeatable; default: ./harness.toml's workloads_dirs, else this repository's workloads/)",
    )
    p.add_argument(
        "--results-dir", default="results", help="where results JSON files go (results/)"
    )
    p.add_argument(
        "--cache-dir", default=".cache", help="binaries, inputs and build logs (.cache/)"
    )
    subparsers = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return p
