"""harness profile: CPU profiles (perf) of a measured run's default pairs, apart from its timed
repetitions."""

from __future__ import annotations

import argparse

from harness import config
from harness.cli import options
from harness.cli.output import console, progress_view, stdout_console
from harness.errors import HarnessError
from harness.measure import launcher as measure
from harness.measure.runner import harness_cpus_for
from harness.profile import recording as profiling
from harness.report import profiles as profile_report
from harness.servers import loadgen
from harness.store.results import PROFILE_SCHEMA_VERSION, load_profile, profile_path, save_profile


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser(
        "profile",
        help="CPU profiles (perf) of a run's default pairs, apart from its timed repetitions",
    )
    s.add_argument("results", nargs="?", default="latest", help="results file, run id or 'latest'")
    s.add_argument("--workloads", help="comma-separated names (default: every workload of the run)")
    s.add_argument(
        "--size", choices=("full", "quick"), help="input size (default: the run's own size)"
    )
    quick, full = (profiling.PERIOD_NS[size] / 1000 for size in ("quick", "full"))
    s.add_argument(
        "--period-us",
        metavar="US",
        help=f"CPU time between samples in microseconds (default: {quick:g} quick, {full:g} full)",
    )
    s.add_argument(
        "--seconds",
        metavar="S",
        help="servers: each closed-loop phase, unprofiled and profiled (default: 3 quick, 5 full)",
    )
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """CPU profiles of a measured run's default pairs, saved beside its results file; the timed
    results are never touched (profiling.py says how)."""
    results_dir, cache_dir = options.paths(args)
    path_of_run, run = options.load_measured(args.results, results_dir)
    size = args.size or run.config.size
    in_run = [w.name for w in run.workloads if w.sweep is None]
    names = options.workload_names(args.workloads) or in_run
    missing = [n for n in names if n not in in_run]
    if missing:
        raise HarnessError(
            f"--workloads: {', '.join(missing)} not measured in run {run.run_id} "
            f"(it has {', '.join(in_run) or 'no workload of a manifest'})"
        )
    selected = config.select(options.workloads(args), names)
    period_us = options.number(args.period_us, "--period-us", float, 0)
    seconds = options.number(args.seconds, "--seconds", float, 0)
    profile_options = profiling.ProfileOptions(
        size=size,
        period_ns=round(period_us * 1000) if period_us else profiling.PERIOD_NS[size],
        server_seconds=seconds or profiling.SERVER_SECONDS[size],
        cache_dir=cache_dir,
    )
    target = profile_path(path_of_run.parent, run.run_id)
    check = profiling.check_perf()
    if check.problem:
        save_profile(
            profiling.unprofiled(run, size, check, PROFILE_SCHEMA_VERSION), path_of_run.parent
        )
        raise HarnessError(
            f"{check.problem} (nothing profiled; noted in {target} for the report; "
            "the timed results are untouched)"
        )
    harness_cpus = harness_cpus_for(run.config.cpu_affinity)
    if harness_cpus:
        measure.pin_current_process(harness_cpus)
    launcher = measure.ensure_launcher(cache_dir)
    profile = profiling.profile_run(
        run,
        selected,
        profile_options,
        check,
        measure.SubprocessExecutor(launcher),
        launcher,
        progress_view,
        lambda: loadgen.find_oha(options.ROOT / "tools"),
        lambda p: save_profile(p, path_of_run.parent),
        earlier=load_profile(target) if target.exists() else None,
    )
    for line in profile_report.console_lines(profile):
        stdout_console.print(line, markup=False, soft_wrap=True)
    console.print(f"profile: {target}", markup=False)
    ok = all(i.ok for w in profile.workloads for i in w.implementations) and all(
        w.error is None for w in profile.workloads
    )
    return 0 if ok else 1
