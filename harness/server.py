"""Server workloads: start each implementation, verify its answers, find its saturation, then load
every language at the same offered rates with an open-loop generator.

Protocol, per implementation in turn (never two servers alive at once, so an idle Go server's GC
cannot steal the other's CPU): start on a free 127.0.0.1 port, pinned to the server CPU with the same
parallelism on both runtimes (GOMAXPROCS = TOKIO_WORKER_THREADS); wait for /health; record what its
TCP transport does (transport.py); check its responses byte for byte against the other language's;
warm up (discarded); probe saturation closed-loop. Then the offered rates are fractions of the
*slower* default's saturation, and each implementation is restarted and driven through the same
fixed-rate phases. Each phase's requests, server CPU and GC cycles cover one window, the load
generator's own span, and its peak RSS is its own (VmHWM reset at the start). Servers are stopped
(SIGTERM, then SIGKILL after a grace period) on every path. A server runs under the measuring
launcher, which catches what it daemonises: processes it leaves running when it stops are killed and
fail that implementation ("left N processes running (killed)").
"""

from __future__ import annotations

import hashlib
import http.client
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import loadgen, phase_analysis, transport
from harness.gctrace import parse_gctrace
from harness.measure import Executor, ServerProcess, leftover_message
from harness.model import (
    BuildRecord,
    Implementation,
    ImplementationResult,
    InputRecord,
    RequestCounts,
    RequestStream,
    RunConfig,
    ServerPhase,
    ServerSettings,
    Workload,
    WorkloadResult,
)
from harness.noise import (
    CpuClock,
    StatReader,
    process_cpu_seconds,
    read_cpu_times,
    start_cpu_window,
)
from harness.runner import Progress, argv_for, conclude_workload

STDERR_TAIL_CHARS = 1500


class ServerFailure(Exception):
    """The server could not be started or stopped answering; the message says why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    lines = [line for line in text.splitlines() if not line.startswith("gc ")]
    return "\n".join(lines)[-STDERR_TAIL_CHARS:]


def fill(template: str, params: Mapping[str, object]) -> str:
    return template.format_map({k: str(v) for k, v in params.items()})


def http_call(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    content_type: str | None = None,
    timeout: float = 5.0,
) -> tuple[int, str, bytes]:
    """(status, content type, body) of one request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()
    except http.client.HTTPException as exc:  # e.g. a server dying mid-answer (IncompleteRead)
        raise OSError(f"{method} {url}: {exc!r}") from exc


