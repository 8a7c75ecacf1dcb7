"""Driving one phase: the load generator's streams against a running server, and what the phase
measured on one time base.

Each [[server.requests]] stream is one oha process (open loop at `rate` x share, or closed loop when
`rate` is None); they run at once, pinned to the load generator's CPUs. Requests, achieved rate,
server CPU and GC cycles all cover one window, the load generator's own span; the peak RSS is the
phase's own (VmHWM reset at its start). Each phase records the CPUs the server could run on (read
back from it), the load generator's (which it has one worker thread per) and the ones they shared,
which the report discloses beside the phase. phase_analysis holds the rules a phase is judged by.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness.analysis import noise
from harness.analysis import phases as phase_analysis
from harness.measure import noise as noise_readings
from harness.measure.gctrace import parse_gctrace
from harness.measure.launcher import Executor, available_cpus
from harness.model import (
    CpuTimes,
    Implementation,
    LoadHostShare,
    RequestStream,
    RunConfig,
    ServerPhase,
    ServerSettings,
    Workload,
)
from harness.servers import loadgen
from harness.servers.lifecycle import RunningServer, fill


@dataclass(frozen=True)
class PhaseDriver:
    """Runs phases with one load generator binary and one set of settings."""

    oha: Path
    settings: ServerSettings
    read_stat: noise_readings.StatReader = noise_readings.read_cpu_times

    def loadgen_cpus(self) -> tuple[int, ...]:
        return loadgen_cpu_set(self.settings)

    def _streams(
        self,
        phase: str,
        workload: Workload,
        impl: Implementation,
        server: RunningServer,
        params: Mapping[str, object],
        bodies: Mapping[str, bytes | None],
        rate: float | None,
        duration: float,
        folder: Path,
        replicate: int | None,
    ) -> list[tuple[RequestStream, loadgen.StreamPlan, Path, Path]]:
        """Each request stream's load-generator plan (its share of the rate and connections) and
        where its summary and per-request database go."""
        assert workload.server is not None
        streams: list[tuple[RequestStream, loadgen.StreamPlan, Path, Path]] = []
        for stream in workload.server.requests:
            body_path = None
            if bodies[stream.name] is not None:
                body_path = folder / f"{workload.name}-{stream.name}.body"
                body_path.write_bytes(bodies[stream.name] or b"")
            plan = loadgen.StreamPlan(
                name=stream.name,
                method=stream.method,
                url=server.base_url + fill(stream.path, params),
                rate_rps=None if rate is None else rate * stream.share,
                duration_seconds=duration,
                connections=max(1, round(self.settings.connections * stream.share)),
                expect_status=stream.expect_status,
                body_path=str(body_path) if body_path else None,
                content_type=stream.content_type,
                rand_regex=stream.rand_regex,
                worker_threads=len(self.loadgen_cpus()),
            )
            tag = f"{impl.lang}-{impl.variant}-{phase.replace('=', '')}-r{replicate or 0}-{stream.name}"
            streams.append((stream, plan, folder / f"{tag}.json", folder / f"{tag}.db"))
        return streams

    def run_phase(
        self,
        phase: str,
        workload: Workload,
        impl: Implementation,
        server: RunningServer,
        params: Mapping[str, object],
        bodies: Mapping[str, bytes | None],
        rate: float | None,
        duration: float,
        config: RunConfig,
        executor: Executor,
        folder: Path,
        replicate: int | None = None,
    ) -> ServerPhase:
        """One phase on `server`; `rate` None is closed loop. A server that died under load fails
        the phase with its stderr tail."""
        streams = self._streams(
            phase, workload, impl, server, params, bodies, rate, duration, folder, replicate
        )
        watch = ServerWatch(server, config.sample_interval_seconds, self.read_stat)
        load = self._load(streams, watch, rate, duration, executor, folder)
        return assemble_phase(phase, workload, impl, server, rate, watch, load, replicate)

    def _load(
        self,
        streams: Sequence[tuple[RequestStream, loadgen.StreamPlan, Path, Path]],
        watch: ServerWatch,
        rate: float | None,
        duration: float,
        executor: Executor,
        folder: Path,
    ) -> LoadRun:
        """The load generator's streams on this machine, at once, pinned to its CPUs."""
        for _, _, summary, db in streams:
            summary.unlink(missing_ok=True)
            db.unlink(missing_ok=True)
        loadgen_cpus = self.loadgen_cpus()
        watch.begin()
        with ThreadPoolExecutor(max_workers=len(streams)) as pool:
            outcomes = list(
                pool.map(
                    lambda s: executor.run(
                        loadgen.oha_argv(self.oha, s[1], s[2], s[3]),
                        env={},
                        cpus=self.settings.loadgen_cpus,
                        timeout_seconds=duration + 60,
                        sample_interval_seconds=0,
                    ),
                    streams,
                )
            )
        watch.end()
        errors_text = []
        results = []
        for (stream, plan, summary, db), outcome in zip(streams, outcomes, strict=True):
            if outcome.exit_code != 0:
                errors_text.append(
                    f"oha ({stream.name}) exit {outcome.exit_code}: {outcome.stderr.strip()[-300:]}"
                )
                continue
            try:
                results.append(loadgen.read_stream(plan, summary, db))
            except ValueError as exc:
                errors_text.append(f"{stream.name}: {exc}")
        loadgen_user = sum(o.user_seconds for o in outcomes)
        loadgen_sys = sum(o.sys_seconds for o in outcomes)
        # One window for requests, CPU and GC: the load generator's own span, not the harness's
        # time around it (oha's start-up and database write), which would dilute the rates.
        window = max((r.span_seconds for r in results), default=0.0) or watch.elapsed
        shared = tuple(
            sorted(
                set(watch.server_cpus or self.settings.server_cpus or available_cpus())
                & set(loadgen_cpus)
            )
        )
        return LoadRun(
            results=tuple(results),
            errors=tuple(errors_text),
            window_start=0.0,
            window=window,
            loadgen_user_seconds=loadgen_user,
            loadgen_sys_seconds=loadgen_sys,
            loadgen_share=(
                (loadgen_user + loadgen_sys) / watch.elapsed if watch.elapsed > 0 else None
            ),
            loadgen_cpus=loadgen_cpus,
            shared_cpus=shared,
        )

    def phase_seconds(self, rate: float) -> float:
        """Long enough for the target request count (2 % spare for the ramp), within the bounds."""
        s = self.settings
        wanted = 1.02 * s.target_requests_per_phase / rate
        return min(s.max_phase_seconds, max(s.min_phase_seconds, wanted))


