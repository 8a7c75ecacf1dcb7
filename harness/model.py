"""The typed values that flow between pipeline stages.

The results file is these dataclasses serialised (see store.py), so the data model *is* the storage
format. Everything is frozen: a stage returns new values instead of mutating what it was given.
Units live in field names (`_seconds`, `_bytes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Lang = Literal["go", "rust"]
LANGS: tuple[Lang, ...] = ("go", "rust")
DEFAULT_VARIANT = "default"
HYBRID_LABEL = "go+rust"  # a Go program linking a Rust static library through cgo
# The sweep axis that gives both languages N CPUs (harness/measure/sweep.py).
CPUS_AXIS = "cpus"

ParamValue = int | float | str


class Keyed:
    """Anything identified by language and variant: "go/default", "rust/zlib-rs"."""

    lang: str
    variant: str

    @property
    def key(self) -> str:
        return f"{self.lang}/{self.variant}"

    @property
    def is_default(self) -> bool:
        return self.variant == DEFAULT_VARIANT


# --- configuration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Implementation(Keyed):
    """One buildable program of a workload: a language and a variant of it."""

    lang: Lang
    variant: str
    path: str  # <workloads dir>/go/<path> or <workloads dir>/rust/crates/<path>
    library: str
    # A team's own build instead of `go build` / `cargo build`: the command (run without a shell
    # in the manifest's folder) and the binary it leaves, relative to that folder.
    build: tuple[str, ...] | None = None
    binary: str | None = None
    # Extra environment for the measured process (a sweep's runtime setting, e.g. GOGC=200),
    # applied over the harness's own (GODEBUG=gctrace=1, GOMAXPROCS for servers).
    env: tuple[tuple[str, str], ...] = ()
    # A go+rust hybrid: the Rust staticlib crate (<workloads dir>/rust/crates/<links>) that cargo
    # builds and `go build` links into this Go program through cgo (harness/build/builder.py).
    links: str | None = None
    # Parameters this implementation can run at, as upper bounds (manifest `limits`): an OS-thread
    # variant of many-tasks spawns one thread per task, so it runs only up to tasks = 10,000 and
    # is skipped, with the reason, beyond. () = no bounds.
    limits: tuple[tuple[str, float], ...] = ()
    # A server that calls another process (manifest `backend`, or the workload's `[server]
    # backend`): the name of the workload's [backends.NAME] it is started beside. None: alone.
    backend: str | None = None

    def beyond_limits(self, params: Mapping[str, ParamValue]) -> str | None:
        """Why this implementation does not run at `params` (None: it does)."""
        for name, bound in self.limits:
            value = params.get(name)
            if isinstance(value, int | float) and value > bound:
                return (
                    f"runs only at {name} <= {bound:,g} (manifest limits); here {name} = {value:,g}"
                )
        return None

    @property
    def label(self) -> str:
        """The languages in the binary: "go", "rust", or "go+rust" for a hybrid."""
        return HYBRID_LABEL if self.links else self.lang


@dataclass(frozen=True)
class InputSpec:
    """Where a workload's input comes from: exactly one of a generator (a module in the manifest's
    `generators/` folder or in harness/measure/generators/), a file, or a command whose stdout it is.
    `file` and `command` may hold {param} placeholders (and {size}); paths are relative to the
    manifest's folder."""

    generator: str | None
    seed: int
    file: str | None = None
    command: tuple[str, ...] | None = None
    sources: tuple[str, ...] = ()  # files the command reads: in its cache key, like its argv


@dataclass(frozen=True)
class RequestStream:
    """One open-loop request stream of a server workload (one load-generator process)."""

    name: str
    method: str
    path: str  # may hold {param} placeholders; a regex when rand_regex
    share: float  # fraction of the phase's offered rate
    expect_status: int
    content_type: str | None = None
    body: str | None = None  # literal body
    body_from: str | None = None  # body = the server's own answer to GET of this path
    rand_regex: bool = False
    body_input: bool = False  # body = the workload's generated input file


@dataclass(frozen=True)
class ServerSpec:
    health: str
    requests: tuple[RequestStream, ...]
    checks: tuple[str, ...] = ()  # extra GET paths whose answers must be byte-identical
    # size -> offered rates fixed in the manifest ([server.rates]); a size absent here takes
    # fractions of the measured saturation
    rates_rps: dict[str, tuple[float, ...]] = field(default_factory=dict)
    # The fewest Go GC cycles a fixed-rate phase must contain to be quoted or used for a verdict
    # (0: no requirement). A kv-cache phase that ends before Go collects shows only Go's
    # between-GC latency; phase_analysis.headline_exclusions applies it.
    min_gc_cycles: int = 0
    # The back end every implementation calls unless it names its own (a proxy's upstream).
    backend: str | None = None
    # Also measure each rate straight against the back end, in the same replicate (a proxy's
    # added latency is proxied minus direct, paired by replicate).
    direct_phases: bool = False


BackendTransport = Literal["tcp", "unix"]
BackendCpus = Literal["server", "apart"]


@dataclass(frozen=True)
class BackendSpec:
    """A process a server workload's implementation calls over a service boundary (the Rust
    service behind a Go front, the fixed back end behind a proxy), from the manifest's
    [backends.NAME]. It is built like an implementation, started before its front and stopped
    after it, and measured beside it, because the boundary's cost is the pair's, not the
    front's alone.

    `cpus`: "server" runs it on the front's CPUs, so a front plus its service get the same CPUs as
    an in-process server (the hybrid question is what the same hardware does); "apart" runs it on
    the load generator's CPUs, away from the proxy whose own cost is the question."""

    name: str
    implementation: Implementation  # lang, path, library; variant "backend-NAME"
    args: tuple[str, ...]  # {listen}: 127.0.0.1:PORT or unix:/path; {name} parameters
    transport: BackendTransport
    protocol: str  # what crosses the boundary: "grpc", "http", ...
    cpus: BackendCpus = "server"

    @property
    def key(self) -> str:
        return self.implementation.key


