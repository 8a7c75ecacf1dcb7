"""Capacity and cost projection: measured work per CPU-second and memory per process -> the cores,
memory and monthly cost a target load would need, per workload and language.

Why per CPU-second rather than per wall-second: a program that burns extra cores (Go's concurrent
GC workers, runtime threads) must be charged for them, so the unit of capacity is the work done per
second of CPU time the kernel accounted to the process (user + sys). Only measured figures are used:
a failed, diverging or missing implementation gets a row that says "not measured" (None), never an
estimate.

Formula, per workload and language (docs/decision-matrix.md explains it for readers):

    cores     = ceil(target_load x headroom / work_per_core_second)
    processes = ceil(cores / cores_per_process)      # 1 for batch; the server's parallelism
    instances = ceil(cores / cores_per_instance)     # only when an instance shape is configured
    memory    = processes x peak_rss_per_process x headroom
    cost/month = cores x price_per_vcpu_hour x hours + memory_GiB x price_per_gb_hour x hours
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from harness.analysis import replicates, stats, units
from harness.analysis.concurrency import (
    ConcurrencyAnalysis,
    analyse_concurrency,
    cpu_points,
    efficiency_near,
)
from harness.analysis.replicates import RateSummary
from harness.config import read_toml, reject_unknown_keys
from harness.errors import HarnessError
from harness.model import DEFAULT_VARIANT, ImplementationResult, Run, WorkloadResult

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CONFIG_PATH = ROOT / "config" / "capacity.toml"
GIB = 1 << 30
_CEIL_TOLERANCE = 1e-9  # 13.000000000000002 cores is 13 cores, not 14


@dataclass(frozen=True)
class LoadSettings:
    """What to plan for; the [defaults] table, or a [workloads.<name>] table merged over it.

    Targets are per unit so one default table can serve workloads measured in different units:
    servers read requests/s, batch workloads bytes/s or items/s as their manifest's `throughput`.
    """

    target_requests_per_second: float
    target_bytes_per_second: float
    target_items_per_second: float
    headroom: float  # 1.3 = plan 30 % spare
    cores_per_instance: int | None = None  # instance shape; None = do not count instances
    explicit_fields: tuple[str, ...] = ()  # fields a [workloads.<name>] table set itself


@dataclass(frozen=True)
class CapacityConfig:
    source: str  # the file it came from, or "built-in defaults"
    hours_per_month: float
    price_per_vcpu_hour: float
    price_per_gb_hour: float  # GB = GiB (2^30 bytes), as cloud memory is billed
    defaults: LoadSettings
    workloads: dict[str, LoadSettings] = field(default_factory=dict)

    def settings_for(self, workload: str) -> LoadSettings:
        return self.workloads.get(workload, self.defaults)


# The values of config/capacity.toml (a test checks that the two agree). Prices are examples.
DEFAULT_CONFIG = CapacityConfig(
    source="built-in defaults",
    hours_per_month=730.0,
    price_per_vcpu_hour=0.04,
    price_per_gb_hour=0.005,
    defaults=LoadSettings(
        target_requests_per_second=100_000.0,
        target_bytes_per_second=1_000_000_000.0,
        target_items_per_second=1_000_000.0,
        headroom=1.3,
        cores_per_instance=4,
    ),
)

_TOP_FIELDS = (
    "hours_per_month",
    "price_per_vcpu_hour",
    "price_per_gb_hour",
    "defaults",
    "workloads",
)
_LOAD_FIELDS = tuple(f.name for f in fields(LoadSettings) if f.name != "explicit_fields")


def describe_load(value: float, unit: str) -> str:
    """A target load or a per-core rate in its unit, short: "100,000 req/s", "1000 MB/s"."""
    if unit.startswith("requests"):
        return f"{value:,.0f} req/s"
    return units.rate(value, unit)


# --- loading -------------------------------------------------------------------------------------


def _number(table: Mapping, key: str, where: str, minimum: float, inclusive: bool) -> float:
    value = table[key]
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = value >= minimum if inclusive else value > minimum
    if not ok:
        bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
        raise HarnessError(f"{where}: field '{key}' must be a number {bound}, got {value!r}")
    return float(value)


def _load_settings(table: object, base: LoadSettings | None, where: str) -> LoadSettings:
    """A [defaults] table (base None: every field but the instance shape required) or a workload's
    table merged over the defaults."""
    if not isinstance(table, dict):
        raise HarnessError(f"{where}: must be a table")
    reject_unknown_keys(table, _LOAD_FIELDS, where)
    values: dict[str, object] = {}
    for key in _LOAD_FIELDS:
        if key not in table:
            if base is None and key != "cores_per_instance":
                raise HarnessError(f"{where}: missing field '{key}'")
            continue
        if key == "cores_per_instance":
            value = table[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise HarnessError(
                    f"{where}: field 'cores_per_instance' must be an integer >= 1, got {value!r}"
                )
            values[key] = value
        elif key == "headroom":
            values[key] = _number(table, key, where, 1.0, inclusive=True)
        else:
            values[key] = _number(table, key, where, 0.0, inclusive=False)
    if base is None:
        return LoadSettings(**values)  # type: ignore[arg-type]
    explicit = tuple(k for k in _LOAD_FIELDS if k in table)
    return replace(base, **values, explicit_fields=explicit)  # type: ignore[arg-type]


def parse_capacity_config(data: Mapping, where: str) -> CapacityConfig:
    """Validate parsed TOML; `where` (the file) is only used to name it in errors."""
    reject_unknown_keys(data, _TOP_FIELDS, f"{where} (top level)")
    for key in ("hours_per_month", "price_per_vcpu_hour", "price_per_gb_hour", "defaults"):
        if key not in data:
            raise HarnessError(f"{where}: missing field '{key}'")
    hours = _number(data, "hours_per_month", where, 0.0, inclusive=False)
    if hours > 744:
        raise HarnessError(
            f"{where}: field 'hours_per_month' must be at most 744 (31 days), got {hours:g}"
        )
    defaults = _load_settings(data["defaults"], None, f"{where} [defaults]")
    workload_tables = data.get("workloads", {})
    if not isinstance(workload_tables, dict):
        raise HarnessError(f"{where}: field 'workloads' must be a table of [workloads.<name>]")
    return CapacityConfig(
        source=where,
        hours_per_month=hours,
        price_per_vcpu_hour=_number(data, "price_per_vcpu_hour", where, 0.0, inclusive=True),
        price_per_gb_hour=_number(data, "price_per_gb_hour", where, 0.0, inclusive=True),
        defaults=defaults,
        workloads={
            name: _load_settings(table, defaults, f"{where} [workloads.{name}]")
            for name, table in workload_tables.items()
        },
    )


def load_capacity_config(path: Path | None) -> CapacityConfig:
    """The config at `path`; None -> the built-in defaults (the values of config/capacity.toml)."""
    if path is None:
        return DEFAULT_CONFIG
    data = read_toml(path, "capacity config")
    return parse_capacity_config(data, str(path))


# --- measured inputs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """What one implementation's results say about capacity (both figures measured, or a reason)."""

    work_per_core_second: float | None
    peak_rss_bytes: float | None
    cores_per_process: int
    basis: str  # where the figures come from, or why there are none


