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

import os
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
        for _, _, summary, db in streams:
            summary.unlink(missing_ok=True)
            db.unlink(missing_ok=True)

        server_cpus = server_cpu_set(server.process.pid)
        loadgen_cpus = self.loadgen_cpus()
        # Where the server's CPUs could not be read back (it has exited), the ones it was given.
        shared = tuple(
            sorted(
                set(server_cpus or self.settings.server_cpus or available_cpus())
                & set(loadgen_cpus)
            )
        )
        sampler = server.process.sampler(config.sample_interval_seconds)
        sampler.start()
        # A server already dead (and reaped) has no CPU times left to read.
        user0, sys0 = server.process.cpu_seconds() if server.process.exit_code() is None else (0, 0)
        peak_reset = server.process.reset_peak_rss()
        stat_before = self.read_stat()
        start = time.perf_counter() - server.process.started
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
        elapsed = time.perf_counter() - server.process.started - start
        stat_after = self.read_stat()
        samples = sampler.stop()
        alive = server.process.exit_code() is None
        user1, sys1 = server.process.cpu_seconds() if alive else (user0, sys0)

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
        if not alive:
            errors_text.insert(
                0,
                f"server died under load (exit {server.process.exit_code()}): "
                f"{server.stderr_tail()}",
            )

        # One window for requests, CPU and GC: the load generator's own span, not the harness's
        # time around it (oha's start-up and database write), which would dilute the rates.
        window = max((r.span_seconds for r in results), default=0.0) or elapsed
        readings = [(start, user0, sys0)]
        readings += [
            (x.t_seconds, x.user_seconds, x.sys_seconds)
            for x in samples
            if start < x.t_seconds < start + elapsed
        ]
        if alive:
            readings.append((start + elapsed, user1, sys1))
        server_user, server_sys = phase_analysis.cpu_in_window(readings, start, start + window)
        if alive and peak_reset:
            peak = server.process.peak_rss_bytes()
        else:  # a dead server's VmHWM is gone with it
            in_window = [x.rss_bytes for x in samples if start <= x.t_seconds <= start + window]
            peak = max(in_window or [x.rss_bytes for x in samples], default=0)
        trace = (
            parse_gctrace(server.stderr_path.read_text(errors="replace"))
            if impl.lang == "go"
            else None
        )
        gc_cycles = (
            None
            if trace is None
            else tuple(c for c in trace.cycles if start <= c.at_seconds <= start + window)
        )

        merged = loadgen.merge_streams(results)
        counts, responses = merged.counts, merged.responses
        achieved = responses / window if window > 0 else 0.0
        histogram = loadgen.histogram_of(merged.latencies_seconds)
        steal = _steal_share(stat_before, stat_after)
        loadgen_user = sum(o.user_seconds for o in outcomes)
        loadgen_sys = sum(o.sys_seconds for o in outcomes)
        gc_required = (
            phase_analysis.gc_cycles_required(
                workload.server.min_gc_cycles, impl.lang, dict(impl.env)
            )
            if rate is not None
            else None
        )
        flags = phase_analysis.phase_flags(
            offered_rps=rate,
            achieved_rps=achieved,
            counts=counts,
            latency_count=len(merged.latencies_seconds),
            loadgen_share=(loadgen_user + loadgen_sys) / elapsed if elapsed > 0 else None,
            loadgen_cpus=len(loadgen_cpus),
            peak_from_samples=alive and not peak_reset,
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
                merged.intended_starts_seconds, merged.latencies_seconds, start
            ),
            server_user_seconds=server_user,
            server_sys_seconds=server_sys,
            server_peak_rss_bytes=peak,
            server_samples=samples,
            gc_cycles=gc_cycles,
            loadgen_user_seconds=loadgen_user,
            loadgen_sys_seconds=loadgen_sys,
            flags=flags,
            error="; ".join(errors_text) or None,
            request_counts=counts,
            loadgen_wall_seconds=elapsed,
            replicate=replicate,
            steal_share=steal,
            gc_cycles_required=gc_required,
            server_cpus=server_cpus,
            loadgen_cpus=loadgen_cpus,
            shared_cpus=shared,
        )

    def phase_seconds(self, rate: float) -> float:
        """Long enough for the target request count (2 % spare for the ramp), within the bounds."""
        s = self.settings
        wanted = 1.02 * s.target_requests_per_phase / rate
        return min(s.max_phase_seconds, max(s.min_phase_seconds, wanted))


def loadgen_cpu_set(settings: ServerSettings) -> tuple[int, ...]:
    """The CPUs the load generator's processes may run on: its pinning, or, unpinned, the
    harness's own CPUs, which they inherit."""
    return settings.loadgen_cpus or available_cpus()


def server_cpu_set(pid: int) -> tuple[int, ...] | None:
    """The CPUs the running server may use, read back from the kernel; None once it has gone."""
    try:
        return tuple(sorted(os.sched_getaffinity(pid)))
    except OSError:
        return None


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
