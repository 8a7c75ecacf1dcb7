"""What several commands share: their defaults, the folders of workloads they see, the options
they add alike, and the checking of option values: a bad value is one line naming the option."""

from __future__ import annotations

import argparse
import os
import secrets
from dataclasses import replace
from pathlib import Path

from harness import config
from harness.errors import HarnessError
from harness.measure import cpus as program_cpus
from harness.measure import launcher as measure
from harness.measure import sweep
from harness.measure.schedule import ORDERS
from harness.model import CPUS_AXIS, Inventory, Run, RunConfig, StoppingRule, Workload
from harness.servers.protocol import default_settings
from harness.store import history
from harness.store.results import load_run

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = {  # size -> (repetitions, warm-ups, timeout seconds)
    "full": (10, 1, 300.0),
    "quick": (3, 1, 60.0),
}
# Adaptive repetitions, on by default for full runs (quick runs stay a fixed smoke run): add
# balanced blocks of rounds until the Go/Rust ratio CIs are within ±TARGET_CI_PCT, at most
# MAX_ROUNDS rounds, and once the minimum is done at most MAX_SECONDS_PER_PROGRAM of measuring for
# each program of the workload's round. The budget is per program, not per workload: sha256 grew
# to four implementations and a 60 s workload budget then stopped `harness ab` (8 programs of
# ~1.2 s a round) at round 6, where no verdict could be significant. 12 s a program keeps make
# bench's batch budget where the 60 s per workload had it (30 batch programs, 6 workloads), and
# the minimum of rounds always comes first (runner.stop_reason).
TARGET_CI_PCT = 2.0
MAX_ROUNDS = 40
MAX_SECONDS_PER_PROGRAM = 12.0
# harness ab gates on each change: at least 20 rounds. 10 would make the signed-rank test's smallest
# p 2 / 2**10 = 0.002, but its power, not its floor, is what counts: in the gate benchmark a measured
# +4 % change that reached its ±1.5 % CI after 12 rounds (CI [+3.3 %, +6.0 %]) had p = 0.034 from
# two outlying rounds, 0.10 after the false-discovery adjustment, and was missed.
AB_MIN_ROUNDS = 20
AB_TARGET_CI_PCT = 1.5
# ab's budget per program after its minimum: room for a few blocks more when the CIs are wide.
AB_MAX_SECONDS_PER_PROGRAM = 30.0
# harness ab's noise threshold: base and head paired round by round vary far less than two separate
# runs, so a smaller change can fail the gate without false alarms (benchmarks/test_gate.py measures
# both on this machine; docs/regression-gate.md has the figures). compare keeps 5 % for stored runs.
AB_DEFAULT_THRESHOLD_PCT = 3.0
# Replicates of every server rate in ab, whatever the size: the paired t-test needs a few to say
# anything, and each costs about 35 s per server workload in quick size (4 servers x 2 rates).
AB_SERVER_REPLICATES = 5

PROJECT_FILE = "harness.toml"  # in the current folder: a team's own workloads folders


def workloads_dirs(args: argparse.Namespace, cwd: Path | None = None) -> list[Path]:
    """The folders whose manifests this command sees: every --workloads-dir given, else the
    `workloads_dirs` of ./harness.toml (relative to that file), else this repository's own."""
    if args.workloads_dir:
        return [Path(d) for d in args.workloads_dir]
    project = (cwd or Path.cwd()) / PROJECT_FILE
    if project.is_file():
        data = config.read_toml(project, "harness settings")
        config.reject_unknown_keys(data, ("workloads_dirs",), os.fspath(project))
        dirs = data.get("workloads_dirs")
        if not isinstance(dirs, list) or not dirs or not all(isinstance(d, str) for d in dirs):
            raise HarnessError(
                f"{project}: field 'workloads_dirs' must be a non-empty list of folder paths"
            )
        return [project.parent / d for d in dirs]
    return [ROOT / "workloads"]


