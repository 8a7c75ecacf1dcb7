"""Small hand-built model values shared by the unit tests (no I/O, no randomness)."""

from __future__ import annotations

import json
from dataclasses import replace

from harness.measure.sweep import numeric
from harness.model import (
    BuildRecord,
    CopiedFile,
    CpuState,
    CpuTimes,
    CpuWindow,
    GcCycle,
    HostMachine,
    HostRecord,
    Implementation,
    ImplementationResult,
    InputRecord,
    InputSpec,
    LatencySummary,
    LoadHostShare,
    Machine,
    ProcessOutcome,
    Repetition,
    ResourceSample,
    Run,
    RunConfig,
    ServerPhase,
    ServerSettings,
    SweepPoint,
    SystemState,
    Topology,
    Workload,
    WorkloadResult,
)
from harness.store.results import SCHEMA_VERSION

MIB = 1 << 20


def machine() -> Machine:
    return Machine(
        hostname="bench-host",
        cpu_model="Test CPU @ 3.0GHz",
        cpu_count=2,
        memory_bytes=8 << 30,
        kernel="6.8.0",
        os="Linux",
        python="3.11.9",
        go_version="go version go1.26.0 linux/amd64",
        rustc_version="rustc 1.90.0",
        cargo_version="cargo 1.90.0",
        git_commit=None,
        git_branch=None,
        git_dirty=None,
        harness_cpus=(1,),
    )


def run_config(**overrides) -> RunConfig:
    values = {
        "size": "quick",
        "repetitions": 3,
        "warmups": 1,
        "timeout_seconds": 10.0,
        "cpu_affinity": (0,),
        "sample_interval_seconds": 0.05,
        "workloads": (),
    }
    values.update(overrides)
    return RunConfig(**values)


def build_record(lang="go", variant="default", workload="demo", ok=True, error=None) -> BuildRecord:
    return BuildRecord(
        workload=workload,
        lang=lang,
        variant=variant,
        ok=ok,
        toolchain="go version go1.26.0" if lang == "go" else "rustc 1.90.0",
        command=("go", "build") if lang == "go" else ("cargo", "build"),
        flags="-trimpath" if lang == "go" else "release",
        source_hash="ab" * 32,
        binary_path=f"/bin/{lang}-{variant}" if ok else None,
        build_seconds=1.25,
        binary_bytes=2 * MIB,
        error=error,
    )


def gc_cycle(number=1, pause=0.001, cpu=0.002, forced=False) -> GcCycle:
    return GcCycle(
        number=number,
        at_seconds=0.01 * number,
        pause_seconds=pause,
        concurrent_mark_seconds=0.005,
        cpu_seconds=cpu,
        heap_start_bytes=4 * MIB,
        heap_end_bytes=6 * MIB,
        heap_live_bytes=3 * MIB,
        forced=forced,
    )


def repetition(
    rep=0,
    wall=1.0,
    user=0.8,
    sys=0.2,
    rss=50 * MIB,
    work=0.9,
    items=1000,
    nbytes=1_000_000,
    checksum="00000000deadbeef",
    gc=None,
    ok=True,
    error=None,
    extra=None,
    samples=(),
) -> Repetition:
    return Repetition(
        rep=rep,
        ok=ok,
        wall_seconds=wall,
        user_seconds=user,
        sys_seconds=sys,
        peak_rss_bytes=rss,
        exit_code=0 if ok else 1,
        work_seconds=work if ok else None,
        items=items if ok else None,
        bytes=nbytes if ok else None,
        checksum=checksum if ok else None,
        extra=dict(extra or {}),
        gc_cycles=gc,
        samples=tuple(samples),
        error=error,
    )


def impl_result(
    lang, variant="default", reps=(), status="ok", error=None, library=None
) -> ImplementationResult:
    return ImplementationResult(
        lang=lang,
        variant=variant,
        library=library or f"{lang} stdlib",
        status=status,
        build=build_record(lang, variant),
        repetitions=tuple(reps),
        warmups_run=1,
        error=error,
    )


def workload_result(
    name="demo",
    impls=(),
    status="ok",
    error=None,
    description="A demo workload",
    throughput="bytes",
    category="parsing",
    reference_checksum="00000000deadbeef",
) -> WorkloadResult:
    return WorkloadResult(
        name=name,
        category=category,
        kind="batch",
        description=description,
        throughput=throughput,
        status=status,
        implementations=tuple(impls),
        input=InputRecord(
            generator="json_docs",
            seed=1,
            params={"documents": 400},
            path="/tmp/input.bin",
            size_bytes=1_000_000,
            sha256="cd" * 32,
        ),
        params={"documents": 400},
        reference_checksum=reference_checksum,
        error=error,
    )


