"""harness run: build, measure and save one run of the selected workloads, then print its
summary."""

from __future__ import annotations

import argparse
from dataclasses import replace

from harness import config
from harness.build.builder import Builder
from harness.cli import options
from harness.cli.output import console, progress_view
from harness.cli.summary import print_summary
from harness.measure import launcher as measure
from harness.measure import machine
from harness.measure.race import RaceChecker
from harness.measure.runner import check_budgets_before_building, harness_cpus_for, run_suite
from harness.model import Workload
from harness.servers import loadgen
from harness.servers.protocol import ServerRunner
from harness.servers.race import ServerRace


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser("run", help="build, measure and save results/<run-id>.json")
    s.add_argument("--workloads", help="comma-separated names (default: all)")
    s.add_argument("--size", choices=("full", "quick"), default="full")
    options.add_measurement(s, "rounds (full 10, quick 3); with adaptive rounds the minimum")
    s.add_argument("--warmups", type=int, help="discarded warm-up rounds (1)")
    s.add_argument("--timeout", type=float, help="seconds before a run's process group is killed")
    s.add_argument(
        "--build-profile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also time clean and incremental builds in scratch copies (default: on for full size)",
    )
    options.add_race_check(s)
    s.add_argument(
        "--sample-interval",
        type=float,
        default=0.1,
        help="psutil sampling interval in seconds for time series (0 disables)",
    )
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    selected = config.select(options.workloads(args), options.workload_names(args.workloads))
    return measure_run(args, options.at_each_cpu_count(args, selected))


def measure_run(args: argparse.Namespace, selected: list[Workload]) -> int:
    """Build, measure and save `selected` as one run, then print its summary (run and sweep)."""
    results_dir, cache_dir = options.paths(args)
    run_config = options.run_config(args, selected, adaptive=args.size == "full")
    check_budgets_before_building(run_config, selected, [results_dir])
    measured_cpus = run_config.cpu_affinity
    harness_cpus = harness_cpus_for(measured_cpus)
    run_server = None
    server_settings = None
    if any(w.kind == "server" for w in selected):
        oha = loadgen.find_oha(options.ROOT / "tools")
        server_settings = options.server_settings(
            args, measured_cpus, harness_cpus, loadgen_build=loadgen.describe_oha(oha)
        )
        run_server = ServerRunner(
            oha, server_settings, options.work_dir(cache_dir), measure.ensure_launcher(cache_dir)
        )
    run_config = replace(run_config, server=server_settings)
    if harness_cpus:
        measure.pin_current_process(harness_cpus)
    executor = measure.SubprocessExecutor(measure.ensure_launcher(cache_dir))
    race_check = None
    if args.race_check:
        server_race = ServerRace(run_server, executor) if run_server is not None else None
        race_check = RaceChecker(cache_dir, executor, server_race)
    run, path = run_suite(
        selected,
        run_config,
        machine.describe(options.ROOT, harness_cpus),
        Builder(cache_dir, profile=options.build_profile(args)),
        executor,
        results_dir,
        cache_dir,
        progress_view,
        run_server=run_server,
        race_check=race_check,
    )
    try:
        print_summary(run)
    except KeyboardInterrupt:  # the run is saved complete: its verdict stands, and says so
        console.print("harness: summary interrupted; the run itself is complete", markup=False)
    console.print(f"results: {path}", markup=False)
    return 0 if all(w.status == "ok" for w in run.workloads) else 1