def inventory(args: argparse.Namespace, selected: list[Workload]) -> Inventory | None:
    """--hosts FILE, read and checked (one line naming the file and field), or None."""
    path = getattr(args, "hosts", None)
    if not path:
        return None
    if not any(w.kind == "server" for w in selected):
        raise HarnessError(f"--hosts {path}: load hosts serve server workloads; none is selected")
    return config.load_inventory(Path(path))


def workloads(args: argparse.Namespace) -> dict:
    return config.load_workloads(*workloads_dirs(args))


def paths(args: argparse.Namespace) -> tuple[Path, Path]:
    return Path(args.results_dir), Path(args.cache_dir)


def workload_names(value: str | None) -> list[str]:
    return [n.strip() for n in value.split(",") if n.strip()] if value else []


def _cpus(value: str, count: str | None = None) -> tuple[int, ...] | None:
    """--pin: 'none', 'auto' (the last available CPU) or a comma list like '1' or '0,1';
    --cpus N (`count`): the last N available CPUs, in place of --pin auto."""
    available = measure.available_cpus()
    if count is not None:
        if value != "auto":
            raise HarnessError(f"--cpus {count} and --pin {value}: give one of them")
        n = number(count, "--cpus", int, 1)
        return program_cpus.last_cpus(n, available)
    if value == "none":
        return None
    if value == "auto":
        return (available[-1],)
    try:
        cpus = tuple(int(c) for c in value.split(","))
    except ValueError as exc:
        raise HarnessError(
            f"--pin: expected 'auto', 'none' or CPU numbers like '1', got {value!r}"
        ) from exc
    missing = set(cpus) - set(available)
    if missing:
        raise HarnessError(
            f"--pin: CPU(s) {sorted(missing)} not available; this process may use {available}"
        )
    return cpus


def at_each_cpu_count(args: argparse.Namespace, selected: list[Workload]) -> list[Workload]:
    """`cpus = "each"` workloads as one point per CPU count (1, 2, ... this machine's CPUs), the
    others unchanged; only under --pin auto without --cpus (the user's own choice wins). Call
    before the harness pins itself: the counts come from the CPUs this process may use."""
    if args.pin != "auto" or getattr(args, "cpus", None) is not None:
        return selected
    if not any(w.cpus_each for w in selected):
        return selected
    seed = number(args.seed, "--seed", int, 0)
    args.seed = str(secrets.randbelow(2**31) if seed is None else seed)
    available = measure.available_cpus()
    axis = sweep.Axis(CPUS_AXIS, tuple(map(str, program_cpus.counts_up_to(len(available)))))
    expanded: list[Workload] = []
    for workload in selected:
        if workload.cpus_each:
            expanded += sweep.expand(workload, axis, args.size, int(args.seed), "cpus", available)
        else:
            expanded.append(workload)
    return expanded


def loadgen_cpus(
    args: argparse.Namespace, server_cpus: tuple[int, ...] | None
) -> tuple[int, ...] | None:
    """--loadgen-cpus '0' or '2,3': the load generator's CPUs, apart from the server's (the user
    asked for separation, so an overlap is an error, not a silent share); None when not given
    (then the default: the CPUs the server does not use, or unpinned when there are none)."""
    value = getattr(args, "loadgen_cpus", None)
    if value is None:
        return None
    items = [c.strip() for c in value.split(",")]
    if not value.strip() or not all(items):
        raise HarnessError(f"--loadgen-cpus: expected CPU numbers like '0' or '0,1', got {value!r}")
    try:
        cpus = tuple(sorted({int(c) for c in items}))
    except ValueError as exc:
        raise HarnessError(
            f"--loadgen-cpus: expected CPU numbers like '0' or '0,1', got {value!r}"
        ) from exc
    available = measure.available_cpus()
    missing = sorted(set(cpus) - set(available))
    if missing:
        raise HarnessError(
            f"--loadgen-cpus: CPU(s) {','.join(map(str, missing))} not available; this process "
            f"may use {','.join(map(str, available))}"
        )
    given = ",".join(map(str, cpus))
    if server_cpus is None:
        raise HarnessError(
            f"--loadgen-cpus {given}: the server is unpinned (--pin none) and may run on every "
            "CPU; pin it apart (--pin/--cpus) or leave --loadgen-cpus out to share"
        )
    overlap = sorted(set(cpus) & set(server_cpus))
    if overlap:
        raise HarnessError(
            f"--loadgen-cpus {given} overlaps the server's CPUs (--pin/--cpus) "
            f"{','.join(map(str, server_cpus))}; give disjoint sets or leave --loadgen-cpus out "
            "to share"
        )
    return cpus


