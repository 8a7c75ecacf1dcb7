"""The server protocol: check each implementation, choose the offered rates, then measure every
rate k times, each replicate on a fresh server, implementations in counterbalanced order.

1. Selection pass, per implementation alone (never two servers alive at once, so an idle Go
   server's GC cannot steal the other's CPU): start it, record idle RSS and what its TCP
   transport does (transport.py), check its answers byte for byte against the other language's,
   warm up (discarded), and probe saturation closed loop.
2. Rates: fixed on the command line (--rates) or in the manifest ([server.rates]), else fractions
   of the slowest default's probe. The run records which (WorkloadResult.rates_source), so two runs
   at fixed rates can be compared rate by rate.
   Phase lengths: long enough for the request target, and for a workload whose Go phases must
   contain GC cycles (`[server] min_gc_cycles`), long enough for them at the GC rate the Go probes
   showed (phase_lengths); the same length for both languages at a rate, said before measuring.
3. Replicates 1..k. In each, every implementation in turn, in the order the run's schedule gives
   that round (a Williams square: Go/Rust alternate ABBA), starts a fresh server, warms up at the
   replicate's first rate, runs every rate (ascending in odd replicates, descending in even ones,
   so warm-up, drift and heap growth do not fold into "rate"), then a short closed-loop probe, and
   stops. A fresh server per replicate makes the replicates independent: what one server's
   lifetime did (its heap, its JIT-free but allocator-warm state) is one sample, not all of them.

A server that will not start, or dies, fails that replicate's phases with its stderr tail; the
other replicates and implementations go on. Servers are stopped (SIGTERM, then SIGKILL after a
grace period) on every path; processes a server leaves running are killed and fail it.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from harness.analysis import phases as phase_analysis
from harness.measure.launcher import Executor, available_cpus
from harness.measure.noise import (
    CpuClock,
    StatReader,
    process_cpu_seconds,
    read_cpu_times,
    start_cpu_window,
)
from harness.measure.runner import Progress, conclude_workload
from harness.measure.schedule import Schedule
from harness.model import (
    BackendRecord,
    BuildRecord,
    Implementation,
    ImplementationResult,
    InputRecord,
    PhaseLength,
    PhaseSizing,
    RunConfig,
    ServerPhase,
    ServerSettings,
    Workload,
    WorkloadResult,
)
from harness.servers import lifecycle
from harness.servers.drive import PhaseDriver, failed_phase, loadgen_cpu_set
from harness.servers.hosting import LOCAL, ServerHost
from harness.servers.lifecycle import RunningServer, ServerFailure, note_leftovers


def rate_setters(workload: Workload) -> tuple[str, ...]:
    """The implementations whose saturation sets the rates: the defaults (in `harness ab`, base
    and head defaults alike, whose variants start with "default-")."""
    return tuple(
        i.key for i in workload.implementations if i.is_default or i.variant.startswith("default-")
    )


def choose_rates(
    workload: Workload,
    size: str,
    settings: ServerSettings,
    probes: Mapping[str, ServerPhase],
    setters: Sequence[str],
) -> tuple[tuple[float, ...], str]:
    """(offered rates, how they were chosen in words). Fixed rates win: the command line's, then
    the manifest's for this size; otherwise fractions of the slowest setter's closed-loop probe.
    No rates (and the reason) when none of the setters finished its probe."""
    if settings.rates_rps:
        return tuple(settings.rates_rps), "fixed on the command line (--rates)"
    fixed = workload.server.rates_rps.get(size) if workload.server else None
    if fixed:
        return tuple(fixed), f"fixed in {workload.manifest_path} ([server.rates] {size})"
    measured = {
        k: probes[k].achieved_rps
        for k in setters
        if k in probes and probes[k].ok and probes[k].achieved_rps > 0
    }
    if not measured:
        return (), "no default implementation finished its saturation probe: no rate to offer"
    slowest = min(measured, key=lambda k: measured[k])
    fractions = ", ".join(f"{f:g}" for f in settings.rate_fractions)
    rates = tuple(float(round(f * measured[slowest])) for f in settings.rate_fractions)
    return rates, (
        f"fractions {fractions} of the slowest default's closed-loop saturation "
        f"({slowest}: {measured[slowest]:,.0f} req/s in a {settings.probe_seconds:g} s probe)"
    )


# Fixed-rate phases of a workload with `[server] min_gc_cycles` are sized for this many times the
# cycles it requires (phase_lengths), at most GC_PHASE_CAP_FACTOR x max_phase_seconds.
GC_PHASE_MARGIN = 1.5
GC_PHASE_CAP_FACTOR = 4.0
# A GC rate from fewer cycles than this in the probe is said to be rough.
GC_RATE_FEW_CYCLES = 3


def gc_cycles_per_request(probe: ServerPhase) -> float | None:
    """Go GC cycles per answered request in a phase's window (both cover the same window, the load
    generator's span); None without a GC trace or without an answered request."""
    answered = probe.achieved_rps * probe.duration_seconds
    if probe.gc_cycles is None or answered <= 0:
        return None
    return len(probe.gc_cycles) / answered


