"""harness/analysis/boundary.py over hand-made phases: the pair's CPU counts both processes, the
boundary's cost is paired by replicate against the cgo hybrid, the break-even grain follows a
sweep, and a proxy's added latency is its phases minus the direct ones of the same replicate."""

from __future__ import annotations

from dataclasses import replace

import pytest
from builders import (
    build_record,
    impl_result,
    replicated,
    server_run,
    server_workload,
    swept,
)

from harness.analysis import boundary, decision
from harness.analysis.boundary import break_even_sentence
from harness.model import BackendRecord
from harness.report.boundary import boundary_context


def backend(protocol="grpc", transport="unix", cpus="server") -> BackendRecord:
    return BackendRecord(
        name=f"{protocol}-{transport}",
        lang="rust",
        path="json-service",
        library="tonic",
        protocol=protocol,
        transport=transport,
        cpus_policy=cpus,
        build=build_record("rust", f"backend-{protocol}-{transport}"),
    )


def with_backend(phases, backend_cpu):
    """The phases with a back end's CPU (user + sys) per replicate and a 10 MB peak."""
    return [
        replace(
            p,
            backend_user_seconds=cpu * 0.5,
            backend_sys_seconds=cpu * 0.5,
            backend_peak_rss_bytes=10_000_000,
        )
        for p, cpu in zip(phases, backend_cpu, strict=True)
    ]


def service_workload(go_cpu, cgo_cpu, service_front_cpu, service_back_cpu, rate=100.0):
    """go/default, rust/default, go/cgo-rust (links) and go/grpc-rust (back end), 3 replicates
    at one rate, 1000 answered requests a phase (100 req/s x 10 s)."""
    achieved = [rate] * 3
    go = replicated(rate, achieved=achieved, cpu=go_cpu, p50=[0.002, 0.0021, 0.0022])
    rust = replicated(rate, achieved=achieved, cpu=[0.5] * 3)
    workload = server_workload(go, rust, name="json-service")
    cgo = replace(
        impl_result("go", "cgo-rust"),
        build=replace(build_record("go", "cgo-rust"), links="json-ffi"),
        phases=tuple(replicated(rate, achieved=achieved, cpu=cgo_cpu, p50=[0.001] * 3)),
    )
    service_phases = with_backend(
        replicated(rate, achieved=achieved, cpu=service_front_cpu, p50=[0.0015, 0.0016, 0.0014]),
        service_back_cpu,
    )
    service = replace(
        impl_result("go", "grpc-rust"), backend=backend(), phases=tuple(service_phases)
    )
    return replace(workload, implementations=(*workload.implementations, cgo, service))


def test_the_pair_counts_both_processes_and_the_boundary_is_paired_against_cgo():
    workload = service_workload(
        go_cpu=[3.0, 3.0, 3.0],
        cgo_cpu=[1.0, 1.2, 1.1],
        service_front_cpu=[0.8, 0.9, 0.7],
        service_back_cpu=[0.7, 0.8, 0.9],
    )
    found = boundary.service_boundary(workload)
    assert found is not None and found.reference == "go/cgo-rust"
    row = next(r for r in found.rows if r.key == "go/grpc-rust")
    assert row.boundary == "grpc over unix"
    # (front + back end) / 1000 answered: 1.5, 1.7, 1.6 ms of CPU per request.
    assert row.cpu_per_request_seconds.value == pytest.approx(0.0016)
    # Minus cgo's 1.0, 1.2, 1.1 ms replicate by replicate: 0.5 each time.
    assert row.boundary_cpu_seconds.value == pytest.approx(0.0005)
    assert row.boundary_cpu_seconds.n == 3
    # p50 1.5, 1.6, 1.4 ms against cgo's 1 ms.
    assert row.boundary_p50_seconds.value == pytest.approx(0.0005)
    assert row.backend_cpu_share == pytest.approx(0.8 / 1.7)
    assert row.peak_rss_bytes.value == pytest.approx(100 * 2**20 + 10_000_000)
    cgo = next(r for r in found.rows if r.key == "go/cgo-rust")
    assert cgo.boundary == "cgo" and cgo.boundary_cpu_seconds is None
    assert next(r for r in found.rows if r.key == "go/default").boundary == "in-process"


def test_no_service_boundary_without_a_back_end_on_the_fronts_cpus():
    workload = service_workload([3.0] * 3, [1.0] * 3, [0.8] * 3, [0.7] * 3)
    proxied = [
        replace(i, backend=backend("http", "tcp", cpus="apart")) if i.backend else i
        for i in workload.implementations
    ]
    assert boundary.service_boundary(replace(workload, implementations=tuple(proxied))) is None


