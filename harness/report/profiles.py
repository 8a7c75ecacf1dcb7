"""The report's "Where the CPU time goes" section and `harness profile`'s console lines, from a
profile file (model.ProfileRun): formatted strings only, like report.py's context.

How a report finds its profile: `harness profile RUN` writes results/profiles/<run-id>.json beside
the run's results file (store.profile_path); `harness report` looks there for the run it renders
and shows the section only when the file exists. Every figure is derived here from the stored
folded stacks (stacks.py): category shares, self-time tables, flame graphs, and the differences
Go - Rust in share and in CPU time (share x the unprofiled CPU time per run for batch programs,
x the CPU time per request with perf attached for servers), which add up to the pair's gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from markupsafe import Markup

from harness.analysis import stacks
from harness.analysis.profiles import category_shares, owner_of, stack_map
from harness.errors import HarnessError
from harness.model import ImplementationProfile, ProfileRun, WorkloadProfile
from harness.report import charts, formatting
from harness.report.charts import Chart
from harness.store.results import load_profile, profile_path

TOP_N = 10
GO, RUST = "go/default", "rust/default"
# One sentence per category: what it holds on each side, so the shares read the same in both.
CATEGORY_MEANING = {
    "gc_runtime": "the runtime's own work: Go's collector (marking, sweeping, assists, write "
    "barriers) and scheduler; for Rust the async runtime's scheduler and I/O driver (tokio, mio)",
    "allocator": "getting and freeing memory: Go's mallocgc, its span caches and growslice; Rust's "
    "global allocator (glibc malloc/free) and vector growth",
    "kernel": "time in the kernel: system calls (reads, writes, socket I/O), page faults on "
    "fresh memory, scheduling",
    "library": "the standard library and third-party packages doing the work (encoding/json vs "
    "serde_json, compress/flate vs miniz_oxide, net/http vs hyper), Rust's derive-generated "
    "serde code included",
    "own": "the program's own functions (Go package main and the workloads module; the Rust "
    "workspace's crates), with what the compiler inlined into them",
    "other": "samples no rule places: frames perf could not name, start-up code",
}


def _coverage(p: ImplementationProfile) -> float | None:
    if p.process_cpu_seconds <= 0:
        return None
    return p.samples * p.period_seconds / p.process_cpu_seconds


def run_cpu_seconds(p: ImplementationProfile) -> float:
    """A batch program's CPU time per run, unprofiled (the median of the runs between the
    profiled ones): what its category shares are scaled by."""
    return float(np.median(p.unprofiled_cpu_seconds)) if p.unprofiled_cpu_seconds else 0.0


def _overhead(p: ImplementationProfile) -> str:
    """Profiled runs against the unprofiled ones between them (medians), or for a server the
    closed-loop throughput with perf attached against the phase before."""
    if p.unprofiled_wall_seconds and p.profiled_wall_seconds:
        wall, plain_wall = (
            float(np.median(p.profiled_wall_seconds)),
            float(np.median(p.unprofiled_wall_seconds)),
        )
        cpu, plain_cpu = float(np.median(p.profiled_cpu_seconds)), run_cpu_seconds(p)
        runs = len(p.profiled_wall_seconds)
        return (
            f"wall {formatting.seconds(wall)} vs {formatting.seconds(plain_wall)} unprofiled "
            f"({_signed_pct(wall / plain_wall - 1)})"
            + (f"; CPU {_signed_pct(cpu / plain_cpu - 1)}" if plain_cpu else "")
            + (f"; medians of {runs} runs each" if runs > 1 else "; one run each")
        )
    if p.unprofiled_rps:
        lost = 1 - (p.profiled_rps or 0) / p.unprofiled_rps
        return (
            f"{p.profiled_rps or 0:,.0f} vs {p.unprofiled_rps:,.0f} req/s unprofiled "
            f"({_signed_pct(-lost)} throughput)"
        )
    return "–"


def _signed_pct(value: float) -> str:
    return f"{value * 100:+.1f} %"


@dataclass(frozen=True)
class FoundProfile:
    """A run's profile file as the report found it: loaded, or why it could not be read."""

    path: Path
    profile: ProfileRun | None
    unreadable: str | None = None


def find_profile(results_dir: Path, run_id: str) -> FoundProfile | None:
    """results_dir/profiles/<run-id>.json if `harness profile` wrote one, else None; an unreadable
    file is found with the reason, which the section shows instead of failing the report."""
    path = profile_path(results_dir, run_id)
    if not path.exists():
        return None
    try:
        return FoundProfile(path, load_profile(path))
    except HarnessError as exc:
        return FoundProfile(path, None, str(exc))