def _base_text(settings: ServerSettings) -> str:
    if settings.min_phase_seconds == settings.max_phase_seconds:
        return f"every fixed-rate phase {settings.min_phase_seconds:g} s"
    return (
        f"long enough for {settings.target_requests_per_phase:,} requests, "
        f"{settings.min_phase_seconds:g}–{settings.max_phase_seconds:g} s"
    )


def phase_lengths(
    workload: Workload,
    rates: Sequence[float],
    settings: ServerSettings,
    probes: Mapping[str, ServerPhase],
    implementations: Sequence[Implementation],
    base_seconds: Callable[[float], float],
) -> tuple[PhaseSizing, tuple[str, ...]]:
    """How long each rate's fixed-rate phases run, and what to say about it before measuring.

    Every phase is at least `base_seconds(rate)` (the request target within the size's bounds, or
    --phase-seconds). A workload whose Go phases must contain `min_gc_cycles` GC cycles to count
    (kv-cache: a phase that ends before Go collects shows only its between-collection latency)
    gets phases of min_gc_cycles x GC_PHASE_MARGIN / (c x rate) seconds, where c is the GC cycles
    per answered request in a Go implementation's closed-loop saturation probe (the selection
    pass). Why per request: Go starts a cycle when the heap has grown by GOGC % of the live heap
    since the last one, so the cycles a phase holds follow the bytes allocated, that is the
    requests answered, whatever the rate. Of the Go implementations that must contain cycles, the
    one with the fewest cycles per request sets c, and both languages get the same length at a
    rate (the Rust phase beside a Go one covers the same load for as long).

    Why a margin of 1.5: a window of T seconds holds floor or ceil of T / P cycles of period P,
    and the probe's own count is just as coarse: a probe that counted 3 cycles may have caught the
    ends of the window, overstating the rate by up to 3/2. 1.5 keeps the required cycles when the
    probe's rate is that far off, for half as much time again rather than double. A rate from
    fewer than GC_RATE_FEW_CYCLES cycles is said to be rough. What the margin covers only in part:
    a replicate's first phase runs on a fresh server whose first cycle waits for the heap goal
    left by the preload, which a slow rate reaches later than the saturated warm-up before the
    probe did; the phase's own count, not this estimate, decides whether it counts.

    The length is capped (settings.gc_phase_cap_seconds: 4 x max_phase_seconds by default, 40 s in
    a full run), so a low rate cannot make the run hours long. A rate whose phases need more is
    measured at the cap and marked (PhaseLength.capped, and a flag on its Go phases), not skipped:
    the cycles a phase actually held decide whether it counts (phase_analysis.too_few_gc_cycles),
    a prediction from a probe's few cycles is too coarse to drop a rate on, and Rust's figures at
    that rate are still measured; the cost is bounded by the cap. A Go probe that held no cycle at
    all leaves its rate unknown: said, and the lengths come from the others (or stay as they are).
    """
    base = {rate: base_seconds(rate) for rate in rates}
    plain = tuple(PhaseLength(offered_rps=rate, seconds=base[rate]) for rate in rates)
    source = _base_text(settings)
    required = workload.server.min_gc_cycles if workload.server else 0
    if not required:
        return PhaseSizing(source=source, lengths=plain), ()
    margin, cap = settings.gc_phase_margin, settings.gc_phase_cap_seconds
    if margin <= 0:
        fixed = (
            " (--phase-seconds)" if settings.min_phase_seconds == settings.max_phase_seconds else ""
        )
        text = f"{source}{fixed}; not sized by Go's GC rate"
        return PhaseSizing(source=text, lengths=plain), (
            f"phases {text}: Go phases with fewer than {required} GC cycles will not count",
        )
    go = [
        i
        for i in implementations
        if phase_analysis.gc_cycles_required(required, i.lang, dict(i.env)) is not None
    ]
    notes = []
    measured: dict[str, float] = {}
    for impl in go:
        probe = probes.get(impl.key)
        rate = gc_cycles_per_request(probe) if probe is not None and probe.ok else None
        if rate is None:
            notes.append(
                f"{impl.key}: no saturation probe with a GC trace, so its GC rate is unknown "
                "and the phases are not sized by it"
            )
        elif rate == 0:
            notes.append(
                f"{impl.key}: its saturation probe held no GC cycle in "
                f"{probe.achieved_rps * probe.duration_seconds:,.0f} requests "
                f"({probe.duration_seconds:.1f} s), so its GC rate is unknown: the phases cannot "
                f"be sized to hold {required} cycles, and its phases with fewer will not count"
            )
        else:
            measured[impl.key] = rate
    if not measured:
        text = f"{source}; not sized by Go's GC rate (no Go probe measured one)"
        return PhaseSizing(source=text, lengths=plain), tuple(notes)
    slowest = min(measured, key=lambda k: measured[k])
    per_request = measured[slowest]
    probe = probes[slowest]
    cycles = len(probe.gc_cycles or ())
    lengths = []
    for rate in rates:
        needed = required * margin / (per_request * rate)
        limit = max(base[rate], cap) if cap > 0 else math.inf
        lengths.append(
            PhaseLength(
                offered_rps=rate,
                seconds=min(max(base[rate], needed), limit),
                gc_seconds_needed=needed,
                capped=needed > limit,
            )
        )
    text = (
        f"at least {required} x {margin:g} Go GC cycles a phase at the GC rate of {slowest}'s "
        f"saturation probe ({cycles} cycle{'s' if cycles != 1 else ''} in "
        f"{probe.achieved_rps * probe.duration_seconds:,.0f} requests, one per "
        f"{1 / per_request:,.0f}), at most {cap:g} s, and {source}"
    )
    shown = ", ".join(f"{p.offered_rps:,.0f} req/s {p.seconds:.1f} s" for p in lengths)
    notes.append(f"phases sized {text}: {shown}")
    if cycles < GC_RATE_FEW_CYCLES:
        notes.append(
            f"the GC rate comes from {cycles} cycle{'s' if cycles != 1 else ''} in "
            f"{slowest}'s probe: rough (the count may be one off by where its window fell)"
        )
    for p in lengths:
        if p.capped:
            expected = per_request * p.offered_rps * p.seconds
            notes.append(
                f"{p.offered_rps:,.0f} req/s: {required} x {margin:g} cycles need "
                f"{p.gc_seconds_needed:.0f} s, over the {p.seconds:g} s cap: measured at the cap, "
                f"where about {expected:.1f} cycles are expected; Go phases with fewer than "
                f"{required} will not count"
            )
    return (
        PhaseSizing(
            source=text,
            lengths=tuple(lengths),
            gc_cycles_per_request=per_request,
            gc_rate_from=slowest,
        ),
        tuple(notes),
    )