def run(workloads=(), status="complete", run_id="20260101T000000Z-abcd") -> Run:
    return Run(
        schema_version=SCHEMA_VERSION,
        run_id=run_id,
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:01:00+00:00" if status == "complete" else None,
        status=status,
        machine=machine(),
        config=run_config(),
        workloads=tuple(workloads),
    )


def small_run() -> Run:
    """One workload, Go (with GC cycles and RSS samples) and Rust (no GC), two reps each."""
    go_reps = [
        repetition(
            rep=i,
            wall=1.0 + 0.1 * i,
            gc=(gc_cycle(1, pause=0.001, cpu=0.01), gc_cycle(2, pause=0.003, cpu=0.02)),
            samples=(ResourceSample(0.05, 10 * MIB, 0.04, 0.01),),
            extra={"ratio": 0.5},
        )
        for i in range(2)
    ]
    rust_reps = [repetition(rep=i, wall=0.5 + 0.1 * i, rss=20 * MIB) for i in range(2)]
    return run(
        [
            workload_result(
                impls=[impl_result("go", reps=go_reps), impl_result("rust", reps=rust_reps)]
            )
        ]
    )


def workload(
    name="demo",
    args=("{input}", "{depth}"),
    impls=(("go", "default"), ("rust", "default")),
    with_input=True,
) -> Workload:
    return Workload(
        name=name,
        category="parsing",
        kind="batch",
        description="demo",
        throughput="bytes",
        args=tuple(args),
        input=InputSpec(generator="json_docs", seed=1) if with_input else None,
        params={"full": {"depth": 18}, "quick": {"depth": 12}},
        implementations=tuple(
            Implementation(lang=lang, variant=variant, path=f"{name}-{variant}", library="lib")
            for lang, variant in impls
        ),
        manifest_path=f"workloads/{name}.toml",
    )


def result_line(checksum="00000000deadbeef", items=10, nbytes=100, work=0.5, extra=None) -> str:
    data = {"checksum": checksum, "items": items, "bytes": nbytes, "work_seconds": work}
    if extra is not None:
        data["extra"] = extra
    return json.dumps(data)


def outcome(
    exit_code=0,
    stdout=None,
    stderr="",
    wall=1.0,
    user=0.7,
    sys=0.1,
    rss=30 * MIB,
    timed_out=False,
    checksum="00000000deadbeef",
) -> ProcessOutcome:
    return ProcessOutcome(
        exit_code=exit_code,
        wall_seconds=wall,
        user_seconds=user,
        sys_seconds=sys,
        peak_rss_bytes=rss,
        stdout=result_line(checksum) + "\n" if stdout is None else stdout,
        stderr=stderr,
        timed_out=timed_out,
    )


def system_state(**overrides) -> SystemState:
    """A 2-CPU machine as read at a run's start: powersave on cpu 1, nothing isolated."""
    values = {
        "cpus": (
            CpuState(0, "intel_pstate", "performance", 2900.0, 3500.0, "cpufreq"),
            CpuState(1, "intel_pstate", "powersave", 1200.0, 3500.0, "cpufreq"),
        ),
        "smt_active": False,
        "smt_control": "notsupported",
        "transparent_hugepages": "madvise",
        "aslr": 2,
        "load_average": (0.25, 0.5, 0.75),
        "isolated_cpus": (),
        "nohz_full_cpus": None,
        "boost": None,
    }
    values.update(overrides)
    return SystemState(**values)


def cpu_ticks(cpu: int, **fields: int) -> CpuTimes:
    """One /proc/stat line; every field not given is 0."""
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    return CpuTimes(cpu, **{name: fields.get(name, 0) for name in names})


def cpu_window(
    measured_busy=900, measured_steal=0, rest_busy=100, harness=1.0, children=9.0, ticks=1000
) -> CpuWindow:
    """10 s at 100 ticks/s on two CPUs: cpu 0 measured, cpu 1 the harness's. The busy ticks are
    user time, the rest idle, so a default window has nothing unaccounted on either CPU."""
    before = (cpu_ticks(0), cpu_ticks(1))
    after = (
        cpu_ticks(
            0,
            user=measured_busy,
            steal=measured_steal,
            idle=ticks - measured_busy - measured_steal,
        ),
        cpu_ticks(1, user=rest_busy, idle=ticks - rest_busy),
    )
    return CpuWindow(before, after, harness_cpu_seconds=harness, children_cpu_seconds=children)


