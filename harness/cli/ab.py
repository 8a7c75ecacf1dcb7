"""harness ab: a base commit and the working tree measured interleaved in one run, then gated
like compare (harness/cli/gate.py)."""

from __future__ import annotations

import argparse
from dataclasses import replace

from harness import config
from harness.analysis import compare
from harness.build.builder import Builder
from harness.cli import gate, options
from harness.cli.output import progress_view
from harness.errors import HarnessError
from harness.measure import ab as abrun
from harness.measure import launcher as measure
from harness.measure import machine
from harness.measure.runner import check_budgets_before_building, harness_cpus_for
from harness.servers import loadgen
from harness.servers.protocol import ServerRunner


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser(
        "ab",
        help="measure a base commit and the working tree interleaved in one run; gate like compare",
    )
    s.add_argument("base", help="git commit or ref to compare the working tree against")
    s.add_argument("--workloads", help="comma-separated workloads (default: all)")
    s.add_argument("--size", choices=("full", "quick"), default="quick")
    options.add_measurement(s, f"minimum rounds per side (default {options.AB_MIN_ROUNDS})")
    s.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    s.add_argument(
        "--default-threshold",
        type=float,
        default=options.AB_DEFAULT_THRESHOLD_PCT,
        help=f"noise threshold in percent (default {options.AB_DEFAULT_THRESHOLD_PCT:g})",
    )
    s.add_argument("--threshold", action="append", default=[], metavar="METRIC=PERCENT")
    s.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="measure the rest when the base lacks a selected workload (labelled INCOMPLETE)",
    )
    gate.add_allow_inconclusive(s)
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Base commit and working tree measured in one interleaved run, then gated like compare."""
    results_dir, cache_dir = options.paths(args)
    dirs = options.workloads_dirs(args)
    if len(dirs) != 1:
        raise HarnessError(
            f"harness ab compares one workloads folder against its base commit; got {len(dirs)} "
            "(pass one --workloads-dir)"
        )
    workloads_dir = dirs[0]
    thresholds = gate.parse_thresholds(args.threshold)  # a typo is refused before anything is built
    selected = config.select(
        config.load_workloads(workloads_dir), options.workload_names(args.workloads)
    )
    run_config = options.run_config(
        args,
        selected,
        adaptive=True,
        minimum_repetitions=options.AB_MIN_ROUNDS,
        target_pct=options.AB_TARGET_CI_PCT,
        seconds_per_program=options.AB_MAX_SECONDS_PER_PROGRAM,
    )
    check_budgets_before_building(run_config, selected, [results_dir / "ab", results_dir])
    harness_cpus = harness_cpus_for(run_config.cpu_affinity)
    run_server = None
    if any(w.kind == "server" for w in selected):
        oha = loadgen.find_oha(options.ROOT / "tools")
        settings = options.server_settings(
            args,
            run_config.cpu_affinity,
            harness_cpus,
            replicates=options.AB_SERVER_REPLICATES,
            loadgen_build=loadgen.describe_oha(oha),
        )
        run_config = replace(run_config, server=settings)
        run_server = ServerRunner(
            oha,
            settings,
            options.work_dir(cache_dir),
            measure.ensure_launcher(cache_dir),
        )
    if harness_cpus:
        measure.pin_current_process(harness_cpus)
    repo, _ = abrun.repository_of(workloads_dir)
    base, head = abrun.run_ab(
        workloads_dir,
        args.base,
        selected,
        run_config,
        machine.describe(repo, harness_cpus),
        measure.SubprocessExecutor(measure.ensure_launcher(cache_dir)),
        cache_dir,
        results_dir / "ab",
        progress_view,
        allow_incomplete=args.allow_incomplete,
        builder=Builder(cache_dir),
        run_server=run_server,
    )
    result = compare.compare_runs(
        base, head, thresholds=thresholds, default_threshold=args.default_threshold / 100
    )
    gate.unused_thresholds(thresholds, result)  # both sides are saved already
    measured = {w.name for w in head.workloads}
    skipped = [w.name for w in selected if w.name not in measured]
    notes = tuple(f"INCOMPLETE: {name}: not in {args.base}; not measured" for name in skipped)
    return gate.print_comparison(
        replace(result, notes=result.notes + notes), args.format, args.allow_inconclusive
    )