def work_dir(cache_dir: Path) -> Path:
    folder = cache_dir.resolve() / "server-runs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def build_profile(args: argparse.Namespace) -> bool:
    """Clean + incremental build timing: on by default for full runs (cached per source hash)."""
    return args.size == "full" if args.build_profile is None else args.build_profile


def number(value: str | None, option: str, kind: type, low: float, high: float | None = None):
    """An option's value as int or float within [low, high] (low excluded for floats), or a
    one-line error naming the option."""
    if value is None:
        return None
    try:
        number = kind(value)
    except ValueError as exc:
        raise HarnessError(
            f"{option}: expected {'an integer' if kind is int else 'a number'}, got {value!r}"
        ) from exc
    if kind is float and not low < number <= (high if high is not None else float("inf")):
        bound = f"in ({low:g}, {high:g}]" if high is not None else f"above {low:g}"
        raise HarnessError(f"{option}: must be {bound}, got {value}")
    if kind is int and (number < low or (high is not None and number > high)):
        raise HarnessError(f"{option}: must be at least {low:g}, got {value}")
    return number


def _rates(value: str | None) -> tuple[float, ...]:
    """--rates '2000,4000,8000': offered rates in requests/s, each above 0; () when not given."""
    if value is None:
        return ()
    rates = []
    for item in value.split(","):
        rate = number(item.strip(), "--rates", float, 0.0)
        rates.append(rate)
    if len(set(rates)) != len(rates):
        raise HarnessError(f"--rates: each rate once, got {value!r}")
    return tuple(sorted(rates))


def server_settings(
    args: argparse.Namespace,
    measured_cpus: tuple[int, ...] | None,
    harness_cpus: tuple[int, ...] | None,
    replicates: int | None = None,
    *,
    loadgen_build: str,
):
    """The server protocol's settings for this size, with --rates, --replicates, --loadgen-cpus
    and --phase-seconds applied (`replicates`: the command's own default when the option is
    absent; `harness_cpus`: the load generator's CPUs unless --loadgen-cpus says otherwise;
    `loadgen_build`: loadgen.describe_oha of the binary that will run)."""
    chosen = number(getattr(args, "replicates", None), "--replicates", int, 1)
    settings = default_settings(
        args.size,
        loadgen_build,
        measured_cpus,
        loadgen_cpus(args, measured_cpus) or harness_cpus,
        replicates=chosen or replicates,
        rates_rps=_rates(getattr(args, "rates", None)),
    )
    extra = number(getattr(args, "extra_replicates", None), "--extra-replicates", int, 0)
    if extra is not None:
        settings = replace(settings, extra_replicates=extra)
    seconds = number(getattr(args, "phase_seconds", None), "--phase-seconds", float, 0)
    if seconds:  # every fixed-rate phase this long, whatever the request target or GC rate says
        settings = replace(
            settings, min_phase_seconds=seconds, max_phase_seconds=seconds, gc_phase_margin=0.0
        )
    return settings


