"""harness report: render a measured run as reports/<run-id>.html."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.analysis import capacity, decision, trend
from harness.cli import options
from harness.report import html as report
from harness.report import profiles as profile_report


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser("report", help="render reports/<run-id>.html from a results file")
    s.add_argument("results", nargs="?", default="latest", help="results file, run id or 'latest'")
    s.add_argument("--reports-dir", default="reports")
    s.add_argument("--debug", action="store_true", help="also write the report context as JSON")
    s.add_argument("--team", help="decision-matrix scores (default: config/team.toml if present)")
    s.add_argument(
        "--capacity", help="capacity/cost assumptions (default: built-in, as config/capacity.toml)"
    )
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    results_dir, _ = options.paths(args)
    path_of_run, run = options.load_measured(args.results, results_dir)
    path = report.write_report(
        run,
        Path(args.reports_dir),
        debug=args.debug,
        capacity_config=capacity.load_capacity_config(
            Path(args.capacity) if args.capacity else None
        ),
        team=decision.load_team_config(Path(args.team) if args.team else None),
        history=trend.runs_like(run, path_of_run.parent),
        profile=profile_report.find_profile(path_of_run.parent, run.run_id),
    )
    print(f"report: {path.resolve()}")
    print(f"latest: {(Path(args.reports_dir) / 'latest.html').resolve()}")
    return 0