def _flame(workload: str, p: ImplementationProfile) -> Chart:
    rects, total = stacks.flame_layout(stack_map(p), owner_of(p), min_share=charts.FLAME_MIN_SHARE)
    title = f"{workload}: {p.key} flame graph ({total:,} samples)"
    return Chart(
        title=title,
        alt=(
            f"Flame graph of {total:,} CPU samples of {p.key} in {workload}: each box is a function, "
            "its width the share of samples with it on the stack, callers below callees, coloured by "
            f"category; boxes under {charts.FLAME_MIN_SHARE:.1%} are left out. The table lists the "
            "largest self times."
        ),
        svg=Markup(charts.flame_graph(title, rects, total, stacks.CATEGORY_LABELS)),
    )


def _top_rows(p: ImplementationProfile) -> list[dict[str, str]]:
    return [
        {
            "frame": row.frame,
            "share": formatting.percent(row.share),
            "samples": f"{row.samples:,}",
            "category": stacks.CATEGORY_LABELS[row.category],
        }
        for row in stacks.top_self(stack_map(p), owner_of(p), TOP_N)
    ]


def _largest_in(p: ImplementationProfile, category: str) -> str | None:
    """The function with the most self time in `category`, with its share of all samples."""
    total = p.samples or 1
    counts: dict[str, int] = {}
    owner = owner_of(p)
    for s in p.stacks:
        if stacks.stack_category(s.stack, owner) == category:
            leaf = s.stack.rsplit(";", 1)[-1]
            counts[leaf] = counts.get(leaf, 0) + s.samples
    if not counts:
        return None
    leaf = max(sorted(counts), key=lambda k: counts[k])
    return f"{leaf} {formatting.percent(counts[leaf] / total)}"


def cpu_base(p: ImplementationProfile, batch: bool) -> float | None:
    """What a pair's category shares are scaled by: a batch program's unprofiled CPU time per run,
    or a server's CPU time per request in the profiled phase (perf attached); None: unknown."""
    if batch:
        return run_cpu_seconds(p) or None
    if p.profiled_requests:
        return p.process_cpu_seconds / p.profiled_requests
    return None


BASE_WORDS = {
    True: ("per run", "share × the unprofiled CPU time per run"),
    False: ("per request", "share × the server's CPU time per request with perf attached"),
}


def _category_rows(
    go: ImplementationProfile, rust: ImplementationProfile, batch: bool
) -> list[dict]:
    go_shares, rust_shares = category_shares(go), category_shares(rust)
    go_base, rust_base = cpu_base(go, batch), cpu_base(rust, batch)
    timed = go_base is not None and rust_base is not None
    rows = []
    for category in stacks.CATEGORIES:
        g, r = go_shares[category], rust_shares[category]
        g_s, r_s = g * (go_base or 0.0), r * (rust_base or 0.0)
        label = stacks.CATEGORY_LABELS[category]
        parts = [f"Go {formatting.percent(g)}", f"Rust {formatting.percent(r)}"]
        if timed:
            parts = [
                f"Go {formatting.percent(g)} ({formatting.seconds(g_s)} {BASE_WORDS[batch][0]})",
                f"Rust {formatting.percent(r)} ({formatting.seconds(r_s)})",
            ]
        largest = [
            f"{side} {found}"
            for side, found in (
                ("Go", _largest_in(go, category)),
                ("Rust", _largest_in(rust, category)),
            )
            if found
        ]
        sentence = (
            f"{label[0].upper()}{label[1:]}, {CATEGORY_MEANING[category]}: {parts[0]} against "
            f"{parts[1]}"
            + (f"; largest self time: {', '.join(largest)}" if largest else "")
            + "."
        )
        rows.append(
            {
                "label": label,
                "go": formatting.percent(g),
                "rust": formatting.percent(r),
                "diff_points": f"{(g - r) * 100:+.1f}",
                "go_seconds": formatting.seconds(g_s) if timed else "–",
                "rust_seconds": formatting.seconds(r_s) if timed else "–",
                "diff_seconds": _signed_seconds(g_s - r_s) if timed else "–",
                "sentence": sentence,
            }
        )
    return rows


def _signed_seconds(value: float) -> str:
    return ("+" if value >= 0 else "−") + formatting.seconds(abs(value))


