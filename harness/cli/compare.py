"""harness compare: two stored runs compared and gated (harness/cli/gate.py)."""

from __future__ import annotations

import argparse

from harness.analysis import compare
from harness.cli import gate, options
from harness.store import history
from harness.store.results import load_run


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser(
        "compare", help="compare two runs; exit 1 on a significant regression"
    )
    s.add_argument("base", help="results file, run id, commit, or 'latest'")
    s.add_argument("head", help="results file, run id, commit, or 'latest'")
    s.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    s.add_argument(
        "--default-threshold",
        type=float,
        default=5.0,
        help="noise threshold in percent below which no change fails (default 5)",
    )
    s.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="METRIC=PERCENT",
        help="per-metric threshold, e.g. peak_rss_bytes=10 (repeatable)",
    )
    s.add_argument(
        "--allow-mixed",
        action="store_true",
        help="compare runs from different machines/toolchains/sizes (labelled MIXED)",
    )
    s.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="compare a run that is not complete or lacks workloads the other has "
        "(labelled INCOMPLETE)",
    )
    gate.add_allow_inconclusive(s)
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0: no regression; 1: at least one significant regression beyond its threshold."""
    results_dir, _ = options.paths(args)
    base = load_run(history.resolve(args.base, results_dir))
    head = load_run(history.resolve(args.head, results_dir))
    thresholds = gate.parse_thresholds(args.threshold)
    result = compare.compare_runs(
        base,
        head,
        thresholds=thresholds,
        default_threshold=args.default_threshold / 100,
        allow_mixed=args.allow_mixed,
        allow_incomplete=args.allow_incomplete,
    )
    gate.unused_thresholds(thresholds, result)
    return gate.print_comparison(result, args.format, args.allow_inconclusive)
