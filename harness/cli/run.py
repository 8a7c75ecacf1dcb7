"""harness run: build, measure and save one run of the selected workloads, then print its
summary."""

from __future__ import annotations

import argparse
from dataclasses import replace

from harness.analysis import timing
from harness.build.builder import Builder
from harness.cli import options
from harness.cli.output import console, progress_view
from harness.cli.summary import print_summary
from harness.errors import HarnessError
from harness.measure import launcher as measure
from harness.measure import machine
from harness.measure.race import RaceChecker
from harness.measure.runner import check_budgets_before_building, harness_cpus_for, run_suite
from harness.model import Workload
from harness.servers import loadgen, spread
from harness.servers.hosting import LOCAL
from harness.servers.protocol import ServerRunner
from harness.servers.race import ServerRace
from harness.store import history
from harness.store.results import save_run


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
        help="also time the default pairs' clean and incremental builds in scratch copies "
        "(default: on for full size)",
    )
    s.add_argument(
        "--build-profile-variants",
        action="store_true",
        help="with the build profile, also time every labelled variant's and back end's builds",
    )
    options.add_race_check(s)
    options.add_defaults_only(s)
    s.add_argument(
        "--hosts",
        metavar="FILE",
        help="a hosts inventory (docs/hosts.md): servers on this machine or a server host of "
        "their own, load from the hosts it lists, over SSH (default: everything on this machine)",
    )
    s.add_argument(
        "--sample-interval",
        type=float,
        default=0.1,
        help="psutil sampling interval in seconds for time series (0 disables)",
    )
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    selected = options.selection(args)
    results_dir, _ = options.paths(args)
    try:
        past = history.recent_runs(results_dir, args.size)
        plan = timing.plan_line(timing.expected(past, [w.name for w in selected], args.size))
    except HarnessError as exc:  # the estimate is a courtesy: a locked index must not stop a run
        plan = f"no expected time ({exc})"
    if plan is not None:
        console.print(f"harness: {plan}", markup=False)
    return measure_run(args, options.at_each_cpu_count(args, selected))


def measure_run(args: argparse.Namespace, selected: list[Workload]) -> int:
    """Build, measure and save `selected` as one run, then print its summary (run and sweep)."""
    results_dir, cache_dir = options.paths(args)
    run_config = options.run_config(args, selected, adaptive=args.size == "full")
    inventory = options.inventory(args, selected)
    if inventory is not None and inventory.server_cpus and inventory.server_host is None:
        run_config = replace(run_config, cpu_affinity=inventory.server_cpus)
    check_budgets_before_building(run_config, selected, [results_dir])
    measured_cpus = run_config.cpu_affinity
    harness_cpus = harness_cpus_for(measured_cpus)
    run_server = None
    server_settings = None
    hosts: spread.OpenHosts | None = None
    topology = None
    if any(w.kind == "server" for w in selected):
        oha = loadgen.find_oha(options.ROOT / "tools")
        launcher = measure.ensure_launcher(cache_dir)
        server_settings = options.server_settings(
            args, measured_cpus, harness_cpus, loadgen_build=loadgen.describe_oha(oha)
        )
        driver = None
        if inventory is not None:
            hosts = spread.open_all(inventory, oha, launcher, cache_dir / "bin", progress_view)
            topology = hosts.topology
            server_settings = hosts.settings(server_settings, inventory)
            driver = hosts.driver(oha, server_settings)
        run_server = ServerRunner(
            oha,
            server_settings,
            options.work_dir(cache_dir),
            launcher,
            driver=driver,
            host=hosts.server_host if hosts is not None else LOCAL,
        )
    run_config = replace(run_config, server=server_settings)
    try:
        run, path = _measure(
            args, selected, run_config, harness_cpus, cache_dir, results_dir, run_server, topology
        )
    finally:
        if hosts is not None:
            topology = hosts.close()
    if topology is not None:
        run = replace(run, topology=topology)
        path = save_run(run, results_dir)
        if topology.left_running:
            console.print(
                f"harness: {topology.left_running} process(es) of ours were still running on "
                "the hosts after the run (killed)",
                markup=False,
            )
    try:
        print_summary(run)
    except KeyboardInterrupt:  # the run is saved complete: its verdict stands, and says so
        console.print("harness: summary interrupted; the run itself is complete", markup=False)
    console.print(f"results: {path}", markup=False)
    return 0 if all(w.status == "ok" for w in run.workloads) else 1


def _measure(
    args, selected, run_config, harness_cpus, cache_dir, results_dir, run_server, topology
):
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
        Builder(
            cache_dir,
            profile=options.build_profile(args),
            profile_variants=args.build_profile_variants,
        ),
        executor,
        results_dir,
        cache_dir,
        progress_view,
        run_server=run_server,
        race_check=race_check,
        topology=topology,
    )
    return run, path