@dataclass
class RunningServer:
    process: ServerProcess
    port: int
    stderr_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _note_leftovers(errors: dict[str, str], key: str, process: ServerProcess) -> None:
    """A stopped server that left processes running fails its implementation."""
    if process.leftover_processes:
        left = leftover_message(process.leftover_processes)
        errors[key] = f"{errors[key]}; {left}" if key in errors else left


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
    ):
        self.oha = oha
        self.settings = settings
        self.work_dir = work_dir
        self.launcher = launcher  # measure.ensure_launcher's
        self.read_stat = read_stat
        self.cpu_clock = cpu_clock

    # --- process lifecycle -------------------------------------------------------------------

    def environment(self, impl: Implementation) -> dict[str, str]:
        n = str(self.settings.parallelism)
        if impl.lang == "go":
            return {"GOMAXPROCS": n, "GODEBUG": "gctrace=1"}
        return {"TOKIO_WORKER_THREADS": n}

    def start(
        self,
        workload: Workload,
        impl: Implementation,
        build: BuildRecord,
        params: Mapping[str, object],
        folder: Path,
    ) -> RunningServer:
        port = free_port()
        argv = argv_for(workload, build.binary_path or "", params, None, port=port)
        stderr_path = folder / f"{impl.lang}-{impl.variant}-{port}.stderr"
        process = ServerProcess(
            self.launcher,
            argv,
            self.environment(impl),
            self.settings.server_cpus,
            folder / f"{impl.lang}-{impl.variant}-{port}.stdout",
            stderr_path,
        )
        server = RunningServer(process, port, stderr_path)
        deadline = time.monotonic() + self.settings.ready_timeout_seconds
        assert workload.server is not None
        health = server.base_url + workload.server.health
        while True:
            code = process.exit_code()
            if code is not None:
                process.stop(0)
                left = process.leftover_processes
                raise ServerFailure(
                    f"server exited with status {code} before it was ready: "
                    f"{_tail(stderr_path) or '(no stderr)'}"
                    + (f"; {leftover_message(left)}" if left else "")
                )
            try:
                if http_call(health, timeout=1.0)[0] == 200:
                    return server
            except OSError:
                pass
            if time.monotonic() > deadline:
                process.stop(self.settings.stop_grace_seconds)
                raise ServerFailure(
                    f"server not ready on {health} after "
                    f"{self.settings.ready_timeout_seconds:g} s: {_tail(stderr_path)}"
                )
            time.sleep(0.05)

    # --- verification -----------------------------------------------------------------------

    def response_digest(
        self,
        workload: Workload,
        server: RunningServer,
        params: Mapping[str, object],
        bodies: Mapping[str, bytes | None],
    ) -> str:
        """A digest of status, content type and body of each check request: equal digests mean
        byte-identical answers."""
        assert workload.server is not None
        digest = hashlib.sha256()
        for stream in workload.server.requests:
            if stream.rand_regex:
                continue  # regex paths are checked by the phases' status counts instead
            status, content_type, body = http_call(
                server.base_url + fill(stream.path, params),
                stream.method,
                bodies[stream.name],
                stream.content_type,
            )
            digest.update(f"{stream.name} {status} {content_type}\n".encode() + body + b"\n")
        for path in workload.server.checks:
            status, content_type, body = http_call(server.base_url + fill(path, params))
            digest.update(f"{path} {status} {content_type}\n".encode() + body + b"\n")
        return digest.hexdigest()[:16]

    def request_bodies(
        self, workload: Workload, server: RunningServer, params: Mapping[str, object]
    ) -> dict[str, bytes | None]:
        assert workload.server is not None
        bodies: dict[str, bytes | None] = {}
        for stream in workload.server.requests:
            if stream.body_from:
                bodies[stream.name] = http_call(server.base_url + fill(stream.body_from, params))[2]
            else:
                bodies[stream.name] = stream.body.encode() if stream.body is not None else None
        return bodies

    # --- load ---------------------------------------------------------------------------------

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
    ) -> ServerPhase:
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
                worker_threads=max(1, len(self.settings.loadgen_cpus or (0,))),
            )
            tag = f"{impl.lang}-{impl.variant}-{phase.replace('=', '')}-{stream.name}"
            streams.append((stream, plan, folder / f"{tag}.json", folder / f"{tag}.db"))
        for _, _, summary, db in streams:
            summary.unlink(missing_ok=True)
            db.unlink(missing_ok=True)

        sampler = server.process.sampler(config.sample_interval_seconds)
        sampler.start()
        # A server already dead (and reaped) has no CPU times left to read.
        user0, sys0 = server.process.cpu_seconds() if server.process.exit_code() is None else (0, 0)
        peak_reset = server.process.reset_peak_rss()
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
                f"{_tail(server.stderr_path)}",
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

        latencies = (
            np.concatenate([r.latencies_seconds for r in results]) if results else np.array([])
        )
        starts = (
            np.concatenate([r.intended_starts_seconds for r in results])
            if results
            else np.array([])
        )
        order = np.argsort(starts)
        histogram = loadgen.histogram_of(latencies)
        status_counts: dict[str, int] = {}
        for r in results:
            for k, v in r.status_counts.items():
                status_counts[k] = status_counts.get(k, 0) + v
        counts = RequestCounts(
            expected_status=sum(r.expected_status for r in results),
            unexpected_status=sum(r.unexpected_status for r in results),
            timeouts=sum(r.timeouts for r in results),
            deadline_aborts=sum(r.deadline_aborts for r in results),
            other_errors=sum(r.other_errors for r in results),
            unsent=sum(r.unsent for r in results),
        )
        responses = sum(r.responses for r in results)
        achieved = responses / window if window > 0 else 0.0
        loadgen_user = sum(o.user_seconds for o in outcomes)
        loadgen_sys = sum(o.sys_seconds for o in outcomes)
        flags = phase_analysis.phase_flags(
            offered_rps=rate,
            achieved_rps=achieved,
            counts=counts,
            latency_count=len(latencies),
            loadgen_share=(loadgen_user + loadgen_sys) / elapsed if elapsed > 0 else None,
            loadgen_cpus=len(self.settings.loadgen_cpus or (0,)),
            peak_from_samples=alive and not peak_reset,
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
            status_counts=status_counts,
            latency=loadgen.summarise_histogram(histogram),
            latency_histogram=loadgen.encode_histogram(histogram),
            latency_windows=loadgen.latency_windows(starts[order], latencies[order], start),
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
        )

    def phase_seconds(self, rate: float) -> float:
        """Long enough for the target request count (2 % spare for the ramp), within the bounds."""
        s = self.settings
        wanted = 1.02 * s.target_requests_per_phase / rate
        return min(s.max_phase_seconds, max(s.min_phase_seconds, wanted))

    # --- the workload -------------------------------------------------------------------------

    def __call__(
        self,
        workload: Workload,
        builds: Mapping[str, BuildRecord],
        input_record: InputRecord | None,
        config: RunConfig,
        executor: Executor,
        progress: Progress = lambda _: None,
    ) -> WorkloadResult:
        params = workload.params[config.size]
        s = self.settings
        runnable = [i for i in workload.implementations if builds[i.key].ok]
        errors = {
            i.key: builds[i.key].error or "build failed"
            for i in workload.implementations
            if not builds[i.key].ok
        }
        digests: dict[str, str] = {}
        saturation: dict[str, ServerPhase] = {}
        idle_rss: dict[str, int] = {}
        transports: dict[str, dict[str, str]] = {}
        phases: dict[str, list[ServerPhase]] = {i.key: [] for i in workload.implementations}
        folder = Path(tempfile.mkdtemp(prefix=f"{workload.name}-", dir=self.work_dir))
        close_window = start_cpu_window(self.read_stat, self.cpu_clock)

        # 1. Each implementation alone: verify answers, warm up, probe saturation.
        for impl in runnable:
            try:
                server = self.start(workload, impl, builds[impl.key], params, folder)
            except ServerFailure as exc:
                errors[impl.key] = str(exc)
                progress(f"{workload.name} {impl.key}: {exc}")
                continue
            with server.process:
                time.sleep(0.5)
                idle_rss[impl.key] = server.process.rss_bytes()
                assert workload.server is not None
                transports[impl.key] = transport.observe(
                    server.process.pid, server.port, workload.server.health
                )
                try:
                    bodies = self.request_bodies(workload, server, params)
                    digests[impl.key] = self.response_digest(workload, server, params, bodies)
                except OSError as exc:  # it answered /health, then died or hung up
                    errors[impl.key] = (
                        f"server stopped answering ({exc}): {_tail(server.stderr_path)}"
                    )
                    progress(f"{workload.name} {impl.key}: {errors[impl.key]}")
                    continue
                self.run_phase(
                    "warmup",
                    workload,
                    impl,
                    server,
                    params,
                    bodies,
                    None,
                    s.warmup_seconds,
                    config,
                    executor,
                    folder,
                )
                probe = self.run_phase(
                    "saturation",
                    workload,
                    impl,
                    server,
                    params,
                    bodies,
                    None,
                    s.probe_seconds,
                    config,
                    executor,
                    folder,
                )
                server.process.stop(s.stop_grace_seconds)
            saturation[impl.key] = probe
            phases[impl.key].append(probe)
            progress(
                f"{workload.name} {impl.key}: saturation {probe.achieved_rps:.0f} req/s"
                + (f" ({probe.error})" if probe.error else "")
            )
            if not probe.ok:
                errors[impl.key] = f"saturation probe failed: {probe.error}"
            _note_leftovers(errors, impl.key, server.process)

        defaults = [
            saturation[k].achieved_rps
            for k in ("go/default", "rust/default")
            if k in saturation and saturation[k].ok
        ]
        slowest = min(defaults) if defaults else 0.0
        rates = tuple(round(f * slowest) for f in s.rate_fractions) if slowest > 0 else ()

        # 2. Every implementation at the same offered rates.
        for impl in runnable:
            if impl.key in errors or not rates:
                continue
            server = None
            try:
                for rate in rates:
                    if server is None or server.process.exit_code() is not None:
                        if server is not None:
                            server.process.stop(0)
                            _note_leftovers(errors, impl.key, server.process)
                        server = self.start(workload, impl, builds[impl.key], params, folder)
                        bodies = self.request_bodies(workload, server, params)
                        self.run_phase(
                            "warmup",
                            workload,
                            impl,
                            server,
                            params,
                            bodies,
                            rates[0],
                            s.warmup_seconds,
                            config,
                            executor,
                            folder,
                        )
                    phase = self.run_phase(
                        f"rate={rate:g}",
                        workload,
                        impl,
                        server,
                        params,
                        bodies,
                        float(rate),
                        self.phase_seconds(rate),
                        config,
                        executor,
                        folder,
                    )
                    phases[impl.key].append(phase)
                    p99 = phase.latency.p99_seconds * 1e3 if phase.latency else float("nan")
                    progress(
                        f"{workload.name} {impl.key} rate={rate:g}: achieved {phase.achieved_rps:.0f}, "
                        f"p99 {p99:.2f} ms"
                        + (f" [{'; '.join(phase.flags)}]" if phase.flags else "")
                        + (f" FAILED: {phase.error}" if phase.error else "")
                    )
            except (ServerFailure, OSError) as exc:  # OSError: the restarted server hung up
                errors[impl.key] = str(exc)
                progress(f"{workload.name} {impl.key}: {exc}")
            finally:
                if server is not None:
                    server.process.stop(s.stop_grace_seconds)
                    _note_leftovers(errors, impl.key, server.process)

        window = close_window()
        reference = digests.get("go/default") or digests.get("rust/default")
        results = []
        workload_error = None
        for impl in workload.implementations:
            status = "ok"
            error = errors.get(impl.key)
            if not builds[impl.key].ok:
                status = "build_failed"
            elif error:
                status = "failed"
            elif reference is not None and digests.get(impl.key) != reference:
                status = "checksum_mismatch"
                error = (
                    f"responses differ: {impl.key} digest {digests.get(impl.key)}, "
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
                    phases=tuple(phases[impl.key]),
                    idle_rss_bytes=idle_rss.get(impl.key),
                    parallelism={k: v for k, v in self.environment(impl).items() if k != "GODEBUG"},
                    transport=transports.get(impl.key, {}),
                )
            )
        return conclude_workload(
            workload,
            results,
            input_record,
            params,
            reference,
            workload_error,
            offered_rates_rps=tuple(map(float, rates)),
            cpu_window=window,
        )


def default_settings(
    size: str,
    loadgen_name: str,
    server_cpus: tuple[int, ...] | None,
    loadgen_cpus: tuple[int, ...] | None,
) -> ServerSettings:
    full = size == "full"
    return ServerSettings(
        loadgen=loadgen_name,
        server_cpus=server_cpus,
        loadgen_cpus=loadgen_cpus,
        parallelism=1,
        connections=64,
        warmup_seconds=5.0 if full else 1.0,
        probe_seconds=10.0 if full else 2.0,
        min_phase_seconds=10.0 if full else 3.0,
        max_phase_seconds=40.0 if full else 3.0,
        target_requests_per_phase=phase_analysis.TRUSTWORTHY_P999_REQUESTS,
        rate_fractions=(0.25, 0.5, 0.75, 0.9),
        ready_timeout_seconds=120.0 if full else 30.0,
        stop_grace_seconds=2.0,
    )
