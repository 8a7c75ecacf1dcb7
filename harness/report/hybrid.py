"""The report's Hybrid section: a flat context of formatted strings from harness/analysis/hybrid.py's
analysis and the hybrids' build records (templates/hybrid.html.j2 only loops over it).

Three parts: the per-call cost by grain (Go-only, Rust-only, Go->Rust, the boundary overhead and
the hybrid against Go), each hybrid's parts beside pure Go and pure Rust, and what the hybrid
costs to build and ship (both build steps, size, toolchains, shared libraries), next to the pure
pair's builds.
"""

from __future__ import annotations

from harness.analysis.hybrid import (
    CLOCK_WORDS,
    GO,
    RUST,
    HybridAnalysis,
    estimate_text,
    headline_sentences,
    hybrids,
    nanoseconds,
)
from harness.model import BuildRecord, Run
from harness.report import formatting

# cgo's documented requirements, not measured here: the report says so where it quotes them.
CGO_FACTS = (
    "Not measured, from the Go and Rust documentation: with cgo, cross-compiling needs a C "
    "cross-compiler for the target (CC, CGO_ENABLED=1) and the Rust target installed (rustup "
    "target add), where a CGO_ENABLED=0 Go build cross-compiles with GOOS/GOARCH alone; a cgo "
    "binary links the C library dynamically unless it is linked statically on purpose "
    "(-ldflags '-extldflags -static', which glibc supports only in part)."
)


def _libraries(build: BuildRecord) -> str:
    if build.needed_libraries is None:
        return "not read"
    if not build.needed_libraries:
        return "none (static)"
    return ", ".join(build.needed_libraries)


def _steps(build: BuildRecord) -> str:
    if not build.step_seconds:
        return formatting.seconds(build.build_seconds)
    return " + ".join(
        f"{formatting.seconds(seconds)} {step}" for step, seconds in build.step_seconds.items()
    )


def _build_row(workload: str, key: str, build: BuildRecord) -> dict[str, str | bool]:
    return {
        "workload": workload,
        "key": key,
        "ok": build.ok,
        "error": build.error or "",
        "state": "SKIPPED" if build.skip_reason is not None else "BUILD FAILED",
        "time": formatting.seconds(build.build_seconds) + (" (cached)" if build.cached else ""),
        "steps": _steps(build),
        "size": formatting.size(build.binary_bytes),
        "stripped": formatting.size(build.stripped_bytes),
        "deps": "–" if build.dependency_count is None else str(build.dependency_count),
        "toolchains": "; ".join(build.toolchains) or build.toolchain,
        "libraries": _libraries(build),
    }


def hybrid_section(run: Run, analysis: HybridAnalysis) -> dict:
    """Everything the Hybrid section shows; `present` is False when no workload has a hybrid."""
    grain_tables = []
    for costs in analysis.call_costs:
        rows = [
            {
                "grain": f"{row.grain_bytes:,} B",
                "go": nanoseconds(row.ns_per_call.get(GO)),
                "rust": nanoseconds(row.ns_per_call.get(RUST)),
                "hybrid": nanoseconds(row.ns_per_call.get(costs.hybrid)),
                "overhead": estimate_text(row.overhead_ns),
                "versus_go": estimate_text(row.versus_go_ns),
            }
            for row in costs.rows
        ]
        grain_tables.append(
            {
                "workload": costs.workload,
                "hybrid": costs.hybrid,
                "clock": CLOCK_WORDS[costs.clock],
                "rows": rows,
            }
        )
    part_rows = [
        {
            "workload": workload,
            "part": part.part,
            "hybrid": part.hybrid,
            "go": formatting.seconds(part.medians_seconds.get(GO)),
            "rust": formatting.seconds(part.medians_seconds.get(RUST)),
            "hybrid_time": formatting.seconds(part.medians_seconds.get(part.hybrid)),
            "ratio": "–"
            if part.versus_rust is None
            else formatting.ratio_with_ci(
                part.versus_rust.ratio, part.versus_rust.ci_low, part.versus_rust.ci_high
            ),
            "target": {True: "met", False: "not shown", None: "no CI"}[part.within_target],
        }
        for workload, parts in analysis.parts.items()
        for part in parts
    ]
    build_rows = []
    for w in run.workloads:
        hybrid_results = hybrids(w)
        if not hybrid_results:
            continue
        for pure in (w.result_for(GO), w.result_for(RUST)):
            if pure is not None:
                build_rows.append(_build_row(w.name, pure.key, pure.build))
        for r in hybrid_results:
            build_rows.append(_build_row(w.name, f"{r.key} (go+rust)", r.build))
    skipped = [
        f"{w.name} {r.key}: {r.build.skip_reason}"
        for w in run.workloads
        for r in hybrids(w)
        if r.build.skip_reason is not None
    ]
    return {
        "present": bool(analysis.workloads),
        "reading": list(headline_sentences(analysis)),
        "grain_tables": grain_tables,
        "part_rows": part_rows,
        "build_rows": build_rows,
        "skipped": skipped,
        "cgo_facts": CGO_FACTS,
    }