@dataclass(frozen=True)
class SweepPoint:
    """Where one measured workload sits in a sweep: the manifest's workload, the swept axis and
    its value here, the other settings that move with it (a linked parameter such as kv-cache's
    key_regex) and those fixed for the whole sweep (--set). Runtime settings (GOGC, GOMEMLIMIT,
    GOMAXPROCS) apply to the Go implementations only; parameters to both."""

    workload: str  # the manifest's name; the measured workload is named "<workload>@<axis>=<value>"
    axis: str
    value: str
    numeric: float | None  # the value as a number for a curve; None for "off"
    linked: tuple[tuple[str, str], ...] = ()
    fixed: tuple[tuple[str, str], ...] = ()
    position: int = 0  # index of the point on the axis, in the order given
    run_order: int = 0  # when it was measured among the sweep's points (they run shuffled)


@dataclass(frozen=True)
class PublishedFigure:
    """A figure someone else published for this workload's question (manifest `[[published]]`),
    set beside ours in the report with what differs; never used in a statistic."""

    source: str  # who and where, e.g. "Kołaczkowski 2023, How much memory ... 1 million tasks"
    url: str
    metric: str  # a Repetition field the report reads ours from: peak_rss_bytes, wall_seconds
    go: float
    rust: float
    # where ours is comparable: {"tasks": 1000000}
    params: dict[str, ParamValue] = field(default_factory=dict)
    differs: str = ""  # what they did otherwise (their wait, their measure of memory, versions)


@dataclass(frozen=True)
class Workload:
    name: str
    category: str
    kind: Literal["batch", "server"]
    description: str
    throughput: Literal["bytes", "items"]
    args: tuple[str, ...]
    input: InputSpec | None
    params: dict[str, dict[str, ParamValue]]  # size ("full" | "quick") -> parameters
    implementations: tuple[Implementation, ...]
    manifest_path: str
    server: ServerSpec | None = None
    # The manifest's default sweep ([sweep.full] / [sweep.quick]): size -> (name, values) pairs;
    # the first pair is the axis, the others are linked to it point by point.
    sweeps: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = field(default_factory=dict)
    sweep_point: SweepPoint | None = None  # set on the copies `harness sweep` measures
    # CPU feature flags (as /proc/cpuinfo names them) the verdict depends on: both sides choose
    # their code by them at run time (sha256 on sha_ni), so the report puts a caveat beside it.
    cpu_features: tuple[str, ...] = ()
    # CPU counts (manifest `cpus = "each"`): a concurrency workload is measured at every count
    # from 1 up to the machine's CPUs (1, 2, 4, ... and the count itself), as points of the axis
    # CPUS_AXIS, so its results are never shown at one core count only.
    cpus_each: bool = False
    published: tuple[PublishedFigure, ...] = ()
    # The CPUs this copy's programs get (set on the points of a cpus axis, resolved from the
    # machine's CPUs before the harness pins itself); None = the run's --pin / --cpus.
    cpus: tuple[int, ...] | None = None
    backends: tuple[BackendSpec, ...] = ()  # the manifest's [backends.NAME] (servers only)

    @property
    def root(self) -> Path:
        """The workloads folder the manifest sits in: its go/ module and rust/ workspace, and the
        base of every relative path the manifest names."""
        return Path(self.manifest_path).parent

    def implementation(self, key: str) -> Implementation:
        for impl in self.implementations:
            if impl.key == key:
                return impl
        raise KeyError(key)

    def default_for(self, lang: Lang) -> Implementation:
        return self.implementation(f"{lang}/{DEFAULT_VARIANT}")

    def backend_of(self, impl: Implementation) -> BackendSpec | None:
        """The back end `impl` is started beside: its own, else the workload's, else none."""
        name = impl.backend or (self.server.backend if self.server else None)
        return next((b for b in self.backends if b.name == name), None) if name else None


@dataclass(frozen=True)
class ServerSettings:
    """How servers are loaded: recorded with the results so phases can be reproduced."""

    loadgen: str  # e.g. "oha 1.16.0"
    server_cpus: tuple[int, ...] | None
    loadgen_cpus: tuple[int, ...] | None
    # The server's worker count on both runtimes (HARNESS_CPUS, GOMAXPROCS, TOKIO_WORKER_THREADS,
    # RAYON_NUM_THREADS alike): the number of server CPUs, or the CPUs the harness may use when the
    # server is unpinned. Files before schema 9 always had 1.
    parallelism: int
    connections: int
    warmup_seconds: float
    probe_seconds: float
    min_phase_seconds: float
    max_phase_seconds: float
    target_requests_per_phase: int
    rate_fractions: tuple[float, ...]  # of the slower implementation's saturation throughput
    ready_timeout_seconds: float
    stop_grace_seconds: float
    # Schema >= 5: every offered rate is measured this many times, each replicate on a fresh
    # server, implementations in counterbalanced order (1 in older files: one phase per rate).
    replicates: int = 1
    replicate_probe_seconds: float = 0.0  # the closed-loop probe closing each replicate (0: none)
    rates_rps: tuple[float, ...] = ()  # fixed on the command line (--rates); () = not fixed there
    # Schema >= 6: rounds added after the k replicates while some rate has fewer than k phases
    # undisturbed by CPU steal (phase_analysis.disturbance); 0 in older files.
    extra_replicates: int = 0
    # Schema >= 9: a workload with `[server] min_gc_cycles` gets fixed-rate phases long enough for
    # min_gc_cycles x gc_phase_margin Go GC cycles at the GC rate its Go probes showed
    # (protocol.phase_lengths), at most gc_phase_cap_seconds. 0: not sized by the GC rate
    # (--phase-seconds, or files before schema 9).
    gc_phase_margin: float = 0.0
    gc_phase_cap_seconds: float = 0.0
    # Schema >= 10: the address servers listen on (HARNESS_LISTEN_ADDRESS in the binary contract):
    # 127.0.0.1 on one machine; with load hosts (--hosts), the server host's inventory address.
    listen_address: str = "127.0.0.1"