def _not_measured(reason: str) -> Measured:
    return Measured(None, None, 1, reason)


def measure_batch(workload: WorkloadResult, result: ImplementationResult) -> Measured:
    """Median over successful repetitions of counter / (user + sys) and of peak RSS."""
    per_core = []
    rss = []
    for rep in result.repetitions:
        counter = rep.bytes if workload.throughput == "bytes" else rep.items
        cpu = rep.user_seconds + rep.sys_seconds
        if rep.ok and counter and cpu > 0 and rep.peak_rss_bytes > 0:
            per_core.append(counter / cpu)
            rss.append(float(rep.peak_rss_bytes))
    if not per_core:
        return _not_measured(
            f"no successful repetition with a {workload.throughput} count and CPU time"
        )
    return Measured(
        work_per_core_second=stats.median(per_core),
        peak_rss_bytes=stats.median(rss),
        cores_per_process=1,
        basis=f"median of {len(per_core)} repetitions: {workload.throughput} / (user + sys CPU s)",
    )


def qualifying_rate(result: ImplementationResult) -> RateSummary | None:
    """The highest offered rate whose every replicate is usable (fixed rate, met it, no failed
    request: replicates.RateSummary.usable) and which has server CPU and peak RSS."""
    candidates = [
        s
        for s in replicates.rate_summaries(result)
        if s.usable
        and s.server_cpu_per_request_seconds is not None
        and s.server_cpu_per_request_seconds.median > 0
        and s.server_peak_rss_bytes.median > 0
    ]
    return max(candidates, key=lambda s: s.offered_rps, default=None)