class ServerWatch:
    """The server's side of a phase, read by the same code whichever host the load came from:
    CPU times, the phase's peak RSS (VmHWM reset), psutil samples and /proc/stat, from `begin`
    (the load's start) to `end`, on the time base of the server's start."""

    def __init__(self, server: RunningServer, interval_seconds: float, read_stat):
        self.server = server
        self.read_stat = read_stat
        self.server_cpus = server.host.cpu_set(server.process.pid)
        self.sampler = server.process.sampler(interval_seconds)
        self.backend = server.backend.process if server.backend else None
        self.backend_cpus = server.host.cpu_set(self.backend.pid) if self.backend else None

    def begin(self) -> None:
        process = self.server.process
        self.sampler.start()
        # A server already dead (and reaped) has no CPU times left to read.
        self.user0, self.sys0 = process.cpu_seconds() if process.exit_code() is None else (0, 0)
        self.peak_reset = process.reset_peak_rss()
        if self.backend is not None:
            self.backend_cpu0 = self.backend.cpu_seconds()
            self.backend_peak_reset = self.backend.reset_peak_rss()
        self.stat_before = self.read_stat()
        self.start = time.perf_counter() - process.started
        self.started_epoch = time.time()  # the same instant on the system clock (other hosts')

    def end(self) -> None:
        process = self.server.process
        self.elapsed = time.perf_counter() - process.started - self.start
        self.stat_after = self.read_stat()
        self.samples = self.sampler.stop()
        self.alive = process.exit_code() is None
        self.user1, self.sys1 = process.cpu_seconds() if self.alive else (self.user0, self.sys0)
        self.death = self.server.death()
        if self.backend is not None:
            # Read at the phase's ends, not interpolated to the load's window as the front's CPU
            # is: the back end works only when the front calls it, so outside the load's span
            # (oha's start-up, its database write) it is idle.
            self.backend_cpu1 = self.backend.cpu_seconds()
            self.backend_peak = (
                self.backend.peak_rss_bytes()
                if self.backend.exit_code() is None and self.backend_peak_reset
                else None
            )