def grain_points(go_cpu_by_grain, service_cpu_by_grain):
    points = []
    for position, grain in enumerate(sorted(go_cpu_by_grain)):
        go, service = go_cpu_by_grain[grain], service_cpu_by_grain[grain]
        workload = service_workload([go] * 3, [go / 2] * 3, [service / 2] * 3, [service / 2] * 3)
        points.append(swept(workload, "tweets", str(grain), position, position))
    return points


def test_the_break_even_grain_is_where_the_service_stops_costing_more_cpu_than_go():
    # Go's CPU grows fast with the grain, the service's slowly from a higher start: they cross
    # between 4 and 16 tweets (d = +1.0 at 4, -2.0 at 16: 4 + 1.0 x 12 / 3.0 = 8).
    run = server_run(grain_points({1: 0.5, 4: 2.0, 16: 8.0}, {1: 2.0, 4: 3.0, 16: 6.0}))
    (found,) = boundary.grain_break_evens(run)
    assert found.key == "go/grpc-rust" and found.axis == "tweets" and found.rate == 100.0
    assert found.outcome == "crossing" and found.grain == pytest.approx(8.0)
    assert "break-even at about tweets = 8" in break_even_sentence(found)


def test_a_service_that_never_pays_says_so():
    run = server_run(grain_points({1: 0.5, 4: 1.0}, {1: 2.0, 4: 3.0}))
    (found,) = boundary.grain_break_evens(run)
    assert found.outcome == "no grain"
    assert "never paid" in break_even_sentence(found)


def proxy_workload():
    """Two proxies at one rate, three replicates: through the proxy p50 0.30, 0.32, 0.31 ms and
    straight 0.10, 0.13, 0.11 ms for Go; Rust 0.25, 0.24, 0.26 against 0.11, 0.10, 0.12."""
    direct_go = [
        replace(p, phase="direct rate=1000")
        for p in replicated(1000, achieved=[1000] * 3, p50=[0.00010, 0.00013, 0.00011])
    ]
    direct_rust = [
        replace(p, phase="direct rate=1000")
        for p in replicated(1000, achieved=[1000] * 3, p50=[0.00011, 0.00010, 0.00012])
    ]
    go = replicated(1000, achieved=[1000] * 3, p50=[0.00030, 0.00032, 0.00031], cpu=[1.0] * 3)
    rust = replicated(1000, achieved=[1000] * 3, p50=[0.00025, 0.00024, 0.00026], cpu=[0.6] * 3)
    go = [replace(p, payload_bytes=10_240_000) for p in go]  # 10,000 KiB in each phase
    probe = replicated(None, achieved=[4000] * 3)
    workload = server_workload([*probe, *go], [*probe, *rust], name="tcp-proxy")
    up = backend("http", "tcp", cpus="apart")
    impls = tuple(
        replace(i, backend=up, direct_phases=tuple(d))
        for i, d in zip(workload.implementations, (direct_go, direct_rust), strict=True)
    )
    return replace(workload, implementations=impls)


def test_a_proxys_added_latency_is_paired_with_the_direct_phase_of_its_replicate():
    found = boundary.proxy_cost(proxy_workload())
    assert found is not None and found.backend == "rust/json-service"
    go, rust = found.rows
    # Paired: 0.20, 0.19, 0.20 ms -> median 0.20 ms (unpaired medians would give 0.31 - 0.11).
    assert go.added_p50_seconds.value == pytest.approx(0.00020)
    assert rust.added_p50_seconds.value == pytest.approx(0.00014)
    assert go.saturation_share == pytest.approx(0.25)
    assert go.saturation_rps.value == pytest.approx(4000) and go.saturation_rps.n == 3
    # 1.0 s of proxy CPU over 10,000 answered requests and over 10,000 KiB moved.
    assert go.cpu_per_request_seconds.value == pytest.approx(0.0001)
    assert go.cpu_per_kib_seconds.value == pytest.approx(0.0001)
    assert rust.cpu_per_kib_seconds is None  # its phases carried no payload count
    context = boundary_context(boundary.analyse_boundaries(server_run([proxy_workload()])))
    assert context["present"] and context["proxies"][0]["rows"][0]["added_p50"].startswith(
        "+200 µs"
    )


@pytest.mark.parametrize(
    ("service_cpu", "favoured"),
    [
        ((0.8, 0.7), "favour cgo (go/cgo-rust)"),
        ((0.3, 0.3), "favour grpc over unix (go/grpc-rust)"),
    ],
)
def test_the_decision_matrix_cites_whichever_boundary_the_figures_favour(service_cpu, favoured):
    front, back = service_cpu
    workload = service_workload([3.0] * 3, [1.0] * 3, [front] * 3, [back] * 3)
    analysis = boundary.analyse_boundaries(server_run([workload]))
    (sentence,) = boundary.headline_sentences(analysis)
    assert favoured in sentence
    evidence = decision.collect_evidence((), None, None, analysis)
    assert evidence.boundary == (sentence,)
    assert "Across a service boundary: " + sentence in decision.hybrid_reason(evidence)