def timed_reps(walls, slot=0, n_slots=2, round_seconds=2.0) -> list[Repetition]:
    """One repetition per round with its recorded order: in round r it runs in slot
    (r + slot) % n_slots, and round r starts `round_seconds` * r into the workload."""
    return [
        replace(
            repetition(rep=r, wall=wall),
            position=(r + slot) % n_slots,
            started_at_seconds=round_seconds * r + (r + slot) % n_slots,
        )
        for r, wall in enumerate(walls)
    ]


def jittered(level: float, n: int = 12, growth: float = 0.0) -> list[float]:
    """n wall times around `level`, ±2 % in a fixed pattern with no trend, growing linearly by
    `growth` (0.2: 20 %) from the first round to the last."""
    return [level * (1 + growth * i / (n - 1)) * (1 + 0.01 * ((i * 7) % 5 - 2)) for i in range(n)]


def noise_run(go_growth=0.0, run_id="20260101T000000Z-abcd", window=None, **kwargs) -> Run:
    """One batch workload of 12 rounds with its recorded order: Go's wall time grows by
    `go_growth` across the run, Rust's stays flat; both alternate slots."""
    result = workload_result(
        impls=[
            impl_result("go", reps=timed_reps(jittered(1.0, growth=go_growth))),
            impl_result("rust", reps=timed_reps(jittered(0.5), slot=1)),
        ]
    )
    result = replace(result, cpu_window=window)
    return replace(run([result], run_id=run_id), **kwargs)


def server_phase(
    offered,
    achieved,
    cpu=2.0,
    duration=10.0,
    rss=100 * MIB,
    ok=True,
    errors=0,
    p50=0.001,
    p999=0.010,
    gc=None,
    flags=(),
    replicate=None,
    p99=None,
) -> ServerPhase:
    """A server phase; `offered` None is the closed-loop probe. p99 defaults to p999 / 2."""
    return ServerPhase(
        phase="saturation" if offered is None else f"rate={offered:g}",
        ok=ok,
        offered_rps=offered,
        achieved_rps=achieved,
        duration_seconds=duration,
        started_at_seconds=1.0,
        requests=int(achieved * duration),
        errors=errors,
        status_counts={"200": int(achieved * duration)},
        latency=LatencySummary(
            count=int(achieved * duration),
            p50_seconds=p50,
            p90_seconds=p50 * 2,
            p99_seconds=p999 / 2 if p99 is None else p99,
            p999_seconds=p999,
            max_seconds=p999 * 2,
        ),
        latency_histogram="",
        latency_windows=(),
        server_user_seconds=cpu * 0.75,
        server_sys_seconds=cpu * 0.25,
        server_peak_rss_bytes=rss,
        server_samples=(),
        gc_cycles=gc,
        loadgen_user_seconds=0.5,
        loadgen_sys_seconds=0.1,
        flags=tuple(flags),
        error=None if ok else "phase failed",
        replicate=replicate,
    )


def server_workload(go_phases, rust_phases, name="api", go_status="ok", status="ok"):
    go = replace(impl_result("go", status=go_status), phases=tuple(go_phases))
    rust = replace(impl_result("rust"), phases=tuple(rust_phases))
    base = workload_result(name=name, impls=[go, rust], throughput="items", status=status)
    return replace(base, kind="server", category="server", input=None)


def server_settings(parallelism=1) -> ServerSettings:
    return ServerSettings(
        loadgen="oha 1.16.0",
        server_cpus=(1,),
        loadgen_cpus=(0,),
        parallelism=parallelism,
        connections=64,
        warmup_seconds=1.0,
        probe_seconds=2.0,
        min_phase_seconds=3.0,
        max_phase_seconds=3.0,
        target_requests_per_phase=100_000,
        rate_fractions=(0.5, 0.9),
        ready_timeout_seconds=30.0,
        stop_grace_seconds=2.0,
    )


def server_run(workloads, parallelism=1):
    base = run(workloads)
    return replace(base, config=run_config(server=server_settings(parallelism)))


def replicated(offered, **per_replicate) -> list[ServerPhase]:
    """One phase per replicate (numbered from 1) of one offered rate, or of the closed-loop probe
    (`offered` None); every keyword is a list with one server_phase argument per replicate."""
    k = len(next(iter(per_replicate.values())))
    return [
        server_phase(
            offered, **{name: values[n] for name, values in per_replicate.items()}, replicate=n + 1
        )
        for n in range(k)
    ]