@dataclass(frozen=True)
class StoppingRule:
    """Adaptive repetitions: add interleaved rounds until every targeted ratio's 95 % CI is within
    ±target_ci_half_width of its estimate, or a budget runs out (checked after each balanced block
    of rounds, never before RunConfig.repetitions rounds)."""

    target_ci_half_width: float  # 0.02 = ±2 %
    max_rounds: int
    # Measured rounds only, and never before the minimum (RunConfig.repetitions). Schema >= 8: per
    # program of a round, so a workload with 8 programs (4 implementations, base and head) gets 4x
    # the time of a pair; older files read budget_per "workload" (the whole workload's budget).
    max_seconds: float
    budget_per: Literal["program", "workload"] = "program"
    # The user chose max_seconds: a minimum of rounds it cannot fit is an error, not a silent stop.
    budget_given: bool = False


@dataclass(frozen=True)
class RunConfig:
    size: Literal["full", "quick"]
    repetitions: int  # rounds: fixed, or the minimum when `stopping` is set
    warmups: int
    timeout_seconds: float
    cpu_affinity: tuple[int, ...] | None  # CPUs the measured process is pinned to; None = unpinned
    sample_interval_seconds: float
    workloads: tuple[str, ...]
    server: ServerSettings | None = None
    # schedule.py; "given" in v1 files
    order: Literal["latin", "random", "given"] = "given"
    seed: int = 0  # picks the square's labels and row order ("latin") or the shuffles ("random")
    reverse: bool = False  # every round's order backwards (schedule.py)
    stopping: StoppingRule | None = None
    defaults_only: bool = False  # schema >= 12: --defaults-only, the labelled variants left out


# --- build ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildRecord(Keyed):
    workload: str
    lang: Lang
    variant: str
    ok: bool
    toolchain: str  # e.g. "go version go1.26.8 linux/amd64"
    command: tuple[str, ...]
    flags: str  # what a reader needs to know: "-trimpath", "release profile: opt-level=3 ..."
    source_hash: str
    binary_path: str | None = None
    build_seconds: float | None = None
    cached: bool = False  # True when the binary came from the cache (build_seconds is the original)
    binary_bytes: int | None = None
    stripped_bytes: int | None = None
    dependency_count: int | None = None
    log_path: str | None = None
    error: str | None = None
    # Build and operations profile (harness/build/operations.py), measured once per source hash.
    clean_build_seconds: float | None = None  # empty GOCACHE / CARGO_TARGET_DIR, deps fetched
    incremental_build_seconds: float | None = None  # after a comment appended to the main file
    source_lines: int | None = None  # non-blank, non-comment lines of the repo's own source
    source_files: tuple[str, ...] = ()  # what source_lines counts, relative to workloads/<lang>
    profile_error: str | None = None  # why the profile is missing when the build itself worked
    # The settings outside the command that shaped the build, as the toolchain saw them
    # (harness/build/environment.py; schema >= 7): Go's `go env` values and enabled experiments, Rust's
    # cargo variables and config files; and, in words, those that differ from the defaults.
    environment: dict[str, str] = field(default_factory=dict)
    environment_changes: tuple[str, ...] = ()
    # Schema >= 7: what the build needed and what it produced, for every build (a go+rust hybrid's
    # differ from both pure builds). None / () in older files: not recorded.
    toolchains: tuple[str, ...] = ()  # every toolchain the build ran: Go, rustc, the C compiler
    links: str | None = None  # a hybrid's Rust staticlib crate, linked by go build through cgo
    step_seconds: dict[str, float] = field(default_factory=dict)  # a hybrid: cargo, then go build
    # Shared libraries the binary needs at run time (ELF DT_NEEDED): () is a static binary, None
    # when not read. A cgo binary links libc dynamically, a CGO_ENABLED=0 Go binary nothing.
    needed_libraries: tuple[str, ...] | None = None
    # Why the implementation was not built at all (a hybrid without cgo); ok is False then and
    # the implementation's status is "skipped", not "build_failed".
    skip_reason: str | None = None


# --- machine state (raw readings; harness/measure/noise.py reads them and derives what they mean) --------


@dataclass(frozen=True)
class CpuState:
    cpu: int
    driver: str | None  # cpufreq scaling_driver, e.g. intel_pstate, acpi-cpufreq
    governor: str | None
    cur_mhz: float | None
    max_mhz: float | None  # cpuinfo_max_freq
    cur_mhz_source: str | None  # "cpufreq" (scaling_cur_freq) or "cpuinfo" (/proc/cpuinfo cpu MHz)


@dataclass(frozen=True)
class SystemState:
    cpus: tuple[CpuState, ...]
    smt_active: bool | None
    smt_control: str | None  # on, off, forceoff, notsupported, notimplemented
    transparent_hugepages: str | None  # the bracketed choice: always, madvise or never
    aslr: int | None  # randomize_va_space: 0 off, 1 partial, 2 full
    load_average: tuple[float, float, float] | None
    isolated_cpus: tuple[int, ...] | None  # () when none are isolated, None when unreadable
    nohz_full_cpus: tuple[int, ...] | None
    boost: bool | None  # cpufreq/boost, else not intel_pstate/no_turbo