def gap_sentence(go: ImplementationProfile, rust: ImplementationProfile, batch: bool) -> str:
    """What the categories say about the pair's ratio: the CPU gap per run (batch) or per request
    (servers) split by category (the parts add up to it); shares only when no base is known."""
    go_shares, rust_shares = category_shares(go), category_shares(rust)
    go_base, rust_base = cpu_base(go, batch), cpu_base(rust, batch)
    if go_base is not None and rust_base is not None:
        gap = go_base - rust_base
        parts = {
            c: go_shares[c] * go_base - rust_shares[c] * rust_base for c in stacks.CATEGORIES
        }
        ranked = sorted(parts, key=lambda c: -abs(parts[c]))[:3]
        listed = ", ".join(
            f"{stacks.CATEGORY_LABELS[c]} {_signed_seconds(parts[c])}" for c in ranked
        )
        what = (
            "Unprofiled, Go used" if batch else "Under the same closed-loop load, with perf attached, Go used"
        )
        unit = BASE_WORDS[batch][0]
        return (
            f"{what} {formatting.seconds(go_base)} of CPU {unit} and Rust "
            f"{formatting.seconds(rust_base)} (Go/Rust {go_base / rust_base:.2f}×, a gap of "
            f"{_signed_seconds(gap)}); split by the profiles' category shares, the gap is mostly "
            f"{listed}."
        )
    diffs = {c: go_shares[c] - rust_shares[c] for c in stacks.CATEGORIES}
    ranked = sorted(diffs, key=lambda c: -abs(diffs[c]))[:3]
    listed = ", ".join(f"{stacks.CATEGORY_LABELS[c]} {diffs[c] * 100:+.1f} points" for c in ranked)
    return f"The shares of CPU samples differ most in {listed} (Go − Rust)."


def _impl_row(p: ImplementationProfile) -> dict:
    coverage = _coverage(p)
    return {
        "key": p.key,
        "ok": p.ok,
        "error": p.error or "",
        "binary": p.binary_path or "–",
        "flags": p.build_flags or "–",
        "same_source": "yes"
        if p.same_source_as_run
        else ("no: the sources changed since the run" if p.same_source_as_run is False else "–"),
        "samples": f"{p.samples:,}",
        "period": formatting.seconds(p.period_seconds),
        "cpu": formatting.seconds(p.process_cpu_seconds),
        "runs": str(len(p.profiled_cpu_seconds)),
        "coverage": formatting.percent(coverage) if coverage is not None else "–",
        "overhead": _overhead(p) if p.ok else "–",
        "notes": list(p.notes),
    }


def _pair(w: WorkloadProfile) -> dict:
    go, rust = w.profile_for(GO), w.profile_for(RUST)
    both = go is not None and rust is not None and go.ok and rust.ok and go.samples and rust.samples
    batch = w.kind != "server"
    ok_profiles = [p for p in w.implementations if p.ok and p.samples]
    return {
        "name": w.name,
        "kind": w.kind,
        "load": w.load or "",
        "error": w.error or "",
        "rows": [_impl_row(p) for p in w.implementations],
        "compared": bool(both),
        "categories": _category_rows(go, rust, batch) if both else [],  # type: ignore[arg-type]
        "gap": gap_sentence(go, rust, batch) if both else "",  # type: ignore[arg-type]
        "batch": batch,
        "timed": bool(both) and cpu_base(go, batch) is not None and cpu_base(rust, batch) is not None,  # type: ignore[arg-type]
        "basis": BASE_WORDS[batch][1],
        "unit": BASE_WORDS[batch][0],
        "flames": [_flame(w.name, p) for p in ok_profiles],
        "top": [{"key": p.key, "rows": _top_rows(p)} for p in ok_profiles],
    }


def _category_chart(profile: ProfileRun) -> Chart | None:
    bars = {}
    for w in profile.workloads:
        for key in (GO, RUST):
            p = w.profile_for(key)
            if p is not None and p.ok and p.samples:
                bars[f"{w.name} {key.split('/')[0]}"] = category_shares(p)
    if not bars:
        return None
    return Chart(
        title="Where the CPU time goes, by category",
        alt=(
            f"Stacked horizontal bars, one per profiled implementation ({len(bars)}), each split "
            "into the shares of its CPU samples in GC and runtime, allocator, kernel, libraries, "
            "own code and other; the tables below give the numbers."
        ),
        svg=Markup(
            charts.category_bars(
                "Share of CPU samples by category", bars, stacks.CATEGORIES, stacks.CATEGORY_LABELS
            )
        ),
    )


