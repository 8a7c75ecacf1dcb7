"""Command line: each subcommand parses its arguments and calls one pipeline function."""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
from dataclasses import replace
from pathlib import Path

from rich.table import Table

from harness import config
from harness.analysis import capacity, compare, decision, trend
from harness.analysis.summaries import analyse_run
from harness.build.builder import Builder
from harness.cli import gate, options
from harness.cli.output import console, progress_view, stdout_console
from harness.errors import HarnessError
from harness.measure import ab as abrun
from harness.measure import launcher as measure
from harness.measure import machine, noise, sweep
from harness.measure.runner import (
    RunInterrupted,
    build_all,
    check_budgets_before_building,
    harness_cpus_for,
    run_suite,
)
from harness.model import Run, Workload
from harness.profile import recording as profiling
from harness.report import formatting, machine_block
from harness.report import html as report
from harness.report import profiles as profile_report
from harness.report.export import EXPORTERS, write_brief
from harness.scaffold import pair as scaffold
from harness.servers import loadgen
from harness.servers.protocol import ServerRunner
from harness.store import history
from harness.store.results import (
    PROFILE_SCHEMA_VERSION,
    load_profile,
    load_run,
    profile_path,
    save_profile,
    save_run_file,
)


def cmd_list(args: argparse.Namespace) -> int:
    workloads = options.workloads(args)
    table = Table(title="Workloads")
    for column in ("name", "category", "kind", "implementations", "description"):
        table.add_column(column)
    for w in workloads.values():
        impls = ", ".join(
            f"{i.key} ({'go+rust: ' if i.links else ''}{i.library})" for i in w.implementations
        )
        table.add_row(w.name, w.category, w.kind, impls, w.description)
    stdout_console.print(table)
    return 0


def cmd_new(args: argparse.Namespace) -> int:
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


def cmd_build(args: argparse.Namespace) -> int:
    _, cache_dir = options.paths(args)
    selected = config.select(options.workloads(args), options.workload_names(args.workloads))
    builder = Builder(cache_dir)
    records = [r for w in selected for r in build_all(w, builder, progress_view).values()]
    return 0 if all(r.ok for r in records) else 1


def cmd_run(args: argparse.Namespace) -> int:
    selected = config.select(options.workloads(args), options.workload_names(args.workloads))
    return _measure(args, selected)


def cmd_sweep(args: argparse.Namespace) -> int:
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
        if not args.variants:  # the curve is the language pair's; variants multiply the time
            workload = replace(
                workload, implementations=tuple(i for i in workload.implementations if i.is_default)
            )
        points += sweep.expand(workload, axis, args.size, int(args.seed), "sweep")
    return _measure(args, points)


def _fixed_rates(args: argparse.Namespace, workload: Workload) -> bool:
    return bool(args.rates or (workload.server and workload.server.rates_rps.get(args.size)))


def _measure(args: argparse.Namespace, selected: list[Workload]) -> int:
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
        server_settings = options.server_settings(args, measured_cpus, harness_cpus)
        run_server = ServerRunner(
            oha, server_settings, options.work_dir(cache_dir), measure.ensure_launcher(cache_dir)
        )
    run_config = replace(run_config, server=server_settings)
    if harness_cpus:
        measure.pin_current_process(harness_cpus)
    run, path = run_suite(
        selected,
        run_config,
        machine.describe(options.ROOT, harness_cpus),
        Builder(cache_dir, profile=options.build_profile(args)),
        measure.SubprocessExecutor(measure.ensure_launcher(cache_dir)),
        results_dir,
        cache_dir,
        progress_view,
        run_server=run_server,
    )
    try:
        print_summary(run)
    except KeyboardInterrupt:  # the run is saved complete: its verdict stands, and says so
        console.print("harness: summary interrupted; the run itself is complete", markup=False)
    console.print(f"results: {path}", markup=False)
    return 0 if all(w.status == "ok" for w in run.workloads) else 1