# --- sweeps ---------------------------------------------------------------------------------------


def swept(result: WorkloadResult, axis: str, value: str, position: int, run_order: int, **point):
    """`result` as one point of a sweep of its workload over `axis`, named as `harness sweep`
    names it ('<name>@<axis>=<value>'); `point` sets SweepPoint's linked and fixed."""
    found = SweepPoint(
        workload=result.name,
        axis=axis,
        value=value,
        numeric=numeric(axis, value),
        position=position,
        run_order=run_order,
        **point,
    )
    return replace(result, name=f"{result.name}@{axis}={value}", sweep=found)


def in_run_order(points) -> list[WorkloadResult]:
    """A sweep's points as a run lists them: in the order they were measured."""
    return sorted(points, key=lambda w: w.sweep.run_order)


# The size sweep: axis n = 1, 2, 4, 8 (measured 4, 1, 8, 2) and a failed point 16. Every
# repetition reports n MiB processed; Go's work is 0.01 n^2 s and its peak RSS 8n MiB (exponents
# 2 and 1), Rust's work 0.01 n s and its peak RSS a flat 4 MiB (exponents 1 and 0).
SIZE_ORDER = {1: 1, 2: 3, 4: 0, 8: 2, 16: 4}


def size_sweep_points(name="grow", reps=3) -> list[WorkloadResult]:
    points = []
    for position, n in enumerate((1, 2, 4, 8, 16)):
        go = [
            repetition(rep=r, work=0.01 * n * n, nbytes=n * MIB, rss=8 * n * MIB)
            for r in range(reps)
        ]
        rust = [repetition(rep=r, work=0.01 * n, nbytes=n * MIB, rss=4 * MIB) for r in range(reps)]
        if n == 16:
            failed = "exit status 2: fatal error: runtime: out of memory"
            result = workload_result(
                name=name,
                impls=[
                    impl_result("go", status="failed", error=failed),
                    impl_result("rust", reps=rust),
                ],
                status="failed",
                error=f"go/default: {failed}",
            )
        else:
            result = workload_result(
                name=name, impls=[impl_result("go", reps=go), impl_result("rust", reps=rust)]
            )
        points.append(swept(result, "n", str(n), position, SIZE_ORDER[n]))
    return in_run_order(points)


def gogc_sweep_points(name="alloc") -> list[WorkloadResult]:
    """GOGC = 50, 100, off on a batch workload (measured off, 50, 100): Go's work 1.2, 1.0, 0.9 s
    with 3, 2, 1 GC cycles and peak RSS 50, 80, 200 MiB; Rust, unchanged, 500, 510, 490 ms."""
    table = (
        ("50", 1.2, 3, 50, 0.50, 1),
        ("100", 1.0, 2, 80, 0.51, 2),
        ("off", 0.9, 1, 200, 0.49, 0),
    )
    points = []
    for position, (value, work, cycles, rss, rust_work, order) in enumerate(table):
        gc = tuple(gc_cycle(i + 1, pause=0.001) for i in range(cycles))
        go = [repetition(rep=r, work=work, rss=rss * MIB, gc=gc) for r in range(3)]
        rust = [repetition(rep=r, work=rust_work, rss=20 * MIB) for r in range(3)]
        result = workload_result(
            name=name,
            category="allocation",
            throughput="items",
            impls=[impl_result("go", reps=go), impl_result("rust", reps=rust)],
        )
        points.append(swept(result, "GOGC", value, position, order))
    return in_run_order(points)


def one_core(result: WorkloadResult) -> WorkloadResult:
    """Each implementation's worker settings as a one-core server run records them."""
    settings = {
        "go": {"HARNESS_CPUS": "1", "GOMAXPROCS": "1"},
        "rust": {"HARNESS_CPUS": "1", "TOKIO_WORKER_THREADS": "1", "RAYON_NUM_THREADS": "1"},
    }
    return replace(
        result,
        implementations=tuple(
            replace(i, parallelism=settings[i.lang]) for i in result.implementations
        ),
    )


