"""The report's service-boundary and data-plane tables (inside the Hybrid section): a flat context
of formatted strings from harness/analysis/boundary.py (templates/hybrid.html.j2 only loops)."""

from __future__ import annotations

from harness.analysis.boundary import BoundaryAnalysis, headline_sentences
from harness.analysis.hybrid import Estimate
from harness.model import Run
from harness.report import formatting


def _est(value: Estimate | None, fmt=formatting.seconds) -> str:
    if value is None:
        return "–"
    return formatting.with_ci(value.value, value.low, value.high, fmt)


def _signed_seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return ("−" if value < 0 else "+") + formatting.seconds(abs(value))


def _difference(value: Estimate | None) -> str:
    return _est(value, _signed_seconds)


# What the service boundary adds to build and ship, not measured: said beside the build table.
SERVICE_FACTS = (
    "Protobuf: the Go client's code is generated from workloads/proto/roundtrip.proto by "
    "`make proto` (protoc from the PyPI package grpcio-tools, protoc-gen-go and "
    "protoc-gen-go-grpc at pinned versions) and committed, as Go projects do; the Rust service "
    "compiles the same file at build time with protox (pure Rust, no protoc). Container images "
    "are not built here (no container runtime): the stripped binaries are what an image would "
    "carry beside its base layer."
)


def _service_builds(run: Run) -> list[dict[str, str]]:
    """Each service variant's two programs: front and back end, their sum, their toolchains."""
    rows = []
    for w in run.workloads:
        for impl in w.implementations:
            back = impl.backend
            if back is None or back.cpus_policy != "server":
                continue
            front = impl.build
            total = (
                None
                if front.stripped_bytes is None or back.build.stripped_bytes is None
                else front.stripped_bytes + back.build.stripped_bytes
            )
            rows.append(
                {
                    "workload": w.name,
                    "key": impl.key,
                    "front": f"{formatting.seconds(front.build_seconds)}, "
                    f"{formatting.size(front.stripped_bytes)} stripped",
                    "backend": f"{back.lang}/{back.path}: "
                    f"{formatting.seconds(back.build.build_seconds)}, "
                    f"{formatting.size(back.build.stripped_bytes)} stripped",
                    "total": formatting.size(total),
                    "toolchains": "; ".join(
                        dict.fromkeys(
                            (*front.toolchains, *back.build.toolchains)
                            or (front.toolchain, back.build.toolchain)
                        )
                    ),
                }
            )
    return rows


def boundary_context(analysis: BoundaryAnalysis, run: Run | None = None) -> dict:
    services = [
        {
            "workload": s.workload,
            "reference": s.reference or "",
            "rows": [
                {
                    "key": r.key,
                    "boundary": r.boundary,
                    "rate": formatting.requests_rate(r.rate),
                    "p50": _est(r.p50_seconds),
                    "p99": _est(r.p99_seconds),
                    "cpu": _est(r.cpu_per_request_seconds),
                    "backend_share": formatting.percent(r.backend_cpu_share),
                    "rss": _est(r.peak_rss_bytes, formatting.size),
                    "boundary_cpu": _difference(r.boundary_cpu_seconds),
                    "boundary_p50": _difference(r.boundary_p50_seconds),
                }
                for r in s.rows
            ],
        }
        for s in analysis.services
    ]
    proxies = [
        {
            "workload": p.workload,
            "backend": p.backend,
            "rows": [
                {
                    "key": r.key,
                    "rate": formatting.requests_rate(r.rate),
                    "share": formatting.percent(r.saturation_share),
                    "saturation": _est(r.saturation_rps, formatting.requests_rate),
                    "added_p50": _difference(r.added_p50_seconds),
                    "added_p99": _difference(r.added_p99_seconds),
                    "direct_p50": _est(r.direct_p50_seconds),
                    "cpu": _est(r.cpu_per_request_seconds),
                    "cpu_kib": _est(r.cpu_per_kib_seconds),
                    "rss": _est(r.peak_rss_bytes, formatting.size),
                }
                for r in p.rows
            ],
        }
        for p in analysis.proxies
    ]
    return {
        "present": analysis.present,
        "reading": list(headline_sentences(analysis)),
        "services": services,
        "proxies": proxies,
        "service_builds": _service_builds(run) if run is not None else [],
        "service_facts": SERVICE_FACTS,
    }