@dataclass(frozen=True)
class CpuTimes:
    """One CPU's line of /proc/stat, in clock ticks (guest time is already inside user/nice)."""

    cpu: int
    user: int
    nice: int
    system: int
    idle: int
    iowait: int
    irq: int
    softirq: int
    steal: int


@dataclass(frozen=True)
class CpuWindow:
    """The CPU time around a workload's measured part, as read: /proc/stat right before its first
    measured round and right after its last (warm-ups excluded; a server workload's whole
    protocol), and this process's os.times() over the same interval. `children_cpu_seconds` is
    every process the harness started and reaped in it (the measured programs, a server and its
    load generator), which is what noise.py subtracts as accounted for: unlike the repetitions'
    own figures it also covers both sides of `harness ab` and a server's warm-ups."""

    before: tuple[CpuTimes, ...]
    after: tuple[CpuTimes, ...]
    harness_cpu_seconds: float  # user + system of the harness process itself, threads included
    children_cpu_seconds: float  # user + system of its reaped children and their descendants


# --- measurement ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GcCycle:
    """One Go GC cycle as printed by GODEBUG=gctrace=1."""

    number: int
    at_seconds: float  # since program start
    pause_seconds: float  # STW sweep termination + STW mark termination (wall clock)
    concurrent_mark_seconds: float
    cpu_seconds: float  # all GC CPU of the cycle (assist + background + idle + the STW phases)
    heap_start_bytes: int  # heap size when the cycle started
    heap_end_bytes: int  # heap size when it ended
    heap_live_bytes: int  # heap marked live
    forced: bool


@dataclass(frozen=True)
class ResourceSample:
    """One psutil sample of the measured process, for time series (peaks come from wait4)."""

    t_seconds: float
    rss_bytes: int
    user_seconds: float
    sys_seconds: float


@dataclass(frozen=True)
class ProcessOutcome:
    """What the executor observed of one process run: the raw facts, nothing derived."""

    exit_code: int  # negative: killed by that signal
    wall_seconds: float
    user_seconds: float
    sys_seconds: float
    peak_rss_bytes: int
    stdout: str
    stderr: str
    timed_out: bool = False
    samples: tuple[ResourceSample, ...] = ()
    leftover_processes: int = 0  # descendants still running when it exited; since killed
    allowed_cpus: tuple[int, ...] | None = None  # the live program's CPU affinity, read once
    threads: int | None = None  # the most threads the sampler saw it run at once


@dataclass(frozen=True)
class Repetition:
    """One measured run of one implementation. Raw facts only; statistics are derived later.

    `rep` is the round (0-based); `position` the slot within the round, `predecessor` the key of
    the program that ran in the slot before (None in the first slot) and `started_at_seconds` the
    start time since the workload's first measured round: the recorded order, so position and
    drift effects can be estimated (absent, None, in files written before schema 2)."""

    rep: int
    ok: bool
    wall_seconds: float
    user_seconds: float
    sys_seconds: float
    peak_rss_bytes: int
    exit_code: int
    work_seconds: float | None = None
    items: int | None = None
    bytes: int | None = None
    checksum: str | None = None
    extra: dict[str, float] = field(default_factory=dict)
    gc_cycles: tuple[GcCycle, ...] | None = None  # None: the runtime has no GC (Rust)
    samples: tuple[ResourceSample, ...] = ()
    stderr_tail: str = ""
    error: str | None = None
    position: int | None = None
    predecessor: str | None = None
    started_at_seconds: float | None = None
    # Schema >= 9: the CPUs the program was given, and what the live process showed (psutil): the
    # CPUs it was allowed to run on and the most threads it had at once. None: not pinned, or it
    # exited before the first sample.
    cpus: tuple[int, ...] | None = None
    allowed_cpus: tuple[int, ...] | None = None
    threads: int | None = None


@dataclass(frozen=True)
class RoundsRecord:
    """How many rounds a batch workload ran and why it stopped there."""

    rounds: int
    block: int  # rounds in one balanced block of the schedule
    reason: Literal["fixed", "target reached", "max rounds", "max seconds", "failed"]
    target_ci_half_width: float | None  # None: fixed repetitions
    reached_ci_half_width: float | None  # the widest targeted CI at the end, relative
    widest: str | None  # which ratio that was, e.g. "wall_seconds go/default / rust/default"
    elapsed_seconds: float
    # Schema >= 8: the minimum of rounds, the workload's time budget in seconds (None: fixed
    # rounds) and the round time the warm-up measured (None without a warm-up); None in older files.
    min_rounds: int | None = None
    budget_seconds: float | None = None
    warmup_round_seconds: float | None = None


@dataclass(frozen=True)
class LatencySummary:
    """Percentiles of one phase's request latencies, read from its HDR histogram."""

    count: int
    p50_seconds: float
    p90_seconds: float
    p99_seconds: float
    p999_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class LatencyWindow:
    """Latency over time: one point per window of the phase (for the latency-over-time chart)."""

    t_seconds: float  # window start, seconds since the server started
    count: int
    p50_seconds: float
    p99_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class RequestCounts:
    """Every request of one phase by what became of it (schema >= 4).

    Answered requests (either status count) are in the latency distribution at their measured
    time. oha records no duration for the requests it counts as errors (timeouts, aborts at the
    deadline, connection errors), so those are counted here and keep the phase out of headline
    figures instead. `unsent` requests were due by the open-loop schedule before the deadline
    but never sent (oha drops its queue when the phase ends): each enters the distribution at the
    time from its intended send to the deadline, a lower bound."""

    expected_status: int  # answered with the manifest's expect_status
    unexpected_status: int  # answered with another status
    timeouts: int  # oha "timeout"
    deadline_aborts: int  # oha "aborted due to deadline": in flight when the phase ended
    other_errors: int  # connection refused or reset, and any other oha error
    unsent: int  # ceil(duration x rate) scheduled, minus every request oha reported

    @property
    def without_duration(self) -> int:
        """Failed requests oha records no time for."""
        return self.timeouts + self.deadline_aborts + self.other_errors