def capped_flag(length: PhaseLength, required: int, margin: float) -> str:
    """The mark on a Go phase that ran at the cap, shorter than its GC rate asked for."""
    return (
        f"phase capped at {length.seconds:g} s: the probe's GC rate asks for "
        f"{length.gc_seconds_needed or 0:.0f} s to hold {required} x {margin:g} GC cycles"
    )


def rate_order(rates: Sequence[float], replicate: int) -> tuple[float, ...]:
    """Ascending in odd replicates, descending in even ones."""
    ordered = tuple(sorted(rates))
    return ordered if replicate % 2 else ordered[::-1]


def primary_get_path(workload: Workload, params: Mapping[str, object]) -> str | None:
    """The first GET stream's path with its parameters filled (a regex path cannot be sent
    as is, so those are skipped): the answer whose writes transport.observe counts."""
    assert workload.server is not None
    for stream in workload.server.requests:
        if stream.method == "GET" and not stream.rand_regex:
            return lifecycle.fill(stream.path, params)
    return None


class ServerRunner:
    """Runs one server workload; same call signature as runner.run_batch_workload. /proc/stat
    (`read_stat`) and the harness's CPU time (`cpu_clock`) are read around the whole protocol."""

    def __init__(
        self,
        oha: Path,
        settings: ServerSettings,
        work_dir: Path,
        launcher: Path,
        read_stat: StatReader = read_cpu_times,
        cpu_clock: CpuClock = process_cpu_seconds,
        driver: PhaseDriver | None = None,
        host: ServerHost = LOCAL,
    ):
        # `driver` is the seam a test drives the protocol through without a load generator: any
        # object with PhaseDriver's settings, oha, run_phase and phase_seconds.
        self.driver = driver or PhaseDriver(oha, settings, read_stat)
        self.work_dir = work_dir
        self.launcher = launcher  # measure.ensure_launcher's
        self.host = host  # where the servers run (hosting.RemoteServerHost: a host of their own)
        self.read_stat = read_stat
        self.cpu_clock = cpu_clock

    @property
    def settings(self) -> ServerSettings:
        return self.driver.settings

    @property
    def oha(self) -> Path:
        return self.driver.oha

    # --- the parts, for callers and tests that drive one step ---------------------------------

    def start(
        self,
        workload: Workload,
        impl: Implementation,
        build: BuildRecord,
        params: Mapping[str, object],
        folder: Path,
        backend_build: BuildRecord | None = None,
    ) -> RunningServer:
        return lifecycle.start(
            self.launcher,
            self.settings,
            workload,
            impl,
            build,
            params,
            folder,
            backend_build,
            self.host,
        )

    def request_bodies(
        self, workload, server, params, input_path: str | None = None
    ) -> dict[str, bytes | None]:
        return lifecycle.request_bodies(workload, server, params, input_path)

    def run_phase(self, *args, **kwargs) -> ServerPhase:
        return self.driver.run_phase(*args, **kwargs)

    def environment(self, impl: Implementation) -> dict[str, str]:
        return lifecycle.environment(impl, self.settings.parallelism, self.settings.listen_address)

    def _cpus_line(self) -> str:
        """Where the servers and the load generator run, said before measuring."""
        s = self.settings
        server, loadgen = s.server_cpus or available_cpus(), loadgen_cpu_set(s)
        shared = sorted(set(server) & set(loadgen))
        where = phase_analysis.cpu_list
        hosts = getattr(self.driver, "hosts", ())  # spread.SpreadDriver's load hosts
        if hosts:
            return (
                f"servers on CPU(s) {where(server)}{'' if s.server_cpus else ' (unpinned)'} at "
                f"{s.listen_address}, {s.parallelism} worker(s) on both runtimes; load from "
                f"{len(hosts)} host(s): {', '.join(h.name for h in hosts)}, rate/{len(hosts)} each"
            )
        text = (
            f"servers on CPU(s) {where(server)}{'' if s.server_cpus else ' (unpinned)'}, "
            f"{s.parallelism} worker(s) on both runtimes; load generator on CPU(s) "
            f"{where(loadgen)}{'' if s.loadgen_cpus else ' (unpinned)'}"
        )
        if shared:
            text += f"; {phase_analysis.shared_cpus_flag(shared)}, and every phase records it"
        return text

    # --- the workload -------------------------------------------------------------------------

    def __call__(
        self,
        workload: Workload,
        builds: Mapping[str, BuildRecord],
        input_record: InputRecord | None,
        config: RunConfig,
        executor: Executor,
        progress: Progress = lambda _: None,
        setters: Sequence[str] | None = None,
    ) -> WorkloadResult:
        """`setters`: the implementations whose saturation sets the rates (rate_setters)."""
        params = workload.params[config.size]
        runnable = [i for i in workload.implementations if builds[i.key].ok]
        errors = {
            i.key: builds[i.key].error or "build failed"
            for i in workload.implementations
            if not builds[i.key].ok
        }
        folder = Path(tempfile.mkdtemp(prefix=f"{workload.name}-", dir=self.work_dir))
        close_window = start_cpu_window(self.read_stat, self.cpu_clock)
        state = _State(
            workload, builds, params, config, executor, progress, folder, errors, runnable
        )
        state.input_path = input_record.path if input_record else None
        for impl in runnable:
            backend = workload.backend_of(impl)
            if backend is not None and not builds[backend.key].ok:
                errors[impl.key] = (
                    f"back end {backend.name} ({backend.key}) did not build: "
                    f"{builds[backend.key].error or 'build failed'}"
                )
        runnable = [i for i in runnable if i.key not in errors]

        for impl in runnable:
            try:
                self._select(state, impl)
            except ServerFailure as exc:  # its server host stopped answering (hosting.py)
                state.errors[impl.key] = str(exc)
                progress(f"{workload.name} {impl.key}: {exc}")
        rates, source = choose_rates(
            workload,
            config.size,
            self.settings,
            state.probes,
            setters or rate_setters(workload),
        )
        progress(
            f"{workload.name}: offered rates {', '.join(f'{r:g}' for r in rates) or 'none'}"
            f" req/s ({source}); {self.settings.replicates} replicate(s)"
        )
        progress(f"{workload.name}: {self._cpus_line()}")
        if rates:
            measured = [i for i in runnable if i.key not in errors]
            state.sizing, notes = phase_lengths(
                workload, rates, self.settings, state.probes, measured, self.driver.phase_seconds
            )
            for note in notes:
                progress(f"{workload.name}: {note}")
            schedule = Schedule(
                len(measured), config.order, config.seed, workload.name, config.reverse
            )
            k = self.settings.replicates
            for replicate in range(1, k + 1):
                for index in schedule.round_order(replicate - 1):
                    self._replicate(state, measured[index], replicate, rates)
            for replicate in range(k + 1, k + 1 + self.settings.extra_replicates):
                short = _short_of_undisturbed(state, measured, rates, k)
                if not short:
                    break
                progress(f"{workload.name}: extra replicate {replicate} ({short})")
                for index in schedule.round_order(replicate - 1):
                    self._replicate(state, measured[index], replicate, rates)
            for impl in measured:
                ok = [p for p in state.phases[impl.key] if p.replicate is not None and p.ok]
                if not ok and impl.key not in errors:
                    failures = [p.error for p in state.phases[impl.key] if p.replicate and p.error]
                    errors[impl.key] = "no replicate ran: " + (
                        failures[0] if failures else "unknown"
                    )

        window = close_window()
        reference = state.digests.get("go/default") or state.digests.get("rust/default")
        results = []
        workload_error = None
        for impl in workload.implementations:
            status = "ok"
            error = errors.get(impl.key)
            if not builds[impl.key].ok:
                status = "build_failed"
            elif error:
                status = "failed"
            elif reference is not None and state.digests.get(impl.key) != reference:
                status = "checksum_mismatch"
                error = (
                    f"responses differ: {impl.key} digest {state.digests.get(impl.key)}, "
                    f"reference {reference}"
                )
                if impl.is_default:
                    workload_error = error
            results.append(
                ImplementationResult(
                    lang=impl.lang,
                    variant=impl.variant,
                    library=impl.library,
                    status=status,
                    build=builds[impl.key],
                    error=error,
                    phases=tuple(state.phases[impl.key]),
                    idle_rss_bytes=state.idle_rss.get(impl.key),
                    parallelism={k: v for k, v in self.environment(impl).items() if k != "GODEBUG"},
                    transport=state.transports.get(impl.key, {}),
                    backend=_backend_record(workload, impl, builds, state.backend_idle_rss),
                    direct_phases=tuple(state.direct[impl.key]),
                )
            )
        return conclude_workload(
            workload,
            results,
            input_record,
            params,
            reference,
            workload_error,
            offered_rates_rps=rates,
            rates_source=source,
            cpu_window=window,
            phase_sizing=state.sizing,
        )

    def _select(self, state: _State, impl: Implementation) -> None:
        """Alone: verify the answers, warm up, probe saturation closed loop."""
        s, name = self.settings, state.workload.name
        try:
            server = self._start(state, impl)
        except ServerFailure as exc:
            state.errors[impl.key] = str(exc)
            state.progress(f"{name} {impl.key}: {exc}")
            return
        with server:
            time.sleep(0.5)
            state.idle_rss[impl.key] = server.process.rss_bytes()
            if server.backend is not None:
                state.backend_idle_rss[impl.key] = server.backend.process.rss_bytes()
            assert state.workload.server is not None
            try:
                state.transports[impl.key] = server.host.observe_transport(
                    server.process.pid,
                    server.port,
                    state.workload.server.health,
                    primary_get_path(state.workload, state.params),
                    server.address,
                )
                bodies = self.request_bodies(state.workload, server, state.params, state.input_path)
                state.digests[impl.key] = lifecycle.response_digest(
                    state.workload, server, state.params, bodies
                )
                changed = self._changed_in_passing(state, server, bodies, state.digests[impl.key])
            except (OSError, ServerFailure) as exc:  # it answered /health, then died or hung up
                state.errors[impl.key] = f"server stopped answering ({exc}): {server.stderr_tail()}"
                state.progress(f"{name} {impl.key}: {state.errors[impl.key]}")
                server.stop(s.stop_grace_seconds)
                note_leftovers(state.errors, impl.key, server)
                return
            if changed:  # its answers are not the back end's: no reference for the others
                del state.digests[impl.key]
                state.errors[impl.key] = changed
                state.progress(f"{name} {impl.key}: {changed}")
                server.stop(s.stop_grace_seconds)
                note_leftovers(state.errors, impl.key, server)
                return
            self._phase(state, impl, server, bodies, "warmup", None, s.warmup_seconds)
            probe = self._phase(state, impl, server, bodies, "saturation", None, s.probe_seconds)
            server.stop(s.stop_grace_seconds)
        state.probes[impl.key] = probe
        state.phases[impl.key].append(probe)
        state.progress(
            f"{name} {impl.key}: saturation {probe.achieved_rps:.0f} req/s (closed loop)"
            + (f" ({probe.error})" if probe.error else "")
        )
        if not probe.ok:
            state.errors[impl.key] = f"saturation probe failed: {probe.error}"
        note_leftovers(state.errors, impl.key, server)

    def _replicate(
        self, state: _State, impl: Implementation, replicate: int, rates: Sequence[float]
    ) -> None:
        """One replicate of one implementation: a fresh server, warm-up, every rate, the probe.
        A server that dies is restarted for the rest; one that will not start fails what is left
        of this replicate, with the reason."""
        s, name = self.settings, state.workload.name
        plan: list[tuple[str, float | None]] = [
            (f"rate={rate:g}", rate) for rate in rate_order(rates, replicate)
        ]
        if s.replicate_probe_seconds > 0:
            plan.append(("saturation", None))
        server: RunningServer | None = None
        bodies: Mapping[str, bytes | None] = {}
        extra = " (extra)" if replicate > s.replicates else ""
        tag = f"{name} {impl.key} replicate {replicate}/{s.replicates}{extra}"
        try:
            for done, (label, rate) in enumerate(plan):
                try:
                    if server is None or server.death() is not None:
                        if server is not None:
                            server.stop(0)
                            note_leftovers(state.errors, impl.key, server)
                        try:
                            server = self._start(state, impl)
                            bodies = self.request_bodies(
                                state.workload, server, state.params, state.input_path
                            )
                        except OSError as exc:
                            raise ServerFailure(str(exc)) from exc
                        first_rate = rate if rate is not None else min(rates)
                        self._phase(
                            state, impl, server, bodies, "warmup", first_rate, s.warmup_seconds
                        )
                    length = state.length(rate) if rate is not None else None
                    seconds = length.seconds if length else s.replicate_probe_seconds
                    phase = self._phase(
                        state, impl, server, bodies, label, rate, seconds, replicate
                    )
                except ServerFailure as exc:  # it will not start, or its host stopped answering
                    message = f"replicate {replicate}: {exc}"
                    state.progress(f"{tag}: {exc}")
                    state.phases[impl.key] += [
                        failed_phase(lbl, r, replicate, message) for lbl, r in plan[done:]
                    ]
                    return
                if length and length.capped and phase.gc_cycles_required is not None:
                    flag = capped_flag(length, phase.gc_cycles_required, s.gc_phase_margin)
                    phase = replace(phase, flags=(*phase.flags, flag))
                state.phases[impl.key].append(phase)
                state.progress(_phase_line(tag, phase))
                if rate is not None and state.workload.server.direct_phases:
                    self._direct(state, impl, server, bodies, rate, seconds, replicate, tag)
        finally:
            if server is not None:
                server.stop(s.stop_grace_seconds)
                note_leftovers(state.errors, impl.key, server)

    def _changed_in_passing(
        self,
        state: _State,
        server: RunningServer,
        bodies: Mapping[str, bytes | None],
        digest: str,
    ) -> str | None:
        """With direct phases (a proxy), the answers through the front must be the back end's
        own, byte for byte: the same check requests sent straight to the back end give the same
        digest, or the front changed bytes in passing (said, and the front fails)."""
        backend = server.backend
        if not state.workload.server.direct_phases or backend is None or backend.port is None:
            return None
        direct = RunningServer(
            backend.process, backend.port, backend.stderr_path, host=backend.host
        )
        straight = lifecycle.response_digest(state.workload, direct, state.params, bodies)
        if straight == digest:
            return None
        return (
            f"answers through the front differ from its back end's own (digest {digest}, "
            f"straight to {backend.spec.name} {straight}): bytes changed in passing"
        )

    def _start(self, state: _State, impl: Implementation) -> RunningServer:
        backend = state.workload.backend_of(impl)
        return self.start(
            state.workload,
            impl,
            state.builds[impl.key],
            state.params,
            state.folder,
            state.builds.get(backend.key) if backend else None,
        )

    def _direct(
        self,
        state: _State,
        impl: Implementation,
        server: RunningServer,
        bodies: Mapping[str, bytes | None],
        rate: float,
        seconds: float,
        replicate: int,
        tag: str,
    ) -> None:
        """The same rate sent straight to the server's back end, right after the phase through
        the front, in the same replicate: the baseline the front's added latency is paired with
        (`[server] direct_phases`, a proxy). The back end is the measured server here."""
        backend = server.backend
        if backend is None or backend.port is None or server.death() is not None:
            return
        direct = RunningServer(
            backend.process, backend.port, backend.stderr_path, host=backend.host
        )
        label = f"direct rate={rate:g}"
        phase = self._phase(state, impl, direct, bodies, label, rate, seconds, replicate)
        state.direct[impl.key].append(phase)
        state.progress(_phase_line(tag, phase))

    def _phase(
        self,
        state: _State,
        impl: Implementation,
        server: RunningServer,
        bodies: Mapping[str, bytes | None],
        label: str,
        rate: float | None,
        seconds: float,
        replicate: int | None = None,
    ) -> ServerPhase:
        return self.driver.run_phase(
            label,
            state.workload,
            impl,
            server,
            state.params,
            bodies,
            rate,
            seconds,
            state.config,
            state.executor,
            state.folder,
            replicate,
        )