def _stopping(
    args: argparse.Namespace,
    minimum: int,
    adaptive: bool,
    target_pct: float,
    seconds_per_program: float = MAX_SECONDS_PER_PROGRAM,
) -> StoppingRule | None:
    """Adaptive when `adaptive` (the command's default) or when any adaptive option is given;
    --repetitions alone asks for a fixed number of rounds."""
    target = number(args.target_ci, "--target-ci", float, 0, 50)
    max_rounds = number(args.max_rounds, "--max-rounds", int, 1)
    max_seconds = number(args.max_seconds, "--max-seconds", float, 0)
    asked = (target, max_rounds, max_seconds, args.min_rounds) != (None, None, None, None)
    if not asked and (not adaptive or args.repetitions is not None):
        return None
    rule = StoppingRule(
        target_ci_half_width=(target or target_pct) / 100,
        max_rounds=max_rounds or max(MAX_ROUNDS, minimum),
        max_seconds=max_seconds or seconds_per_program,
        budget_given=max_seconds is not None,
    )
    if rule.max_rounds < minimum:
        which = "--min-rounds" if args.min_rounds is not None else "--repetitions"
        raise HarnessError(
            f"{which}: the minimum of {minimum} rounds is above --max-rounds {rule.max_rounds}"
        )
    return rule


def run_config(
    args: argparse.Namespace,
    selected,
    adaptive: bool,
    minimum_repetitions: int = 1,
    target_pct: float = TARGET_CI_PCT,
    seconds_per_program: float = MAX_SECONDS_PER_PROGRAM,
) -> RunConfig:
    """The measurement options shared by run and ab, checked, as one RunConfig. --min-rounds
    sets the minimum of adaptive rounds (lowering ab's 20 is the user's explicit choice)."""
    repetitions, warmups, timeout = DEFAULTS[args.size]
    _rates(getattr(args, "rates", None))  # server options: refused before anything is built
    number(getattr(args, "phase_seconds", None), "--phase-seconds", float, 0)
    number(getattr(args, "extra_replicates", None), "--extra-replicates", int, 0)
    number(getattr(args, "replicates", None), "--replicates", int, 1)
    chosen = number(args.repetitions, "--repetitions", int, 1)
    least = number(args.min_rounds, "--min-rounds", int, 1)
    if chosen is not None and least is not None and chosen != least:
        raise HarnessError(
            f"--min-rounds {least} and --repetitions {chosen}: give one (with adaptive rounds "
            "both set the minimum)"
        )
    chosen = least or chosen
    repetitions = chosen or max(minimum_repetitions, repetitions)
    seed = number(args.seed, "--seed", int, 0)
    config = RunConfig(
        size=args.size,
        repetitions=repetitions,
        warmups=warmups if getattr(args, "warmups", None) is None else args.warmups,
        timeout_seconds=getattr(args, "timeout", None) or timeout,
        cpu_affinity=_cpus(args.pin, getattr(args, "cpus", None)),
        sample_interval_seconds=getattr(args, "sample_interval", 0.1),
        workloads=tuple(w.name for w in selected),
        order=args.order,
        reverse=args.reverse,
        seed=secrets.randbelow(2**31) if seed is None else seed,
        stopping=_stopping(args, repetitions, adaptive, target_pct, seconds_per_program),
        defaults_only=getattr(args, "defaults_only", False),
    )
    loadgen_cpus(args, config.cpu_affinity)  # refused before anything is built
    return config


def load_measured(spec: str, results_dir: Path) -> tuple[Path, Run]:
    """The run `spec` names, refused when it holds no workload results: a report or export of
    nothing would look like a run that measured nothing wrong."""
    path = history.resolve(spec, results_dir)
    run = load_run(path)
    if not run.workloads:
        raise HarnessError(f"{path}: run {run.run_id} ({run.status}) has no workload results")
    return path, run


def add_defaults_only(s: argparse.ArgumentParser) -> None:
    """--defaults-only, for run and build: `make bench QUICK=1`, the smoke run, passes it."""
    s.add_argument(
        "--defaults-only",
        action="store_true",
        help="only each workload's Go and Rust defaults (and the back ends they call), not the "
        "labelled variants",
    )


