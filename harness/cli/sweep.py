"""harness sweep: the selected workloads at every point of an axis (--param, else the
manifest's [sweep.SIZE]), measured as the workloads of one run."""

from __future__ import annotations

import argparse
import secrets

from harness import config
from harness.cli import options
from harness.cli.run import measure_run
from harness.errors import HarnessError
from harness.measure import sweep
from harness.model import CPUS_AXIS, Workload


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser(
        "sweep",
        help="measure workloads at several points of a parameter or Go runtime setting",
    )
    s.add_argument("--workloads", help="comma-separated names (default: those with [sweep])")
    s.add_argument("--size", choices=("full", "quick"), default="quick")
    s.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="the axis: a workload parameter (depth=10,12,14,16), GOGC, GOMEMLIMIT, GOMAXPROCS "
        "(Go only) or cpus=1,2 (both languages get N CPUs); more --param options are linked to it point by point (default: the "
        "manifest's [sweep.SIZE])",
    )
    s.add_argument(
        "--variants",
        action="store_true",
        help="also sweep the labelled variants (default: the Go and Rust defaults only)",
    )
    s.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting fixed at every point, e.g. --set GOGC=off for a GOMEMLIMIT sweep",
    )
    options.add_measurement(
        s, "rounds per point (full 10, quick 3); with adaptive rounds the minimum"
    )
    options.add_race_check(s)
    s.set_defaults(func=run, build_profile=False, build_profile_variants=False, sample_interval=0.1)


def run(args: argparse.Namespace) -> int:
    """Each selected workload at every point of its axis (--param, else the manifest's [sweep]),
    the points measured as the workloads of one run."""
    workloads = options.workloads(args)
    names = options.workload_names(args.workloads)
    if not names and args.param:
        raise HarnessError("--workloads: name the workloads to sweep along --param")
    if not names:  # the default sweeps: every manifest's [sweep.SIZE]; servers when rates are fixed
        names = [
            n
            for n, w in workloads.items()
            if args.size in w.sweeps and (w.kind == "batch" or _fixed_rates(args, w))
        ]
        if not names:
            raise HarnessError(f"--workloads: no workload has a [sweep.{args.size}] table")
    seed = options.number(args.seed, "--seed", int, 0)
    args.seed = str(secrets.randbelow(2**31) if seed is None else seed)
    points = []
    for workload in config.select(workloads, names):
        axis = (
            sweep.axis_from_options(args.param, args.set)
            if args.param
            else sweep.with_fixed(sweep.manifest_axis(workload, args.size), args.set)
        )
        if workload.kind == "server" and not _fixed_rates(args, workload):
            raise HarnessError(
                f"{workload.name}: a server sweep needs fixed rates (--rates, or [server.rates] "
                f"{args.size} in {workload.manifest_path}) so every point is loaded alike"
            )
        if workload.kind == "server" and axis.name == CPUS_AXIS:
            raise HarnessError(
                f"{workload.name}: a server's CPUs are the run's (--pin/--cpus), chosen beside the "
                "load generator's; sweep cpus over batch workloads"
            )
        if not args.variants:  # the curve is the language pair's; variants multiply the time
            workload = config.defaults_only(workload)
        points += sweep.expand(workload, axis, args.size, int(args.seed), "sweep")
    return measure_run(args, points)


def _fixed_rates(args: argparse.Namespace, workload: Workload) -> bool:
    return bool(args.rates or (workload.server and workload.server.rates_rps.get(args.size)))