def _short_of_undisturbed(
    state: _State, measured: Sequence[Implementation], rates: Sequence[float], k: int
) -> str:
    """Where fewer than k replicates were left undisturbed (phase_analysis.disturbance), in
    words; "" when every implementation has k at every rate. Failed phases do not count as
    short: a server that fails is the finding, not a disturbance to measure around."""
    short = []
    for impl in measured:
        for rate in rates:
            phases = [
                p
                for p in state.phases[impl.key]
                if p.replicate is not None and p.offered_rps == rate
            ]
            calm = sum(1 for p in phases if phase_analysis.disturbance(p) is None)
            if calm < k and calm < len(phases):
                short.append(f"{impl.key} @ {rate:g} req/s: {calm} of {k} undisturbed")
    return "; ".join(short)


def _backend_record(
    workload: Workload,
    impl: Implementation,
    builds: Mapping[str, BuildRecord],
    idle_rss: Mapping[str, int],
) -> BackendRecord | None:
    spec = workload.backend_of(impl)
    if spec is None or spec.key not in builds:
        return None
    return BackendRecord(
        name=spec.name,
        lang=spec.implementation.lang,
        path=spec.implementation.path,
        library=spec.implementation.library,
        protocol=spec.protocol,
        transport=spec.transport,
        cpus_policy=spec.cpus,
        build=builds[spec.key],
        idle_rss_bytes=idle_rss.get(impl.key),
    )


