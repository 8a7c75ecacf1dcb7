"""harness export: a measured run as csv, markdown, benchstat or bmf, or its one-screen brief."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.analysis import capacity, decision
from harness.analysis.bundle import analyse
from harness.cli import options
from harness.errors import HarnessError
from harness.report.export import EXPORTERS, write_brief
from harness.report.profiles import find_profile


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser(
        "export", help="print a results file as csv, markdown, benchstat or bmf"
    )
    s.add_argument("results", nargs="?", default="latest", help="results file, run id or 'latest'")
    s.add_argument("--format", choices=sorted(EXPORTERS), help="default csv")
    s.add_argument(
        "--brief",
        action="store_true",
        help="the report's one-screen brief as Markdown, printed and written to --out with its "
        "chart beside it (<run-id>-brief.md, <run-id>-overview.png and .svg)",
    )
    s.add_argument("--out", default="reports", help="where --brief writes its files (reports/)")
    s.add_argument("--team", help="decision-matrix scores for --brief (as for report)")
    s.add_argument("--capacity", help="capacity/cost assumptions for --brief (as for report)")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    results_dir, _ = options.paths(args)
    if args.brief and args.format not in (None, "markdown"):
        raise HarnessError(
            f"export: --brief writes Markdown, not {args.format}; drop --format or use markdown"
        )
    path_of_run, run = options.load_measured(args.results, results_dir)
    found = find_profile(path_of_run.parent, run.run_id)
    analysis = analyse(
        run,
        capacity_config=capacity.load_capacity_config(
            Path(args.capacity) if args.capacity else None
        ),
        team=decision.load_team_config(Path(args.team) if args.team else None),
        profile=found.profile if found else None,
    )
    if not args.brief:
        sys.stdout.write(EXPORTERS[args.format or "csv"](analysis))
        return 0
    text, written = write_brief(analysis, Path(args.out))
    sys.stdout.write(text)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0