def print_summary(run: Run) -> None:
    batch = Table(title=f"Go vs Rust — {run.run_id} ({run.config.size})")
    for column in (
        "workload",
        "impl",
        "median wall",
        "CV",
        "peak RSS",
        "throughput",
        "GC pauses",
        "status",
    ):
        batch.add_column(column)
    # Imported here, not at the top, only to keep this change inside print_summary.
    from harness.report.servers import CONSOLE_COLUMNS, console_rows

    servers = Table(
        title="Servers: medians over replicates per offered rate (open loop, corrected for "
        "coordinated omission); saturation: closed-loop probes, median achieved"
    )
    for column in CONSOLE_COLUMNS:
        servers.add_column(column)
    analyses = analyse_run(run)
    for analysis in analyses:
        workload = analysis.result
        if workload.kind == "server":
            for row in console_rows(workload):
                servers.add_row(*row)
            continue
        for s in analysis.implementations:
            m = s.metrics
            wall = m.get("wall_seconds")
            gc = (
                "no GC"
                if not s.has_gc
                else (
                    f"{m['gc_count'].median:.0f}, max {formatting.seconds(max(s.gc_pauses_seconds, default=0))}"
                    if "gc_count" in m
                    else "–"
                )
            )
            batch.add_row(
                workload.name,
                s.key,
                formatting.seconds(wall.median) if wall else "–",
                formatting.percent(wall.cv) if wall else "–",
                formatting.size(m["peak_rss_bytes"].median) if "peak_rss_bytes" in m else "–",
                formatting.rate(m["throughput"].median, m["throughput"].unit)
                if "throughput" in m
                else "–",
                gc,
                s.status if s.status != "ok" or workload.status == "ok" else workload.status,
            )
    if batch.row_count:
        stdout_console.print(batch)
    if servers.row_count:
        stdout_console.print(servers)
    for analysis in analyses:
        for c in analysis.comparisons:
            if c.metric == "wall_seconds":
                stdout_console.print(
                    f"{analysis.result.name}: wall Go/Rust {formatting.ratio_with_ci(c.ratio, c.ci_low, c.ci_high)}"
                    f" — {formatting.verdict(c)}",
                    markup=False,
                )
        if analysis.result.status != "ok":
            stdout_console.print(
                f"{analysis.result.name}: {analysis.result.status.upper()}: "
                f"{analysis.result.error}",
                markup=False,
            )
    for warning in noise.run_noise(run, compare.DEFAULT_THRESHOLD).warnings:
        stdout_console.print(f"noise: {warning}", markup=False, soft_wrap=True)


def cmd_report(args: argparse.Namespace) -> int:
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


def cmd_profile(args: argparse.Namespace) -> int:
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


def cmd_export(args: argparse.Namespace) -> int:
    results_dir, _ = options.paths(args)
    if args.brief and args.format not in (None, "markdown"):
        raise HarnessError(
            f"export: --brief writes Markdown, not {args.format}; drop --format or use markdown"
        )
    _, run = options.load_measured(args.results, results_dir)
    if not args.brief:
        sys.stdout.write(EXPORTERS[args.format or "csv"](run))
        return 0
    text, written = write_brief(
        run,
        Path(args.out),
        team=decision.load_team_config(Path(args.team) if args.team else None),
        capacity_config=capacity.load_capacity_config(
            Path(args.capacity) if args.capacity else None
        ),
    )
    sys.stdout.write(text)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0


def cmd_machine(args: argparse.Namespace) -> int:
    """The machine block a workload doc quotes (harness/report/machine_block.py), from a results file."""
    results_dir, _ = options.paths(args)
    _, run = options.load_measured(args.results, results_dir)
    sys.stdout.write(machine_block.render(run))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
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


def cmd_ab(args: argparse.Namespace) -> int:
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
        settings = options.server_settings(
            args, run_config.cpu_affinity, harness_cpus, replicates=options.AB_SERVER_REPLICATES
        )
        run_config = replace(run_config, server=settings)
        run_server = ServerRunner(
            loadgen.find_oha(options.ROOT / "tools"),
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
        progress_view,
        allow_incomplete=args.allow_incomplete,
        run_server=run_server,
    )
    for run in (base, head):
        save_run_file(run, results_dir / "ab")
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