@dataclass(frozen=True)
class LoadHostShare:
    """One load host's part of a multi-host phase (harness/servers/spread.py). Its requests went
    into the phase's one merged histogram; these are the figures that say whether it kept up."""

    host: str
    offered_rps: float | None  # its share: the phase's rate / the number of load hosts
    achieved_rps: float  # its responses in the shared window / the window
    responses: int  # in the shared window
    requests: int  # every request it counted (answered, failed, unsent), whole run
    user_seconds: float  # the load generator's CPU on that host (the copied launcher's rusage)
    sys_seconds: float
    wall_seconds: float
    # When its load generator started, on the phase's time base (seconds since the server
    # started, converted from the host's clock with the offset below), and its own span.
    started_at_seconds: float
    span_seconds: float
    # host clock - server host clock, from the least-delayed of several round trips just before
    # the phase; the uncertainty is half that round trip.
    clock_offset_seconds: float
    clock_uncertainty_seconds: float
    # Processes of the harness's found on the host after the phase (then killed); None when the
    # host could not be asked (it was unreachable).
    left_running: int | None = 0
    error: str | None = None


@dataclass(frozen=True)
class ServerPhase:
    """One fixed-rate (or saturation-probe) phase against one server implementation.

    Time base (schema >= 4): the phase's window is the load generator's own span, from the moment
    the harness launched it (oha's start-up, a few ms, falls inside) to the end of its work, as
    oha reports it; its database write afterwards is outside. Requests, achieved rate, server CPU
    and GC cycles all refer to this window. Files before schema 4 used the harness's time around
    the oha processes (start-up and database write included) for `duration_seconds`, server CPU
    and GC cycles, and the peak since the server started for `server_peak_rss_bytes`."""

    phase: str  # "saturation", "warmup" or "rate=2000"
    ok: bool
    offered_rps: float | None  # None: closed-loop saturation probe
    achieved_rps: float  # responses (any status) / duration_seconds
    duration_seconds: float  # the window: oha's own span (the longest of the phase's streams)
    started_at_seconds: float  # window start, since the server started (aligns with GC timestamps)
    requests: int  # every request counted: answered, failed without a duration, and unsent
    errors: int  # answered with an unexpected status, plus the ones oha counts as errors
    status_counts: dict[str, int]
    latency: LatencySummary | None  # answered requests at their time, unsent at a lower bound
    latency_histogram: str  # the raw HDR histogram, compressed and base64-encoded (re-analysable)
    latency_windows: tuple[LatencyWindow, ...]
    server_user_seconds: float  # in the window: read at its start, interpolated at its end
    server_sys_seconds: float  # between the psutil samples around it (same as user)
    # The phase's own peak: VmHWM reset (/proc/PID/clear_refs) at the window's start and read when
    # the load generator has exited (its database write, with no requests arriving, included).
    server_peak_rss_bytes: int
    server_samples: tuple[ResourceSample, ...]
    gc_cycles: tuple[GcCycle, ...] | None  # cycles that started within the window; None for Rust
    loadgen_user_seconds: float  # the oha processes' whole lives, database write included
    loadgen_sys_seconds: float
    flags: tuple[str, ...] = ()  # e.g. "achieved < 99 % of offered", "errors"
    error: str | None = None
    request_counts: RequestCounts | None = None  # None in files before schema 4
    # The oha processes' wall time, launch to exit: the base of their CPU share (None before
    # schema 4, when duration_seconds was that).
    loadgen_wall_seconds: float | None = None
    # Schema >= 5: which replicate (1..k, each on a fresh server) the phase belongs to; None for
    # the selection pass (answers checked, warm-up, the probe that sets the rates) and in older
    # files, where every rate had one phase.
    replicate: int | None = None
    # Schema >= 6: the hypervisor's steal over the phase, a share of every CPU's time from
    # /proc/stat around the load generator (None where it could not be read, and in older files).
    steal_share: float | None = None
    # Schema >= 7: how many Go GC cycles this phase had to contain to count for headlines and
    # verdicts (the manifest's [server] min_gc_cycles, when it applied); None when nothing was
    # required (Rust, a workload without the setting, GOGC=off without a memory limit, and files
    # before schema 7).
    gc_cycles_required: int | None = None
    # Schema >= 9: the CPUs each side could run on during the phase. `server_cpus` is read back
    # from the running server (sched_getaffinity at the phase's start); `loadgen_cpus` is the load
    # generator's pinning, or the harness's own CPUs, which it inherits when unpinned; and
    # `shared_cpus` the CPUs in both, where the load generator's CPU time competed with the
    # server's (a disclosure beside the phase, not an exclusion). None in older files.
    server_cpus: tuple[int, ...] | None = None
    loadgen_cpus: tuple[int, ...] | None = None
    shared_cpus: tuple[int, ...] | None = None
    # Schema >= 10, runs with load hosts (--hosts): each load host's share of the phase, and the
    # harness's time around the load generators that was not load (clock offsets, copies, the
    # wait for the agreed start, fetching and merging the records). () and None on one machine.
    load_hosts: tuple[LoadHostShare, ...] = ()
    hosts_overhead_seconds: float | None = None
    # Schema >= 11, a server with a back end (BackendSpec): the back end's CPU over the same
    # window and its own peak RSS in the phase (VmHWM reset at its start), and the CPUs it could
    # run on. None: no back end (and in older files).
    backend_user_seconds: float | None = None
    backend_sys_seconds: float | None = None
    backend_peak_rss_bytes: int | None = None
    backend_cpus: tuple[int, ...] | None = None
    # Schema >= 11: request and response body bytes the phase moved (oha's totalData plus the
    # request bodies sent), the base of CPU per byte; None where unknown (load from other hosts,
    # whose records are cut to a window, and older files).
    payload_bytes: int | None = None