def profile_section(found: FoundProfile | None) -> dict:
    """The section's context; `present` False (no profile for this run) hides it."""
    where = str(found.path) if found else ""
    profile = found.profile if found else None
    if profile is None:
        return {
            "present": found is not None,
            "error": (found.unreadable or "") if found else "",
            "where": where,
            "intro": [],
            "chart": None,
            "pairs": [],
            "hardware": "",
        }
    intro = [
        f"Profiled with perf {profile.perf_version or '(version unknown)'} at {profile.size} size by "
        f"`harness profile`, apart from the timed repetitions (which it never changes): "
        f"{profile.event}. Found at {where}, the file `harness profile` writes beside the run's "
        "results.",
        "Go is profiled as measured (the timed binary; frame pointers are Go's default on amd64). "
        "Rust is profiled in a separate profiling build of the same sources with frame pointers and "
        "line-table debug info, kept out of the timed binary; each row says which binary ran and "
        "whether its sources are the measured run's.",
        "A sample is put in the category of the innermost function that has one (memory copies and "
        "runtime helpers count for their caller); coverage is sampled CPU time (samples × period) "
        "over the process's own CPU time (target ≥ 95 %); a short program is run again under perf "
        "until its runs hold enough samples, each profiled run after an unprofiled one, and the "
        "overhead compares their medians. A pair's CPU time per category is its share times the "
        "unprofiled CPU time per run (batch) or the CPU time per request in the profiled phase "
        "(servers), so the parts add up to the pair's gap.",
    ]
    if profile.elapsed_seconds is not None:
        intro.append(
            f"The last `harness profile` took {formatting.seconds(profile.elapsed_seconds)} "
            f"({len(profile.workloads)} workloads in the file)."
        )
    return {
        "present": True,
        "error": profile.error or "",
        "where": where,
        "intro": intro if profile.error is None else [],
        "chart": _category_chart(profile),
        "pairs": [_pair(w) for w in profile.workloads],
        "hardware": f"Hardware counters (perf stat): {profile.hardware_counters}"
        if profile.hardware_counters
        else "",
    }


def console_lines(profile: ProfileRun) -> Sequence[str]:
    """One line per implementation: samples, coverage, overhead and the category shares."""
    lines = []
    for w in profile.workloads:
        if w.error:
            lines.append(f"{w.name}: failed: {w.error}")
        for p in w.implementations:
            if not p.ok:
                lines.append(f"{w.name} {p.key}: failed: {p.error}")
                continue
            coverage = _coverage(p)
            shares = category_shares(p)
            split = ", ".join(
                f"{stacks.CATEGORY_LABELS[c]} {formatting.percent(shares[c])}"
                for c in stacks.CATEGORIES
                if shares[c] > 0
            )
            lines.append(
                f"{w.name} {p.key}: {p.samples:,} samples, coverage "
                f"{formatting.percent(coverage) if coverage is not None else '–'}, overhead "
                f"{_overhead(p)}; {split}"
            )
    if profile.elapsed_seconds is not None:
        lines.append(f"profiled in {formatting.seconds(profile.elapsed_seconds)}")
    return lines


def gc_sentence(found: FoundProfile | None) -> str | None:
    """For the GC section: the measured GC-and-runtime and allocator shares of each profiled
    pair, so the GC discussion cites where the CPU went rather than pauses alone."""
    profile = found.profile if found else None
    if profile is None:
        return None
    parts = []
    for w in profile.workloads:
        go, rust = w.profile_for(GO), w.profile_for(RUST)
        if not (go and rust and go.ok and rust.ok and go.samples and rust.samples):
            continue
        g, r = category_shares(go), category_shares(rust)
        parts.append(
            f"{w.name} Go {formatting.percent(g['gc_runtime'])} / {formatting.percent(g['allocator'])}"
            f" vs Rust {formatting.percent(r['gc_runtime'])} / {formatting.percent(r['allocator'])}"
        )
    if not parts:
        return None
    return (
        f"Measured in this run's CPU profiles ({profile.size} size, see \"Where the CPU time goes\"), "
        "the share of CPU samples in GC and runtime / in the allocator: " + "; ".join(parts) + ". "
        "Rust's runtime share is its async runtime (servers); its memory management is all in the "
        "allocator share."
    )