def server_sweep_points(name="kv") -> list[WorkloadResult]:
    """A server swept over GOGC = 100, 400, off at 5000 and 8000 req/s, three replicates each.
    At 5000, only GOGC=400 keeps Go's p99 (4.1, 4.7, 4.3 ms) under 10 ms, with 512 MiB peak RSS
    against Rust's 240 MiB; at 8000 no point does (GOGC=400 comes closest at 11-13 ms). At
    GOGC=off the Go server failed."""
    go_p99 = {
        "100": ([0.012, 0.013, 0.014], [0.02] * 3),
        "400": ([0.0041, 0.0047, 0.0043], [0.011, 0.012, 0.013]),
    }
    go_rss = {"100": 300, "400": 512}
    points = []
    for position, value in enumerate(("100", "400", "off")):
        rust = [
            *replicated(5000, achieved=[5000] * 3, p99=[0.002] * 3, rss=[240 * MIB] * 3),
            *replicated(8000, achieved=[8000] * 3, p99=[0.003] * 3, rss=[250 * MIB] * 3),
        ]
        if value == "off":
            result = server_workload([], rust, name=name, go_status="failed", status="failed")
            result = replace(result, error="go/default: server exited: out of memory")
        else:
            low, high = go_p99[value]
            rss = [go_rss[value] * MIB] * 3
            go = [
                *replicated(5000, achieved=[5000] * 3, p99=low, p999=[2 * v for v in low], rss=rss),
                *replicated(
                    8000, achieved=[8000] * 3, p99=high, p999=[2 * v for v in high], rss=rss
                ),
            ]
            result = server_workload(go, rust, name=name)
        points.append(swept(one_core(result), "GOGC", value, position, (position + 1) % 3))
    return in_run_order(points)


def sweep_run() -> Run:
    """A run of three sweeps: a size parameter, GOGC on a batch workload, GOGC on a server."""
    return server_run([*size_sweep_points(), *gogc_sweep_points(), *server_sweep_points()])


# --- load from other hosts (--hosts) ---------------------------------------------------------------


def load_host(name="load-1", address="10.201.1.2", rtt=0.00004, **machine_fields) -> HostRecord:
    """A load host as spread.open_hosts records it: its machine read over SSH, the link's RTT and
    the two binaries copied with their checksums."""
    fields = {
        "hostname": f"{name}-vm",
        "arch": "x86_64",
        "libc": "glibc 2.36",
        "cpu_model": "Load CPU @ 2.5GHz",
        "cpu_count": 4,
        "memory_bytes": 16 << 30,
        "kernel": "6.1.0-load",
        "clock_source": "kvm-clock",
        "steal_share": 0.002,
    }
    fields.update(machine_fields)
    return HostRecord(
        name=name,
        role="load",
        address=address,
        cpus=(0, 1),
        machine=HostMachine(**fields),
        rtt_seconds=rtt,
        copied=(
            CopiedFile("gorust-spawn", "ab" * 32, 900_000),
            CopiedFile("oha", "cd" * 32, 12 << 20),
        ),
    )


def topology(*loads: HostRecord, server_address="10.201.1.1", left_running=0) -> Topology:
    """The server host (this machine) first, then the load hosts (two by default)."""
    server = HostRecord(name="server", role="server", address=server_address, cpus=(1,))
    return Topology(
        inventory="hosts.toml",
        transport="ssh (asyncssh 2.24.1)",
        hosts=(server, *(loads or (load_host(), load_host("load-2", "10.201.1.3", rtt=0.00006)))),
        setup_seconds=3.2,
        left_running=left_running,
    )


def host_share(host="load-1", offered=1000.0, achieved=1000.0, **fields) -> LoadHostShare:
    values = {
        "host": host,
        "offered_rps": offered,
        "achieved_rps": achieved,
        "responses": int(achieved * 10),
        "requests": int(achieved * 10),
        "user_seconds": 1.5,
        "sys_seconds": 0.5,
        "wall_seconds": 10.0,
        "started_at_seconds": 1.0,
        "span_seconds": 10.0,
        "clock_offset_seconds": 0.000125,
        "clock_uncertainty_seconds": 0.00004,
    }
    values.update(fields)
    return LoadHostShare(**values)


def spread_phase(phase: ServerPhase, *shares: LoadHostShare, overhead=1.5) -> ServerPhase:
    """`phase` as a multi-host phase: two hosts at half its rate each unless `shares` are given."""
    rate = phase.offered_rps
    half = None if rate is None else rate / 2
    found = shares or (
        host_share("load-1", half, phase.achieved_rps / 2),
        host_share("load-2", half, phase.achieved_rps / 2),
    )
    return replace(phase, load_hosts=tuple(found), hosts_overhead_seconds=overhead)