@dataclass(frozen=True)
class LoadRun:
    """What the load generators did in a phase. The results' intended starts are seconds since
    the watch began; the window (the requests, server CPU and GC cycles that count) starts
    `window_start` seconds after it."""

    results: tuple[loadgen.StreamResult, ...]
    errors: tuple[str, ...]
    window_start: float
    window: float
    loadgen_user_seconds: float
    loadgen_sys_seconds: float
    loadgen_share: float | None  # its CPU over its wall time, for the busy flag (None: per host)
    loadgen_cpus: tuple[int, ...]
    shared_cpus: tuple[int, ...]
    flags: tuple[str, ...] = ()
    load_hosts: tuple[LoadHostShare, ...] = ()
    hosts_overhead_seconds: float | None = None


def assemble_phase(
    phase: str,
    workload: Workload,
    impl: Implementation,
    server: RunningServer,
    rate: float | None,
    watch: ServerWatch,
    load: LoadRun,
    replicate: int | None,
) -> ServerPhase:
    """The phase's record: the load's requests merged exactly, the server's CPU, peak RSS and GC
    cycles over the same window, and every flag."""
    assert workload.server is not None
    errors_text = list(load.errors)
    if watch.death is not None:
        errors_text.insert(0, f"server died under load ({watch.death}): {server.stderr_tail()}")
    start = watch.start + load.window_start
    window = load.window
    samples = watch.samples
    readings = [(watch.start, watch.user0, watch.sys0)]
    readings += [
        (x.t_seconds, x.user_seconds, x.sys_seconds)
        for x in samples
        if watch.start < x.t_seconds < watch.start + watch.elapsed
    ]
    if watch.alive:
        readings.append((watch.start + watch.elapsed, watch.user1, watch.sys1))
    server_user, server_sys = phase_analysis.cpu_in_window(readings, start, start + window)
    if watch.alive and watch.peak_reset:
        peak = server.process.peak_rss_bytes()
    else:  # a dead server's VmHWM is gone with it
        in_window = [x.rss_bytes for x in samples if start <= x.t_seconds <= start + window]
        peak = max(in_window or [x.rss_bytes for x in samples], default=0)
    trace = parse_gctrace(server.host.read_text(server.stderr_path)) if impl.lang == "go" else None
    gc_cycles = (
        None
        if trace is None
        else tuple(c for c in trace.cycles if start <= c.at_seconds <= start + window)
    )

    merged = loadgen.merge_streams(load.results)
    counts, responses = merged.counts, merged.responses
    achieved = responses / window if window > 0 else 0.0
    histogram = loadgen.histogram_of(merged.latencies_seconds)
    steal = _steal_share(watch.stat_before, watch.stat_after)
    gc_required = (
        phase_analysis.gc_cycles_required(workload.server.min_gc_cycles, impl.lang, dict(impl.env))
        if rate is not None
        else None
    )
    flags = phase_analysis.phase_flags(
        offered_rps=rate,
        achieved_rps=achieved,
        counts=counts,
        latency_count=len(merged.latencies_seconds),
        loadgen_share=load.loadgen_share,
        loadgen_cpus=len(load.loadgen_cpus),
        peak_from_samples=watch.alive and not watch.peak_reset,
        steal_share=steal,
        gc_count=None if gc_cycles is None else len(gc_cycles),
        gc_required=gc_required,
    )
    return ServerPhase(
        phase=phase,
        ok=not errors_text,
        offered_rps=rate,
        achieved_rps=achieved,
        duration_seconds=window,
        started_at_seconds=start,
        requests=responses + counts.without_duration + counts.unsent,
        errors=counts.unexpected_status + counts.without_duration,
        status_counts=merged.status_counts,
        latency=loadgen.summarise_histogram(histogram),
        latency_histogram=loadgen.encode_histogram(histogram),
        latency_windows=loadgen.latency_windows(
            merged.intended_starts_seconds - load.window_start, merged.latencies_seconds, start
        ),
        server_user_seconds=server_user,
        server_sys_seconds=server_sys,
        server_peak_rss_bytes=peak,
        server_samples=samples,
        gc_cycles=gc_cycles,
        loadgen_user_seconds=load.loadgen_user_seconds,
        loadgen_sys_seconds=load.loadgen_sys_seconds,
        flags=flags + load.flags,
        error="; ".join(errors_text) or None,
        request_counts=counts,
        loadgen_wall_seconds=watch.elapsed,
        replicate=replicate,
        steal_share=steal,
        gc_cycles_required=gc_required,
        server_cpus=watch.server_cpus,
        loadgen_cpus=load.loadgen_cpus,
        shared_cpus=load.shared_cpus,
        load_hosts=load.load_hosts,
        hosts_overhead_seconds=load.hosts_overhead_seconds,
        payload_bytes=merged.payload_bytes,
        **_backend_fields(watch),
    )