def _phase_line(tag: str, phase: ServerPhase) -> str:
    p99 = phase.latency.p99_seconds * 1e3 if phase.latency else float("nan")
    loop = "" if phase.offered_rps is not None else " (closed loop)"
    return (
        f"{tag} {phase.phase}{loop}: achieved {phase.achieved_rps:.0f}, p99 {p99:.2f} ms"
        + (f" [{'; '.join(phase.flags)}]" if phase.flags else "")
        + (f" FAILED: {phase.error}" if phase.error else "")
    )


class _State:
    """What one workload's protocol accumulates across the selection pass and the replicates."""

    def __init__(
        self,
        workload: Workload,
        builds: Mapping[str, BuildRecord],
        params: Mapping[str, object],
        config: RunConfig,
        executor: Executor,
        progress: Progress,
        folder: Path,
        errors: dict[str, str],
        runnable: Sequence[Implementation],
    ):
        self.workload, self.builds, self.params = workload, builds, params
        self.config, self.executor, self.progress = config, executor, progress
        self.folder, self.errors = folder, errors
        self.digests: dict[str, str] = {}
        self.probes: dict[str, ServerPhase] = {}
        self.idle_rss: dict[str, int] = {}
        self.transports: dict[str, dict[str, str]] = {}
        self.phases: dict[str, list[ServerPhase]] = {i.key: [] for i in workload.implementations}
        self.direct: dict[str, list[ServerPhase]] = {i.key: [] for i in workload.implementations}
        self.backend_idle_rss: dict[str, int] = {}
        self.input_path: str | None = None
        self.sizing: PhaseSizing | None = None

    def length(self, rate: float) -> PhaseLength:
        assert self.sizing is not None
        return next(p for p in self.sizing.lengths if p.offered_rps == rate)