def measure_server(result: ImplementationResult, parallelism: int) -> Measured:
    """Requests per core-second = 1 / server CPU seconds per request, the median over the
    replicates of the highest usable rate (each replicate's CPU and requests over its one window,
    the load generator's own span); peak RSS the median of those replicates' own peaks."""
    found = qualifying_rate(result)
    if found is None:
        return _not_measured(
            "no offered rate where every replicate met it (achieved >= 99 % of offered, no errors)"
        )
    cpu = found.server_cpu_per_request_seconds
    assert cpu is not None  # qualifying_rate checked
    k = len(found.replicates)
    return Measured(
        work_per_core_second=1.0 / cpu.median,
        peak_rss_bytes=found.server_peak_rss_bytes.median,
        cores_per_process=parallelism,
        basis=(
            f"{found.offered_rps:,.0f} req/s, "
            + ("1 replicate" if k == 1 else f"median of {k} replicates")
            + f": {units.seconds(cpu.median)} server CPU per request; peak RSS of those "
            "phases"
        ),
    )


def measure_implementation(workload: WorkloadResult, key: str, server_parallelism: int) -> Measured:
    """The capacity figures of one implementation, or why there are none."""
    result = workload.result_for(key)
    if result is None:
        return _not_measured(f"no {key} result")
    if workload.status == "checksum_mismatch":
        return _not_measured("the pair's outputs differ, so no figure is reported")
    if result.status != "ok":
        return _not_measured(result.status + (f": {result.error}" if result.error else ""))
    if workload.kind == "server":
        return measure_server(result, server_parallelism)
    return measure_batch(workload, result)


# --- projection ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LanguageCapacity:
    """One language's row. Every figure is None ("not measured") when `measured` is False."""

    lang: str
    key: str  # "go/default"
    measured: bool
    basis: str  # the measured phase/repetitions behind the figures, or why there are none
    work_per_core_second: float | None = None  # workload's unit (requests, bytes, items) per CPU-s
    peak_rss_per_process_bytes: float | None = None
    cores_unrounded: float | None = None  # target x headroom / work per core-second, before ceil
    cores: int | None = None
    processes: int | None = None
    instances: int | None = None  # None also when no instance shape is configured
    memory_bytes: float | None = None
    cpu_cost_per_month: float | None = None
    memory_cost_per_month: float | None = None
    total_cost_per_month: float | None = None


@dataclass(frozen=True)
class WorkloadCapacity:
    workload: str
    kind: str
    unit: str  # of target_load and work_per_core_second: "requests/s", "bytes/s", "items/s"
    target_load: float
    headroom: float
    cores_per_instance: int | None
    go: LanguageCapacity
    rust: LanguageCapacity
    go_rust_cost_ratio: float | None  # Go monthly total / Rust monthly total; > 1: Rust cheaper
    # How the per-core figure reaches N cores: measured efficiency at a cpus-axis point, or the
    # linear assumption from the core count it was measured on, in words.
    scaling: str = ""


@dataclass(frozen=True)
class CapacityProjection:
    config: CapacityConfig
    workloads: tuple[WorkloadCapacity, ...]
    assumptions: tuple[str, ...]  # plain sentences the report prints beside the table


def _ceil(value: float) -> int:
    return math.ceil(value - _CEIL_TOLERANCE)


def project_language(
    lang: str,
    measured: Measured,
    target_load: float,
    settings: LoadSettings,
    config: CapacityConfig,
) -> LanguageCapacity:
    key = f"{lang}/{DEFAULT_VARIANT}"
    if measured.work_per_core_second is None or measured.peak_rss_bytes is None:
        return LanguageCapacity(lang, key, measured=False, basis=measured.basis)
    exact = target_load * settings.headroom / measured.work_per_core_second
    cores = _ceil(exact)
    processes = _ceil(cores / measured.cores_per_process)
    instances = _ceil(cores / settings.cores_per_instance) if settings.cores_per_instance else None
    memory = processes * measured.peak_rss_bytes * settings.headroom
    cpu_cost = cores * config.price_per_vcpu_hour * config.hours_per_month
    memory_cost = memory / GIB * config.price_per_gb_hour * config.hours_per_month
    return LanguageCapacity(
        lang=lang,
        key=key,
        measured=True,
        basis=measured.basis,
        work_per_core_second=measured.work_per_core_second,
        peak_rss_per_process_bytes=measured.peak_rss_bytes,
        cores_unrounded=exact,
        cores=cores,
        processes=processes,
        instances=instances,
        memory_bytes=memory,
        cpu_cost_per_month=cpu_cost,
        memory_cost_per_month=memory_cost,
        total_cost_per_month=cpu_cost + memory_cost,
    )