@dataclass(frozen=True)
class PhaseLength:
    """How long the fixed-rate phases at one offered rate were asked to run (schema >= 9)."""

    offered_rps: float
    seconds: float  # asked of the load generator in every replicate, both languages alike
    # What the GC rate asked for: min_gc_cycles x margin / (GC cycles per request x rate); None
    # when the lengths were not sized by the GC rate.
    gc_seconds_needed: float | None = None
    # gc_seconds_needed was over the cap: the phases ran at the cap and may hold too few cycles
    # (their own count decides, phase_analysis.too_few_gc_cycles).
    capped: bool = False


@dataclass(frozen=True)
class PhaseSizing:
    """Why a server workload's fixed-rate phases were as long as they were (schema >= 9)."""

    source: str  # in words: the request target, --phase-seconds, or the GC rate it came from
    lengths: tuple[PhaseLength, ...] = ()  # one per offered rate
    # The GC rate the lengths came from (Go GC cycles per answered request in a saturation probe)
    # and whose probe it was; None when not sized by the GC rate.
    gc_cycles_per_request: float | None = None
    gc_rate_from: str | None = None


Status = Literal["ok", "failed", "build_failed", "checksum_mismatch", "skipped"]


@dataclass(frozen=True)
class ImplementationResult(Keyed):
    lang: Lang
    variant: str
    library: str
    status: Status
    build: BuildRecord
    repetitions: tuple[Repetition, ...] = ()
    warmups_run: int = 0
    error: str | None = None
    phases: tuple[ServerPhase, ...] = ()  # server workloads only
    idle_rss_bytes: int | None = None  # server RSS once ready, before any load
    parallelism: dict[str, str] = field(
        default_factory=dict
    )  # e.g. GOMAXPROCS, TOKIO_WORKER_THREADS
    # What the running server's TCP transport did, observed (harness/servers/transport.py): listen
    # backlog, TCP_NODELAY and SO_KEEPALIVE on an accepted connection, HTTP keep-alive (schema >= 4).
    transport: dict[str, str] = field(default_factory=dict)
    # Schema >= 11: the back end this server called (None: it ran alone), and, for a workload with
    # [server] direct_phases, the same rates sent straight to that back end in each replicate
    # (the baseline a proxy's added latency is measured against, paired by replicate).
    backend: BackendRecord | None = None
    direct_phases: tuple[ServerPhase, ...] = ()


@dataclass(frozen=True)
class BackendRecord:
    """What a server's back end was: which program, built how, reached how (schema >= 11)."""

    name: str
    lang: Lang
    path: str
    library: str
    protocol: str
    transport: BackendTransport
    cpus_policy: BackendCpus
    build: BuildRecord
    idle_rss_bytes: int | None = None


RaceStatus = Literal["clean", "race", "not run", "failed"]


@dataclass(frozen=True)
class RaceCheck(Keyed):
    """A Go implementation of a concurrent workload built with `go build -race` and run once at
    quick size (harness/measure/race.py; schema >= 9). "clean" means the detector saw no race on
    the code paths that run exercised, nothing more; "race" fails the implementation; "not run"
    (no cgo, an own build) and "failed" (the race build or its run broke) are never clean."""

    lang: Lang
    variant: str
    status: RaceStatus
    report: str | None = None  # the detector's first report, as printed (race only)
    reason: str | None = None  # why not run / failed
    exercised: str = ""  # what ran under the detector, in words (argv, or the requests sent)
    build_seconds: float | None = None  # the race build's own time (the cached build's, if cached)
    build_cached: bool = False
    run_seconds: float | None = None  # wall time of the race-built program's run
    source_hash: str | None = None  # the race build's cache key


@dataclass(frozen=True)
class UnsafeCount(Keyed):
    """What a Rust implementation's race-freedom rests on: the compiler's Send/Sync checks of its
    safe code, so the `unsafe` in its own source is counted (harness/build/operations.py
    count_unsafe; schema >= 9). Dependencies are not counted. `count` None: not counted (reason)."""

    lang: Lang
    variant: str
    count: int | None
    by_kind: dict[str, int] = field(default_factory=dict)  # block, fn, impl, trait, ...
    files: tuple[str, ...] = ()  # the files counted, relative to workloads/rust
    reason: str | None = None


@dataclass(frozen=True)
class InputRecord:
    generator: str  # the generator module, or "file PATH", or "command ARGV..." (as run)
    seed: int
    params: dict[str, ParamValue]
    path: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class WorkloadOrigin:
    """Where a workload came from (schema >= 6): its manifest, and the git commit of the
    repository holding it, so a result can be traced to the code that produced it."""

    manifest: str  # absolute path
    git_commit: str | None  # None outside a git repository
    git_dirty: bool | None  # uncommitted changes under the workloads folder


@dataclass(frozen=True)
class WorkloadTiming:
    """Where a workload's wall time went in the run (schema >= 12), so a user can see what a full
    run costs and what `--workloads` or `--no-build-profile` would save: its builds (cache hits are
    near zero; a first profiled build includes its clean and incremental builds), the race and
    unsafe checks, the input's generation, and the measuring itself (rounds, or server phases)."""

    build_seconds: float
    check_seconds: float
    input_seconds: float
    measure_seconds: float

    @property
    def total_seconds(self) -> float:
        return self.build_seconds + self.check_seconds + self.input_seconds + self.measure_seconds