def _backend_fields(watch: ServerWatch) -> dict:
    """The back end's CPU and peak RSS over the phase (ServerPhase.backend_*), when it has one."""
    if watch.backend is None:
        return {}
    return {
        "backend_user_seconds": watch.backend_cpu1[0] - watch.backend_cpu0[0],
        "backend_sys_seconds": watch.backend_cpu1[1] - watch.backend_cpu0[1],
        "backend_peak_rss_bytes": watch.backend_peak,
        "backend_cpus": watch.backend_cpus,
    }


def loadgen_cpu_set(settings: ServerSettings) -> tuple[int, ...]:
    """The CPUs the load generator's processes may run on: its pinning, or, unpinned, the
    harness's own CPUs, which they inherit."""
    return settings.loadgen_cpus or available_cpus()


def _steal_share(
    before: Sequence[CpuTimes] | None, after: Sequence[CpuTimes] | None
) -> float | None:
    """The hypervisor's steal over the phase, pooled over every CPU; None when /proc/stat could
    not be read or the window is too short for its 10 ms ticks to say anything."""
    if before is None or after is None:
        return None
    usage = noise.cpu_usage_between(before, after, None)
    if usage is None or usage.interval_seconds < noise.MIN_INTERVAL_SECONDS:
        return None
    return usage.steal_share


def failed_phase(phase: str, rate: float | None, replicate: int | None, error: str) -> ServerPhase:
    """The record of a phase that could not run (its server would not start or hung up): shown
    with the reason, never a number."""
    return ServerPhase(
        phase=phase,
        ok=False,
        offered_rps=rate,
        achieved_rps=0.0,
        duration_seconds=0.0,
        started_at_seconds=0.0,
        requests=0,
        errors=0,
        status_counts={},
        latency=None,
        latency_histogram="",
        latency_windows=(),
        server_user_seconds=0.0,
        server_sys_seconds=0.0,
        server_peak_rss_bytes=0,
        server_samples=(),
        gc_cycles=None,
        loadgen_user_seconds=0.0,
        loadgen_sys_seconds=0.0,
        flags=(),
        error=error,
        replicate=replicate,
    )
