"""End to end for the servers that run beside a back end, with the real binaries (built by the
suite's one shared build) under the real oha, very short phases, one replicate, one rate:

- tcp-proxy: every proxy passes the back end's answers through byte for byte (its digest equals
  the back end's own), each rate also runs straight to the one back end binary, and the analysis
  pairs them into an added latency;
- json-service: every front, in-process, through cgo, over gRPC (unix socket and TCP) and HTTP,
  gives the same answers on the posted corpus; the pair's CPU and peak RSS include the back end;
  the workload's bad inputs (a back end that never accepts) fail only their own front.

Afterwards no process of ours is left and no unix socket file remains.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import psutil
import pytest

from harness import config
from harness.analysis import boundary
from harness.build.builder import Builder
from harness.measure.inputs import prepare_input
from harness.measure.launcher import SubprocessExecutor, available_cpus, ensure_launcher
from harness.model import RunConfig
from harness.servers import loadgen
from harness.servers.protocol import ServerRunner, default_settings

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("workspace_build")]


def cpus() -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    available = available_cpus()
    return ((available[-1],), (available[0],)) if len(available) >= 2 else (None, None)


def measured(name: str, tmp_path: Path, keys: tuple[str, ...], rate: float):
    """One replicate at one fixed rate of the named implementations, through the real protocol."""
    workload = config.load_workloads(ROOT / "workloads")[name]
    workload = dataclasses.replace(
        workload, implementations=tuple(i for i in workload.implementations if i.key in keys)
    )
    builder = Builder(CACHE)
    programs = (*workload.implementations, *(b.implementation for b in workload.backends))
    builds = {p.key: builder.build(workload, p) for p in programs}
    for key, record in builds.items():
        assert record.ok, f"{key}: {record.error}"
    server_cpus, loadgen_cpus = cpus()
    settings = dataclasses.replace(
        default_settings("quick", f"oha {loadgen.OHA_VERSION}", server_cpus, loadgen_cpus),
        warmup_seconds=0.5,
        probe_seconds=1.0,
        min_phase_seconds=1.0,
        max_phase_seconds=1.0,
        replicates=1,
        replicate_probe_seconds=0.0,
        rates_rps=(rate,),
    )
    run_config = RunConfig(
        size="quick",
        repetitions=1,
        warmups=0,
        timeout_seconds=60.0,
        cpu_affinity=server_cpus,
        sample_interval_seconds=0.1,
        workloads=(name,),
        server=settings,
        order="latin",
    )
    input_record = prepare_input(workload, "quick", CACHE / "inputs") if workload.input else None
    launcher = ensure_launcher(CACHE)
    runner = ServerRunner(loadgen.find_oha(ROOT / "tools"), settings, tmp_path, launcher)
    before = set(Path(tempfile.gettempdir()).glob("gorust-*.sock"))
    result = runner(workload, builds, input_record, run_config, SubprocessExecutor(launcher))
    left = [p for p in psutil.Process().children(recursive=True) if p.status() != "zombie"]
    assert not left, f"left running: {left}"
    assert set(Path(tempfile.gettempdir()).glob("gorust-*.sock")) <= before
    return result


def test_every_proxy_passes_the_back_ends_bytes_and_is_paired_with_direct_phases(tmp_path):
    keys = ("go/default", "rust/default", "go/userspace")
    result = measured("tcp-proxy", tmp_path, keys, rate=500.0)
    assert result.status == "ok", result.error
    for impl in result.implementations:
        assert impl.status == "ok", f"{impl.key}: {impl.error}"
        assert impl.backend is not None and impl.backend.path == "http-json"
        (through,) = [p for p in impl.phases if p.replicate == 1]
        (direct,) = impl.direct_phases
        assert through.ok and direct.ok, (through.error, direct.error)
        assert direct.phase == "direct rate=500" and direct.replicate == 1
        # The proxy ran on the server CPUs, its back end apart, on the load generator's.
        server_cpus, loadgen_cpus = cpus()
        if server_cpus:
            assert through.server_cpus == server_cpus and through.backend_cpus == loadgen_cpus
        assert through.payload_bytes and through.payload_bytes > 0
    cost = boundary.proxy_cost(result)
    assert cost is not None and {r.key for r in cost.rows} == set(keys)
    assert all(r.added_p50_seconds is not None for r in cost.rows)


def test_every_json_front_gives_the_same_answers_and_the_pair_is_measured_whole(tmp_path):
    keys = (
        "go/default",
        "rust/default",
        "go/cgo-rust",
        "go/grpc-unix",
        "go/grpc-tcp",
        "go/http-tcp",
    )
    result = measured("json-service", tmp_path, keys, rate=100.0)
    assert result.status == "ok", result.error
    for impl in result.implementations:
        assert impl.status == "ok", f"{impl.key}: {impl.error}"  # the same digest as go/default
        (phase,) = [p for p in impl.phases if p.replicate == 1]
        assert phase.ok, phase.error
        if impl.backend is not None:
            assert phase.backend_user_seconds is not None
            assert phase.backend_user_seconds + phase.backend_sys_seconds > 0
            assert phase.backend_peak_rss_bytes and phase.backend_peak_rss_bytes > 0
            # A service runs on its front's CPUs: the pair gets the hardware an in-process
            # front gets.
            assert phase.backend_cpus == phase.server_cpus
        else:
            assert phase.backend_user_seconds is None
    found = boundary.service_boundary(result)
    assert found is not None and found.reference == "go/cgo-rust"
    services = [r for r in found.rows if r.key in ("go/grpc-unix", "go/grpc-tcp", "go/http-tcp")]
    assert len(services) == 3 and all(r.boundary_cpu_seconds is not None for r in services)