def selection(args: argparse.Namespace) -> list[Workload]:
    """The workloads --workloads names (all by default), with --defaults-only applied."""
    selected = config.select(workloads(args), workload_names(args.workloads))
    if getattr(args, "defaults_only", False):
        return [config.defaults_only(w) for w in selected]
    return selected


def add_race_check(s: argparse.ArgumentParser) -> None:
    """--race-check / --no-race-check, for the commands that measure through run_suite."""
    s.add_argument(
        "--race-check",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="build each Go program of a concurrent workload with -race and run it once at quick "
        "size before measuring; a race fails it (default: on; workloads/README.md, Race detector)",
    )


def add_measurement(s: argparse.ArgumentParser, repetitions_help: str) -> None:
    """Options shared by run and ab: rounds, order, pinning and the stopping rule. Numbers are
    parsed by run_config, so a bad value is one line naming the option."""
    s.add_argument("--repetitions", help=repetitions_help)
    s.add_argument(
        "--pin",
        default="auto",
        help="CPUs for the measured process: auto (last CPU), none, or e.g. '1' (default auto)",
    )
    s.add_argument(
        "--cpus",
        metavar="N",
        help="give every measured program N CPUs (the last N) and tell both runtimes N; "
        'in place of --pin auto, and of the 1, 2, ... counts of cpus = "each" workloads',
    )
    s.add_argument(
        "--order",
        choices=ORDERS,
        default="latin",
        help="order within a round: latin (balanced Latin square, default), random, given",
    )
    s.add_argument("--seed", help="seed of the order (default: a random one, recorded)")
    s.add_argument(
        "--reverse",
        action="store_true",
        help="run every round's order backwards (to check that the order does not move a ratio)",
    )
    s.add_argument(
        "--target-ci",
        metavar="PCT",
        help="add rounds until each targeted ratio's 95 %% CI is within ±PCT (0 < PCT <= 50; "
        f"default {TARGET_CI_PCT:g} for full runs and ab, off for quick runs)",
    )
    s.add_argument(
        "--min-rounds",
        help="adaptive rounds: never fewer than this, whatever the time budget (run: 10 full; "
        f"ab: {AB_MIN_ROUNDS}); lowering it is the only way to stop sooner",
    )
    s.add_argument("--max-rounds", help=f"rounds budget per workload (default {MAX_ROUNDS})")
    s.add_argument(
        "--max-seconds",
        help="measuring budget in seconds per program of a round, after the minimum of rounds "
        f"(run {MAX_SECONDS_PER_PROGRAM:g}, ab {AB_MAX_SECONDS_PER_PROGRAM:g}); one that cannot "
        "fit the minimum is an error",
    )
    s.add_argument(
        "--rates",
        metavar="RPS,...",
        help="server workloads: offered rates in requests/s, e.g. 2000,4000,8000 (default: the "
        "manifest's [server.rates], else fractions of the slower default's saturation)",
    )
    s.add_argument(
        "--replicates",
        metavar="N",
        help="server workloads: replicates of every rate, each on a fresh server (full 5, quick 2)",
    )
    s.add_argument(
        "--extra-replicates",
        metavar="N",
        help="server workloads: at most N replicates added in place of those CPU steal disturbed "
        "(full 2, quick 0)",
    )
    s.add_argument(
        "--loadgen-cpus",
        metavar="CPUS",
        help="server workloads: the load generator's CPUs, e.g. '0' or '0,1', apart from the "
        "server's (default: the CPUs the server does not use, or unpinned when there are none, "
        "and then the phases say they shared)",
    )
    s.add_argument(
        "--phase-seconds",
        metavar="S",
        help="server workloads: every fixed-rate phase lasts S seconds (default: long enough for "
        "20,000 requests, 5-10 s full, 3 s quick, and for a workload with [server] "
        "min_gc_cycles long enough for them at the GC rate Go's probe showed, up to 4x that)",
    )