def _target(
    workload: WorkloadResult, settings: LoadSettings, config: CapacityConfig
) -> tuple[str, float]:
    """(unit, target value); a [workloads.<name>] table that sets another unit's target
    is a mistake the user should hear about."""
    if workload.kind == "server":
        unit, name = "requests/s", "target_requests_per_second"
    else:
        unit, name = f"{workload.throughput}/s", f"target_{workload.throughput}_per_second"
    for other in (
        "target_requests_per_second",
        "target_bytes_per_second",
        "target_items_per_second",
    ):
        if other != name and other in settings.explicit_fields:
            raise HarnessError(
                f"{config.source} [workloads.{workload.name}]: field '{other}' does not apply: "
                f"{workload.name} is measured in {unit}; set '{name}'"
            )
    return unit, getattr(settings, name)


def measure_at_cpus(
    workload: WorkloadResult, key: str, cpus: int, curves: ConcurrencyAnalysis
) -> Measured:
    """A cpus-axis point's figures per provisioned core: work / (N x wall seconds), so a program
    that keeps N cores only partly busy is charged for all N (its parallel efficiency is in it),
    with the efficiency measured against 1 CPU named in the basis."""
    found = measure_implementation(workload, key, 1)
    result = workload.result_for(key)
    if found.work_per_core_second is None or result is None:
        return found
    per_core = [
        (rep.bytes if workload.throughput == "bytes" else rep.items) / (cpus * rep.wall_seconds)
        for rep in result.repetitions
        if rep.ok and rep.wall_seconds > 0
    ]
    point = efficiency_near(curves, _manifest_name(workload), key, cpus)
    measured_efficiency = (
        f"; parallel efficiency {point.efficiency.value:.2f}"
        + (
            f" [{point.efficiency.low:.2f}, {point.efficiency.high:.2f}]"
            if point.efficiency.low is not None and point.efficiency.high is not None
            else ""
        )
        + " of work time against 1 CPU"
        if point is not None and point.cpus == cpus
        else ""
    )
    return replace(
        found,
        work_per_core_second=stats.median(per_core),
        cores_per_process=cpus,
        basis=f"median of {len(per_core)} repetitions at {cpus} CPUs: {workload.throughput} / "
        f"({cpus} x wall s){measured_efficiency}",
    )


def _manifest_name(workload: WorkloadResult) -> str:
    return workload.sweep.workload if workload.sweep else workload.name


def chosen_cpu_points(run: Run, config: CapacityConfig) -> tuple[dict[str, int], frozenset[str]]:
    """For each workload measured along the cpus axis, the point whose CPU count is nearest to
    the instance shape (cores_per_instance; the most CPUs measured when none is set): the
    projection uses it, and the workload's other points are left out (one row a workload)."""
    chosen: dict[str, int] = {}
    left_out = set()
    for manifest, points in cpu_points(run).items():
        want = config.settings_for(manifest).cores_per_instance or points[-1][0]
        cpus, result = min(points, key=lambda p: (abs(p[0] - want), -p[0]))
        chosen[result.name] = cpus
        left_out |= {r.name for _, r in points if r.name != result.name}
    return chosen, frozenset(left_out)


def project_workload(
    workload: WorkloadResult,
    config: CapacityConfig,
    server_parallelism: int = 1,
    at_cpus: int | None = None,
    curves: ConcurrencyAnalysis | None = None,
) -> WorkloadCapacity:
    """`at_cpus`: the workload is a cpus-axis point at that count, projected with its measured
    efficiency (`curves`); otherwise its per-core figure is assumed to scale linearly."""
    settings = config.settings_for(_manifest_name(workload))
    unit, target = _target(workload, settings, config)
    rows = {}
    for lang in ("go", "rust"):
        key = f"{lang}/{DEFAULT_VARIANT}"
        if at_cpus is not None and curves is not None:
            measured = measure_at_cpus(workload, key, at_cpus, curves)
        else:
            measured = measure_implementation(workload, key, server_parallelism)
        rows[lang] = project_language(lang, measured, target, settings, config)
    go, rust = rows["go"], rows["rust"]
    ratio = None
    if go.total_cost_per_month is not None and rust.total_cost_per_month:
        ratio = go.total_cost_per_month / rust.total_cost_per_month
    return WorkloadCapacity(
        workload=workload.name,
        kind=workload.kind,
        unit=unit,
        target_load=target,
        headroom=settings.headroom,
        cores_per_instance=settings.cores_per_instance,
        go=go,
        rust=rust,
        go_rust_cost_ratio=ratio,
        scaling=scaling_text(workload, server_parallelism, at_cpus),
    )