def default_settings(
    size: str,
    loadgen_name: str,
    server_cpus: tuple[int, ...] | None,
    loadgen_cpus: tuple[int, ...] | None,
    replicates: int | None = None,
    rates_rps: tuple[float, ...] = (),
) -> ServerSettings:
    """Full: 5 replicates of 4 rates at 5-10 s a phase (about 6 min a workload here), and up to 2
    extra replicates when CPU steal disturbed some (about 70 s each); quick: 2 replicates of 2
    rates (a low and a high load: the smoke run is to show every server working and what its
    report looks like, and four rates made servers most of its time) in 2 s phases, no
    closed-loop probe per replicate (the selection pass's probe stands) and no extra ones: the
    cold smoke run's ten minutes (README). A replicate's phase aims at 20,000 requests: five of them pool
    100,000 (phase_analysis.TRUSTWORTHY_P999_REQUESTS); a workload whose Go phases must contain
    GC cycles gets longer ones, up to 4x the longest (phase_lengths). Both runtimes get one
    worker per server CPU (server_parallelism)."""
    full = size == "full"
    max_phase = 10.0 if full else 2.0
    return ServerSettings(
        loadgen=loadgen_name,
        server_cpus=server_cpus,
        loadgen_cpus=loadgen_cpus,
        parallelism=server_parallelism(server_cpus),
        connections=64,
        warmup_seconds=2.0 if full else 1.0,
        probe_seconds=10.0 if full else 2.0,
        min_phase_seconds=5.0 if full else 2.0,
        max_phase_seconds=max_phase,
        target_requests_per_phase=phase_analysis.TRUSTWORTHY_P999_REQUESTS // 5,
        rate_fractions=(0.25, 0.5, 0.75, 0.9) if full else (0.25, 0.75),
        ready_timeout_seconds=120.0 if full else 30.0,
        stop_grace_seconds=2.0,
        replicates=replicates or (5 if full else 2),
        extra_replicates=2 if full else 0,
        replicate_probe_seconds=3.0 if full else 0.0,
        rates_rps=tuple(rates_rps),
        gc_phase_margin=GC_PHASE_MARGIN,
        gc_phase_cap_seconds=GC_PHASE_CAP_FACTOR * max_phase,
    )


def server_parallelism(server_cpus: tuple[int, ...] | None) -> int:
    """The worker count both runtimes get: one per server CPU. Unpinned, the server may run on
    every CPU the harness may use, so one per such CPU (what Go's GOMAXPROCS and tokio would
    choose by themselves), not 1, which would leave CPUs it can use without a worker."""
    return len(server_cpus) if server_cpus else len(available_cpus())
