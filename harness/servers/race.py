"""A race-built Go server under the race detector (harness/measure/race.py says why and when).

The server goes through the same lifecycle as a measured one (lifecycle.start: a free
port, pinned, ready on /health; stopped with SIGTERM, whatever it left killed), with
GORACE=halt_on_error=1 added to its environment. It then gets real requests of the manifest's
streams: the body requests (`body_from`), then RACE_LOAD_SECONDS of the load generator's closed
loop over every stream at once (the driver a measured phase uses, at the run's connection count),
because a race needs two requests' goroutines touching the same state at once: one request after
another, on fresh connections, showed none on the racy fixture. GOMAXPROCS is at least 2 for the
same reason (measure/race.py RACE_MIN_GOMAXPROCS). Then it is stopped and its stderr read. The phase's latencies are discarded: a race-built server is 2-20x slower and proves nothing
about speed.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from harness.measure.launcher import Executor
from harness.measure.race import RACE_ENV, RaceRun, race_gomaxprocs
from harness.model import BuildRecord, Implementation, RunConfig, Workload
from harness.servers.lifecycle import ServerFailure
from harness.servers.protocol import ServerRunner

RACE_LOAD_SECONDS = 1.0  # of closed-loop load: thousands of requests even race-built


def _stderr(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(folder.glob("*.stderr")))


class ServerRace:
    """measure.race.ServerRaceRun through a ServerRunner's lifecycle and phase driver."""

    def __init__(
        self, runner: ServerRunner, executor: Executor, load_seconds: float = RACE_LOAD_SECONDS
    ):
        self.runner = runner
        self.executor = executor  # runs the load generator, as in a measured phase
        self.load_seconds = load_seconds

    def __call__(
        self,
        workload: Workload,
        impl: Implementation,
        build: BuildRecord,
        params: Mapping[str, object],
        config: RunConfig,
        backend_build: BuildRecord | None = None,
        input_path: str | None = None,
    ) -> RaceRun:
        assert workload.server is not None
        folder = Path(tempfile.mkdtemp(prefix=f"race-{workload.name}-", dir=self.runner.work_dir))
        procs = race_gomaxprocs(self.runner.settings.server_cpus)
        race_env = {**RACE_ENV, "GOMAXPROCS": str(procs)}  # over the lifecycle's parallelism
        raced = replace(impl, env=(*impl.env, *race_env.items()))
        streams = ", ".join(s.name for s in workload.server.requests)
        start = time.perf_counter()
        try:
            server = self.runner.start(workload, raced, build, params, folder, backend_build)
        except ServerFailure as exc:
            seconds = time.perf_counter() - start
            return RaceRun(_stderr(folder), None, seconds, "server start-up", error=str(exc))
        error = None
        requests = 0
        with server:
            try:
                bodies = self.runner.request_bodies(workload, server, params, input_path)
                phase = self.runner.run_phase(
                    "race-check",
                    workload,
                    raced,
                    server,
                    params,
                    bodies,
                    None,
                    self.load_seconds,
                    config,
                    self.executor,
                    folder,
                )
                requests = phase.requests
                error = phase.error
            except OSError as exc:  # it answered /health, then died or hung up
                error = f"server stopped answering ({exc})"
            code = server.stop(self.runner.settings.stop_grace_seconds)
        seconds = time.perf_counter() - start
        exercised = (
            f"start-up, /health, then {requests:,} requests of streams {streams} in a "
            f"{self.load_seconds:g} s closed-loop phase ({self.runner.settings.connections} "
            f"connections), at quick size, GOMAXPROCS={procs}"
        )
        return RaceRun(_stderr(folder), code, seconds, exercised, error)
