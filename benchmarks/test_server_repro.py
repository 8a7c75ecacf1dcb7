"""Server results you can repeat: two consecutive full runs of http-json (`make bench-harness`).

Single-phase server tails moved 2-3x between two runs here, with nothing to tell which was right.
With replicated phases each rate's p99 is a median over replicates with a 95 % CI; a rerun should
land inside it. This benchmark runs `harness run --workloads http-json --size full` twice, as
subprocesses with every default, the second at the first run's offered rates (`--rates`, so the
two runs share every rate), and asserts the issue's target:

- for every rate at or below 75 % of the slower default's saturation (the first run's replicated
  closed-loop probes), each run's p99 median lies within the other run's 95 % CI, for Go and Rust;

and reports the between-run spread of each percentile (|run 2 / run 1 - 1|) beside the CI widths,
and `harness compare` of the two runs (unpaired: Welch's t on logs), which should call nothing.
REPRO_WORKLOAD overrides the workload (default http-json).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scratch import ROOT

from harness.analysis import noise, replicates, stats
from harness.build import toolchains
from harness.store.results import load_run

WORKLOAD = os.environ.get("REPRO_WORKLOAD", "http-json")
SATURATION_SHARE = 0.75


def harness(results: Path, *args: str) -> subprocess.CompletedProcess:
    argv = [
        sys.executable,
        "-m",
        "harness",
        "--results-dir",
        str(results),
        "--cache-dir",
        str(ROOT / ".cache"),
        *args,
    ]
    return subprocess.run(
        argv, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True
    )


def measured(results: Path, *extra: str):
    done = harness(
        results, "run", "--workloads", WORKLOAD, "--size", "full", "--no-build-profile", *extra
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return load_run(results / "latest.json")


def within(value: float, estimate: replicates.Estimate) -> bool:
    assert estimate.ci_low is not None and estimate.ci_high is not None
    return estimate.ci_low <= value <= estimate.ci_high


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs (server and load)")
def test_two_full_runs_agree_within_their_cis(benchmark, tmp_path):
    for tool in ("go", "cargo"):
        if toolchains.tool_version(tool) is None:
            pytest.skip(f"{tool} not installed")
    runs = []

    def both() -> None:
        runs.append(measured(tmp_path / "first"))
        rates = ",".join(f"{r:g}" for r in runs[0].workloads[0].offered_rates_rps)
        runs.append(measured(tmp_path / "second", "--rates", rates))

    started = time.perf_counter()
    benchmark.pedantic(both, rounds=1, iterations=1)
    first, second = (r.workloads[0] for r in runs)
    assert first.offered_rates_rps == second.offered_rates_rps

    saturations = [
        replicates.saturation(first.result_for(k)) for k in ("go/default", "rust/default")
    ]
    ceiling = SATURATION_SHARE * min(s.median for s in saturations if s is not None)
    lines, missed = [], []
    figures: dict[str, object] = {"rates": list(first.offered_rates_rps), "ceiling_rps": ceiling}
    spreads: dict[str, list[float]] = {p: [] for p in replicates.PERCENTILES}
    for key in ("go/default", "rust/default"):
        a, b = first.result_for(key), second.result_for(key)
        for summary_a, summary_b in zip(
            replicates.rate_summaries(a), replicates.rate_summaries(b), strict=True
        ):
            rate = summary_a.offered_rps
            row = [f"{key} {rate:>8,.0f} req/s"]
            for name in replicates.PERCENTILES:
                ea, eb = summary_a.latency.get(name), summary_b.latency.get(name)
                if ea is None or eb is None:
                    row.append(f"{name} –")
                    continue
                spread = abs(eb.median / ea.median - 1)
                if rate <= ceiling:
                    spreads[name].append(spread)
                row.append(
                    f"{replicates.PERCENTILE_LABELS[name]} {ea.median * 1e3:.3f} "
                    f"[{ea.ci_low * 1e3:.3f}, {ea.ci_high * 1e3:.3f}] vs {eb.median * 1e3:.3f} "
                    f"[{eb.ci_low * 1e3:.3f}, {eb.ci_high * 1e3:.3f}] ms ({spread:+.0%})"
                )
            lines.append("  ".join(row))
            figures[f"{key} {rate:g}"] = {
                name: [summary_a.latency[name].values, summary_b.latency[name].values]
                for name in summary_a.latency
                if name in summary_b.latency
            }
            if rate > ceiling:
                continue
            if not (summary_a.usable and summary_b.usable):
                missed.append(
                    f"{key} at {rate:g}: not usable "
                    f"({'; '.join(summary_a.exclusions + summary_b.exclusions)[:300]})"
                )
                continue
            p99a, p99b = summary_a.latency["p99"], summary_b.latency["p99"]
            if not (within(p99a.median, p99b) and within(p99b.median, p99a)):
                missed.append(
                    f"{key} at {rate:g} req/s: p99 {p99a.median * 1e3:.3f} ms "
                    f"[{p99a.ci_low * 1e3:.3f}, {p99a.ci_high * 1e3:.3f}] vs "
                    f"{p99b.median * 1e3:.3f} [{p99b.ci_low * 1e3:.3f}, {p99b.ci_high * 1e3:.3f}]"
                )
    for name, values in spreads.items():
        if values:
            figures[f"between_run_spread_{name}_median"] = stats.median(values)
            figures[f"between_run_spread_{name}_max"] = max(values)
    compared = harness(
        tmp_path,
        "compare",
        str(tmp_path / "first" / "latest.json"),
        str(tmp_path / "second" / "latest.json"),
        "--format",
        "json",
    )
    verdicts = json.loads(compared.stdout) if compared.stdout.strip() else {}
    called = [
        f"{c['workload']} {c['lang']}/{c['variant']} {c['metric']} {c['verdict']}"
        for c in verdicts.get("changes", [])
        if c["verdict"] != "no significant change" and not c.get("untested")
    ]
    figures |= {
        "compare_exit": compared.returncode,
        "compare_called": called,
        "elapsed_seconds": time.perf_counter() - started,
    }
    benchmark.extra_info.update(figures)
    print(
        f"\n{WORKLOAD}: two full runs at rates {first.offered_rates_rps} (ceiling {ceiling:,.0f})"
    )
    print("\n".join(lines))
    for name in replicates.PERCENTILES:
        if f"between_run_spread_{name}_median" in figures:
            print(
                f"between-run spread of {replicates.PERCENTILE_LABELS[name]} at rates <= "
                f"{SATURATION_SHARE:.0%} of saturation: median "
                f"{figures[f'between_run_spread_{name}_median']:.1%}, "
                f"max {figures[f'between_run_spread_{name}_max']:.1%}"
            )
    print(f"compare run 1 -> run 2: exit {compared.returncode}, called: {called or 'nothing'}")
    # the hypervisor's steal during each run: a run disturbed from outside is told apart here
    for label, workload in (("run 1", first), ("run 2", second)):
        window = workload.cpu_window
        usage = window and noise.cpu_usage_between(window.before, window.after, None)
        if usage is not None:
            figures[f"steal_share {label}"] = usage.steal_share
            print(f"{label}: CPU steal {usage.steal_share:.1%} of the protocol's CPU time")
        # per phase: which replicates were set aside as disturbed, and how many extra ones ran
        aside = [
            f"{impl.key} {entry}"
            for impl in workload.implementations
            for summary in replicates.rate_summaries(impl)
            for entry in summary.set_aside
        ]
        extra = max(
            (p.replicate or 0 for i in workload.implementations for p in i.phases), default=0
        )
        steals = [
            p.steal_share
            for i in workload.implementations
            for p in i.phases
            if p.replicate is not None and p.steal_share is not None
        ]
        figures[f"set_aside {label}"] = len(aside)
        figures[f"replicates_run {label}"] = extra
        print(
            f"{label}: {len(aside)} replicate phases set aside, {extra} replicates run; phase steal "
            + (f"median {stats.median(steals):.2%}, max {max(steals):.2%}" if steals else "unread")
            + "".join(f"\n  set aside: {a}" for a in aside)
        )
    benchmark.extra_info.update(figures)
    assert not missed, "; ".join(missed)