def scaling_text(workload: WorkloadResult, server_parallelism: int, at_cpus: int | None) -> str:
    """How the projection gets from the measured cores to the fleet's, said on every row."""
    if at_cpus is not None:
        return (
            f"uses the efficiency measured at {at_cpus} CPUs (cpus axis), assumed to hold "
            f"beyond {at_cpus}"
        )
    cores = server_parallelism if workload.kind == "server" else 1
    if cores == 1:
        return "assumes linear scaling from one core"
    return f"assumes linear scaling from {cores} cores"


def assumptions(run: Run, config: CapacityConfig) -> tuple[str, ...]:
    """The premises a reader must accept for the projection to hold, in plain sentences."""
    parallelism = run.config.server.parallelism if run.config.server else 1
    lines = [
        f"Prices are examples, not a quote: {config.price_per_vcpu_hour:g} per vCPU-hour and "
        f"{config.price_per_gb_hour:g} per GB-hour (GB = 2^30 bytes), {config.hours_per_month:g} "
        f"hours a month (from {config.source}). Substitute your provider's prices.",
        "Capacity is work per CPU-second (user + sys), not per wall-second: a program that uses "
        "extra threads (Go's concurrent GC workers, runtime threads) is charged for them.",
        "Batch: throughput per core is the median over repetitions of the work counter divided by "
        "the process's CPU seconds, so start-up and input loading are charged too; one "
        "single-threaded process per core.",
        "Servers: requests per core-second are 1 / server CPU seconds per request at the highest "
        "offered rate where every replicate met it (achieved >= 99 %, no failed request): the "
        "median over those replicates, each over the load generator's own span, with the median "
        f"of their own peak RSS; the saturation probes are not used. Each server process had {parallelism} core(s) "
        "(GOMAXPROCS = TOKIO_WORKER_THREADS); the load generator's CPU is not counted.",
        "Where a workload was measured along the cpus axis (1, 2, ... CPUs), its row uses the "
        "point nearest the instance shape, charged per provisioned core (work / (N x wall s)), "
        "so the parallel efficiency measured there is in the figure. Every other row assumes "
        "linear scaling from the cores it was measured on: N cores do N times the measured work. "
        "That is where the runtimes differ (scheduler, work stealing, GC assist, allocator "
        "contention); lock contention, shared caches, network and kernel limits make real "
        "scaling worse, more so at high core counts.",
        "Cores = ceil(target x headroom / work per core-second); memory = processes x measured "
        "peak RSS x headroom; cost is billed per vCPU and per GB, not per whole instance "
        "(instance counts, where shown, only size the fleet).",
        "Only the default implementations are projected; a failed, diverging or unmeasured one "
        "shows 'not measured', never an estimate.",
        f"Measured on {run.machine.cpu_model} ({run.machine.cpu_count} CPUs); other CPUs differ.",
    ]
    if run.config.size == "quick":
        lines.append(
            "This is a quick run (small inputs, few repetitions): the per-core figures are "
            "indicative only."
        )
    return tuple(lines)


def project_capacity(
    run: Run, config: CapacityConfig, curves: ConcurrencyAnalysis | None = None
) -> CapacityProjection:
    """Per workload in the run: Go and Rust cores, memory and monthly cost at the target load.
    `curves`: the run's concurrency analysis, when the caller has it already."""
    parallelism = run.config.server.parallelism if run.config.server else 1
    chosen, left_out = chosen_cpu_points(run, config)
    if chosen and curves is None:
        curves = analyse_concurrency(run)
    return CapacityProjection(
        config=config,
        workloads=tuple(
            project_workload(w, config, parallelism, chosen.get(w.name), curves)
            for w in run.workloads
            if w.name not in left_out
        ),
        assumptions=assumptions(run, config),
    )