@dataclass(frozen=True)
class WorkloadResult:
    name: str
    category: str
    kind: str
    description: str
    throughput: str
    status: Status
    implementations: tuple[ImplementationResult, ...]
    input: InputRecord | None = None
    params: dict[str, ParamValue] = field(default_factory=dict)
    reference_checksum: str | None = None
    error: str | None = None
    offered_rates_rps: tuple[float, ...] = ()  # server workloads: the same rates for every language
    rates_source: str | None = None  # how those rates were chosen, in words (schema >= 5)
    rounds: RoundsRecord | None = None  # batch workloads (schema >= 2)
    cpu_window: CpuWindow | None = None  # schema >= 3
    origin: WorkloadOrigin | None = None  # schema >= 6
    sweep: SweepPoint | None = None  # schema >= 6: a point of `harness sweep`
    cpu_features: tuple[str, ...] = ()  # schema >= 7: the manifest's, see Workload
    # Schema >= 9: the CPUs its programs were given (None: not pinned) and whether the harness
    # process itself could run on one of them (then it competed with the program for it).
    cpus: tuple[int, ...] | None = None
    shares_cpus_with_harness: bool = False
    published: tuple[PublishedFigure, ...] = ()  # the manifest's, see Workload
    phase_sizing: PhaseSizing | None = None  # schema >= 9: server workloads
    # Schema >= 9: concurrent workloads (harness/measure/race.py): each Go implementation's race
    # detector run, each Rust implementation's unsafe count; () when not checked.
    race_checks: tuple[RaceCheck, ...] = ()
    unsafe_counts: tuple[UnsafeCount, ...] = ()
    timing: WorkloadTiming | None = None  # schema >= 12; None in older files: not timed

    def result_for(self, key: str) -> ImplementationResult | None:
        return next((r for r in self.implementations if r.key == key), None)


@dataclass(frozen=True)
class Machine:
    hostname: str
    cpu_model: str
    cpu_count: int
    memory_bytes: int
    kernel: str
    os: str
    python: str
    go_version: str | None
    rustc_version: str | None
    cargo_version: str | None
    git_commit: str | None
    git_branch: str | None
    git_dirty: bool | None
    harness_cpus: tuple[int, ...] | None  # where the harness itself was pinned, if anywhere
    # Every flag /proc/cpuinfo lists (schema >= 7; None in older files or when unreadable): the
    # workloads' libraries pick code paths by some of them (harness/measure/cpufeatures.py).
    cpu_flags: tuple[str, ...] | None = None


@dataclass(frozen=True)
class HostSpec:
    """One host of an inventory reached over SSH (config.load_inventory): a load host, or a
    server host of its own. Where the harness reaches it, the CPUs it may use, and the folder the
    harness may write in there (`shares_server` and `processes` are a load host's)."""

    name: str
    address: str
    user: str
    port: int = 22
    key_file: str | None = None  # None: the SSH agent's or ~/.ssh's default keys
    known_hosts: str | None = None  # None: ~/.ssh/known_hosts (host keys are always checked)
    cpus: tuple[int, ...] | None = None
    work_dir: str = "/tmp/gorust-harness"
    shares_server: bool = False  # the server host itself, said on purpose
    # Load generator processes on this host, each sending an equal part of the host's share: one
    # oha process may not keep a large rate on a host with many cores, and a run that splits the
    # rate over k hosts can be set beside one host split k ways (docs/hosts.md "Fidelity").
    processes: int = 1


@dataclass(frozen=True)
class Inventory:
    """Where servers and load run (--hosts FILE). Servers listen on `server_address`, which every
    load host must reach: on this machine, or on a server host of its own (`server_host`, reached
    over SSH, the harness's agent measuring them there with `server_python`)."""

    path: str
    server_address: str
    server_cpus: tuple[int, ...] | None
    load: tuple[HostSpec, ...]
    server_host: HostSpec | None = None
    server_python: str = "python3"


@dataclass(frozen=True)
class HostMachine:
    """What a remote host is, read over SSH from the same /proc and /sys files as the local
    Machine (harness/servers/remote.py), so results are never compared blind across hosts."""

    hostname: str
    arch: str  # uname -m
    libc: str  # "glibc 2.36", "musl", or what `ldd --version` said
    cpu_model: str
    cpu_count: int
    memory_bytes: int
    kernel: str
    cpu_flags: tuple[str, ...] | None = None
    clock_source: str | None = None  # /sys/devices/system/clocksource/clocksource0
    steal_share: float | None = None  # /proc/stat over one second before the run


@dataclass(frozen=True)
class CopiedFile:
    """A binary the harness copied to a host, its SHA-256 checked there on arrival."""

    name: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class HostRecord:
    name: str
    role: Literal["server", "load"]
    address: str
    cpus: tuple[int, ...] | None  # the CPUs it was told to use (None: all)
    # None for a server host that is this machine: the run's own Machine is it
    machine: HostMachine | None = None
    rtt_seconds: float | None = None  # median TCP connect time from the server host, before the run
    copied: tuple[CopiedFile, ...] = ()
    processes: int = 1  # schema >= 12: load generator processes it ran per stream