def cmd_history(args: argparse.Namespace) -> int:
    results_dir, _ = options.paths(args)
    entries = history.refresh(results_dir)
    skipped = [f"unreadable, not listed: {u.reason}" for u in history.unreadable(results_dir)]
    if args.json:
        sys.stdout.write(history.entries_as_json(entries))
        for line in skipped:  # stdout stays one JSON document
            print(f"harness: {line}", file=sys.stderr)
        return 0
    table = Table(title=f"Runs in {results_dir}")
    for column in (
        "run id",
        "status",
        "commit",
        "branch",
        "size",
        "machine",
        "toolchains",
        "workloads",
    ):
        table.add_column(column)
    for e in entries:
        commit = (e.git_commit or "–")[:10] + (" (dirty)" if e.git_dirty else "")
        table.add_row(
            e.run_id,
            e.status,
            commit,
            e.git_branch or "–",
            e.size,
            e.machine_id,
            e.toolchains,
            e.workloads,
        )
    stdout_console.print(table)
    for line in skipped:
        stdout_console.print(line, markup=False, soft_wrap=True)
    return 0


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
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list", help="list the workloads with category, kind and implementations")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("build", help="build implementations (cached by source hash)")
    s.add_argument("--workloads", help="comma-separated names (default: all)")
    s.set_defaults(func=cmd_build)

    s = sub.add_parser("run", help="build, measure and save results/<run-id>.json")
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
    s.add_argument(
        "--sample-interval",
        type=float,
        default=0.1,
        help="psutil sampling interval in seconds for time series (0 disables)",
    )
    s.set_defaults(func=cmd_run)

    s = sub.add_parser(
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
        help="the axis: a workload parameter (depth=10,12,14,16) or GOGC, GOMEMLIMIT, GOMAXPROCS "
        "(Go only); more --param options are linked to it point by point (default: the "
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
    s.set_defaults(func=cmd_sweep, build_profile=False, sample_interval=0.1)

    s = sub.add_parser("report", help="render reports/<run-id>.html from a results file")
    s.add_argument("results", nargs="?", default="latest", help="results file, run id or 'latest'")
    s.add_argument("--reports-dir", default="reports")
    s.add_argument("--debug", action="store_true", help="also write the report context as JSON")
    s.add_argument("--team", help="decision-matrix scores (default: config/team.toml if present)")
    s.add_argument(
        "--capacity", help="capacity/cost assumptions (default: built-in, as config/capacity.toml)"
    )
    s.set_defaults(func=cmd_report)

    s = sub.add_parser(
        "profile",
        help="CPU profiles (perf) of a run's default pairs, apart from its timed repetitions",
    )
    s.add_argument("results", nargs="?", default="latest", help="results file, run id or 'latest'")
    s.add_argument("--workloads", help="comma-separated names (default: every workload of the run)")
    s.add_argument(
        "--size", choices=("full", "quick"), help="input size (default: the run's own size)"
    )
    s.add_argument(
        "--period-us",
        metavar="US",
        help="CPU time between samples in microseconds (default: 100 quick, 1000 full)",
    )
    s.add_argument(
        "--seconds",
        metavar="S",
        help="servers: each closed-loop phase, unprofiled and profiled (default: 3 quick, 5 full)",
    )
    s.set_defaults(func=cmd_profile)

    s = sub.add_parser("compare", help="compare two runs; exit 1 on a significant regression")
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
    s.add_argument(
        "--allow-inconclusive",
        action="store_true",
        help="exit 0 rather than 3 when a targeted verdict could not have called a change of its "
        "threshold's size (its MDC is above the threshold)",
    )
    s.set_defaults(func=cmd_compare)

    s = sub.add_parser(
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
    s.add_argument(
        "--allow-inconclusive",
        action="store_true",
        help="exit 0 rather than 3 when a targeted verdict could not have called a change of its "
        "threshold's size (its MDC is above the threshold)",
    )
    s.set_defaults(func=cmd_ab)

    s = sub.add_parser(
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
    s.set_defaults(func=cmd_new)

    s = sub.add_parser("history", help="list the runs in the results folder")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_history)

    s = sub.add_parser("export", help="print a results file as csv, markdown, benchstat or bmf")
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
    s.set_defaults(func=cmd_export)
    s = sub.add_parser(
        "machine", help="print the machine a results file measured, as a block for workload docs"
    )
    s.add_argument("results", nargs="?", default="latest", help="results file, run id or 'latest'")
    s.set_defaults(func=cmd_machine)
    return p


def _terminate(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)  # so children are killed and results saved
    try:
        return args.func(args)
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return 2  # also `compare`'s documented "error" status
    except KeyboardInterrupt as exc:
        measure.kill_all_children()
        print(
            f"harness: {exc if isinstance(exc, RunInterrupted) else 'interrupted'}", file=sys.stderr
        )
        return 130
    except BrokenPipeError:
        return 0