@dataclass(frozen=True)
class Topology:
    """Which host did what (schema >= 10). The harness runs on the server host, or reaches a
    server host of its own over SSH and measures the servers there through its agent; the load
    hosts are reached over SSH (asyncssh)."""

    inventory: str  # the inventory file
    transport: str  # e.g. "ssh (asyncssh 2.24.1)"
    hosts: tuple[HostRecord, ...]
    setup_seconds: float  # connecting, checking and copying, before the first workload
    # After the run: processes of the harness's still found on the load hosts (then killed);
    # None when some host could not be asked.
    left_running: int | None = 0

    @property
    def load_hosts(self) -> tuple[HostRecord, ...]:
        return tuple(h for h in self.hosts if h.role == "load")

    def describe(self) -> str:
        """In words, for refusals and the methodology."""
        loads = self.load_hosts
        return f"server on {self.hosts[0].address}, load from {len(loads)} host(s): " + ", ".join(
            f"{h.name} ({h.address})" for h in loads
        )


@dataclass(frozen=True)
class Run:
    schema_version: int
    run_id: str
    started_at: str
    finished_at: str | None
    status: Literal["running", "complete", "interrupted"]
    machine: Machine
    config: RunConfig
    workloads: tuple[WorkloadResult, ...] = ()
    # Runs measured in the same interleaved rounds (harness ab's base and head) share a session,
    # so compare pairs their repetitions round by round.
    session_id: str | None = None
    system: SystemState | None = None  # read once at the start (schema >= 3)
    # Schema >= 10: where servers and load ran when load came from other hosts (--hosts); None
    # when everything ran on this machine.
    topology: Topology | None = None


def measurement_conditions(run: Run) -> dict[str, object]:
    """The measurement conditions two runs must share to be compared. `compare` refuses runs that
    differ in them and the history index keys runs by the same values, so a trend never mixes what
    `compare` would refuse, nor splits what it accepts (the hostname is left out: CI runners get a
    new one per job)."""
    m = run.machine
    return {
        "machine": (m.cpu_model, m.cpu_count, m.memory_bytes),
        "Go toolchain": m.go_version,
        "Rust toolchain": m.rustc_version,
        "input size": run.config.size,
        "CPU pinning": run.config.cpu_affinity,
        # Load from other hosts changes what a server's latency includes (a real network): a
        # multi-host run is never compared with a one-machine run without --allow-mixed.
        "load hosts": run.topology.describe() if run.topology else "none (one machine)",
    }


# --- CPU profiles (harness profile; a file of their own, results/profiles/<run-id>.json) ---------


@dataclass(frozen=True)
class FoldedStack:
    """One call stack, root first, frames joined by ';' (FlameGraph's folded format), and how many
    samples ended in it. Kernel frames end in `_[k]`."""

    stack: str
    samples: int


@dataclass(frozen=True)
class ImplementationProfile(Keyed):
    """One implementation profiled with perf: the raw folded stacks and the figures that say how
    far to trust them. Categories and tables are derived from the stacks (harness/analysis/stacks.py)."""

    lang: Lang
    variant: str
    ok: bool
    binary_path: str | None = None
    # How the profiled binary was built: the timed binary itself (Go: frame pointers are on by
    # default on amd64) or a separate profiling build (Rust: frame pointers and debug info).
    build_flags: str = ""
    profiling_build: bool = False
    # The profiled binary's sources and toolchain are those of the measured run's binary.
    same_source_as_run: bool | None = None
    command: tuple[str, ...] = ()  # perf's argv as run
    period_seconds: float = 0.0  # CPU time between two samples (perf record -c, cpu-clock in ns)
    samples: int = 0  # samples of the program's own process (every thread), all profiled runs
    # CPU time of the program over the profiled spans, summed (the base of coverage): rusage
    # user + sys from the launcher (batch), psutil's CPU times around perf's span (servers).
    process_cpu_seconds: float = 0.0
    # Batch: each profiled run (short programs run until enough samples are taken) and the
    # unprofiled run right before each, pinned alike: wall and CPU (user + sys) per run.
    profiled_wall_seconds: tuple[float, ...] = ()
    profiled_cpu_seconds: tuple[float, ...] = ()
    unprofiled_wall_seconds: tuple[float, ...] = ()
    unprofiled_cpu_seconds: tuple[float, ...] = ()
    # Servers: closed-loop throughput with perf attached and in the phase right before.
    profiled_rps: float | None = None
    unprofiled_rps: float | None = None
    profiled_requests: int | None = None  # servers: requests in the profiled phase
    unnamed_leaf_samples: int = 0  # leaves inside the binary perf could not name (no symbols)
    own_code: tuple[str, ...] = ()  # Go package prefixes or Rust crate names of the program's own
    stacks: tuple[FoldedStack, ...] = ()
    notes: tuple[str, ...] = ()  # too few samples, missing symbols, low coverage
    error: str | None = None


@dataclass(frozen=True)
class WorkloadProfile:
    name: str
    kind: str
    params: dict[str, ParamValue]
    implementations: tuple[ImplementationProfile, ...] = ()
    load: str | None = None  # servers: the load during the profile, in words
    error: str | None = None

    def profile_for(self, key: str) -> ImplementationProfile | None:
        return next((p for p in self.implementations if p.key == key), None)


@dataclass(frozen=True)
class ProfileRun:
    """`harness profile`'s file: the default implementations of a measured run's workloads,
    profiled apart from its timed repetitions (which they never touch)."""

    schema_version: int
    run_id: str  # the measured run these profiles explain
    started_at: str
    finished_at: str | None
    size: Literal["full", "quick"]
    perf_version: str | None
    event: str  # e.g. "cpu-clock (software timer; this machine has no hardware PMU)"
    cpu_affinity: tuple[int, ...] | None
    workloads: tuple[WorkloadProfile, ...] = ()
    hardware_counters: str = ""  # perf stat cycles/instructions, or why they are unavailable
    elapsed_seconds: float | None = None  # the whole `harness profile` command
    error: str | None = None  # perf missing or not permitted: nothing was profiled
