"""The regression gate measured through the real `harness ab` (`make bench-harness`).

A gate is only worth its false alarms and its misses on the machine it runs on, so this benchmark
drives the very command CI runs, `harness ab BASE`, as a subprocess, on a scratch git repository:

- the repository holds copies of real workloads (sha256, gzip, binarytrees; default
  implementations only, inputs sized to ~100 ms a run) and `passes`, the gate's own pair
  (benchmarks/gate_fixture: FNV-1a over a buffer, a constant number of passes, Go and Rust);
- branch `main` is the base. Branches `slow5` and `slow10` each commit one real source change to
  the Go program: the number of passes goes from 100 to 105 or 110, i.e. 5 % or 10 % more hashing
  (start-up and the buffer fill do not scale, so the measured change is a little smaller: it is
  reported beside the injected one). Its output does not change, so the checksums still agree;
- every trial runs, in a rotated order: A/A (`main` against itself, every workload, identical
  trees) and each slowdown (the slow branch checked out, `harness ab main --workloads passes`).

Everything is `harness ab`'s defaults: its order, its adaptive rounds, its threshold, its pinning.
Figures go to extra_info and are printed; the issue's targets are asserted:

- A/A: false alarms (any verdict other than "no significant change" on wall or CPU time) in at most
  5 % of verdicts; median |change| at most 1 %;
- +10 %: the changed implementation's wall and CPU time "regressed" in >= 95 % of trials; the
  unchanged Rust program flagged in <= 5 %; +5 %: caught in >= 80 %.

GATE_TRIALS overrides the number of trials (default 20). Verdicts at other thresholds are
recomputed from the same changes, CIs and adjusted p-values with `compare.verdict_for`, to show
what the threshold buys.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from scratch import copy_workloads, git, harness_ab

from harness.analysis import compare, stats
from harness.build import toolchains
from harness.cli.options import AB_DEFAULT_THRESHOLD_PCT, AB_TARGET_CI_PCT

FIXTURE = Path(__file__).resolve().parent / "gate_fixture"
TRIALS = int(os.environ.get("GATE_TRIALS", "20"))
# Copied workloads and the quick-size parameters that make each run take ~100 ms here.
AA_WORKLOADS = {
    "sha256": {"messages": 120_000, "large_bytes": 5 << 20},
    "gzip": {"mebibytes": 1},
    "binarytrees": {"depth": 13},
}
GATE_WORKLOAD = "passes"
BASE_PASSES = 100
SLOWDOWNS = {"slow5": 0.05, "slow10": 0.10}
GATED = ("wall_seconds", "cpu_seconds")
CHANGED = "go/default"
UNCHANGED = "rust/default"
FALSE_ALARM_TARGET = 0.05
AA_MEDIAN_CHANGE_TARGET = 0.01
DETECTION_TARGETS = {"slow10": 0.95, "slow5": 0.80}
UNCHANGED_FLAG_TARGET = 0.05
THRESHOLDS_SHOWN = (0.01, 0.02, 0.03, 0.04, 0.05)


def scratch_repository(repo: Path) -> None:
    """The base commit on `main`, and one branch per injected slowdown."""
    workloads = copy_workloads(repo, AA_WORKLOADS)
    shutil.copy(FIXTURE / "passes.toml", workloads / "passes.toml")
    shutil.copytree(FIXTURE / "go" / "passes", workloads / "go" / "passes")
    shutil.copytree(FIXTURE / "rust" / "passes", workloads / "rust" / "crates" / "passes")
    # The new crate must be in Cargo.lock, or `cargo build --locked` refuses to build.
    subprocess.run(
        ["cargo", "update", "--workspace", "--offline", "--quiet"],
        cwd=workloads / "rust",
        check=True,
    )
    (repo / ".gitignore").write_text("target/\n")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "user.email", "gate@example.invalid")
    git(repo, "config", "user.name", "gate benchmark")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "base")
    program = workloads / "go" / "passes" / "main.go"
    base_text = program.read_text()
    for branch, slowdown in SLOWDOWNS.items():
        passes = round(BASE_PASSES * (1 + slowdown))
        git(repo, "checkout", "--quiet", "-b", branch, "main")
        program.write_text(
            base_text.replace(f"const passes = {BASE_PASSES}\n", f"const passes = {passes}\n")
        )
        assert program.read_text() != base_text
        git(repo, "commit", "--quiet", "-am", f"passes: {BASE_PASSES} -> {passes}")
    git(repo, "checkout", "--quiet", "main")


@dataclass(frozen=True)
class Trial:
    arm: str  # "aa" or a slowdown branch
    exit_code: int
    seconds: float
    comparison: dict  # harness ab --format json


def run_ab(repo: Path, branch: str, workloads: list[str], cache: Path, results: Path) -> Trial:
    git(repo, "checkout", "--quiet", branch)
    exit_code, seconds, comparison = harness_ab(repo, ",".join(workloads), cache, results)
    return Trial(
        arm="aa" if branch == "main" else branch,
        exit_code=exit_code,
        seconds=seconds,
        comparison=comparison,
    )


def changes(trials: list[Trial], impl: str | None = None, workload: str | None = None):
    return [
        c
        for t in trials
        for c in t.comparison["changes"]
        if c["metric"] in GATED
        and (impl is None or f"{c['lang']}/{c['variant']}" == impl)
        and (workload is None or c["workload"] == workload)
    ]


def verdict_at(change: dict, threshold: float) -> str:
    return compare.verdict_for(
        change["metric"],
        change["change"],
        change["ci_low"],
        change["ci_high"],
        change["p_adjusted"],
        threshold,
    )


def rate(items: list[dict], hit) -> float:
    return sum(map(hit, items)) / len(items) if items else float("nan")


def summarise(trials: list[Trial]) -> tuple[dict[str, object], list[str], list[str]]:
    """Figures, printable lines, and the targets missed."""
    figures: dict[str, object] = {}
    lines: list[str] = []
    missed: list[str] = []
    aa = [t for t in trials if t.arm == "aa"]
    aa_changes = changes(aa)
    false_alarm = rate(aa_changes, lambda c: c["verdict"] in compare.CALLED)
    median_abs = stats.median([abs(c["change"]) for c in aa_changes])
    figures |= {
        "aa_trials": len(aa),
        "aa_verdicts": len(aa_changes),
        "aa_false_alarm_rate": false_alarm,
        "aa_gate_failed_rate": rate(aa, lambda t: t.exit_code == 1),
        "aa_median_abs_change": median_abs,
        "aa_changes": {
            f"{c['workload']} {c['lang']}/{c['variant']} {c['metric']}": [] for c in aa_changes
        },
    }
    for c in aa_changes:
        figures["aa_changes"][f"{c['workload']} {c['lang']}/{c['variant']} {c['metric']}"].append(
            round(c["change"], 5)
        )
    lines.append(
        f"A/A: {len(aa)} trials, {len(aa_changes)} verdicts: false alarms {false_alarm:.1%}, "
        f"gate failed (exit 1) in {figures['aa_gate_failed_rate']:.0%} of trials, "
        f"median |change| {median_abs:.2%}"
    )
    for metric in GATED:
        spread = stats.mad([c["change"] for c in aa_changes if c["metric"] == metric])
        figures[f"aa_{metric}_change_sigma"] = spread
        lines.append(f"  A/A {metric}: robust sigma (MAD) of the change {spread:.2%}")
    if false_alarm > FALSE_ALARM_TARGET:
        missed.append(f"A/A false alarms {false_alarm:.1%} > {FALSE_ALARM_TARGET:.0%}")
    if median_abs > AA_MEDIAN_CHANGE_TARGET:
        missed.append(f"A/A median |change| {median_abs:.2%} > {AA_MEDIAN_CHANGE_TARGET:.0%}")
    for arm, slowdown in SLOWDOWNS.items():
        arm_trials = [t for t in trials if t.arm == arm]
        for metric in GATED:
            hit = [c for c in changes(arm_trials, CHANGED, GATE_WORKLOAD) if c["metric"] == metric]
            other = [
                c for c in changes(arm_trials, UNCHANGED, GATE_WORKLOAD) if c["metric"] == metric
            ]
            caught = rate(hit, lambda c: c["verdict"] == "regressed")
            flagged = rate(other, lambda c: c["verdict"] in compare.CALLED)
            measured = stats.median([c["change"] for c in hit])
            key = f"{arm}_{metric}"
            figures |= {
                f"{key}_caught_rate": caught,
                f"{key}_unchanged_flagged_rate": flagged,
                f"{key}_median_measured_change": measured,
                f"{key}_changes": [round(c["change"], 5) for c in hit],
            }
            lines.append(
                f"+{slowdown:.0%} work, {metric}: caught {caught:.0%} of {len(hit)}, measured "
                f"change median {measured:+.2%}; unchanged {UNCHANGED} flagged {flagged:.0%}"
            )
            if caught < DETECTION_TARGETS[arm]:
                missed.append(f"+{slowdown:.0%} {metric} caught {caught:.0%}")
            if flagged > UNCHANGED_FLAG_TARGET:
                missed.append(f"+{slowdown:.0%} {metric}: unchanged flagged {flagged:.0%}")
    for metric in GATED:
        reliable = [
            slowdown
            for arm, slowdown in SLOWDOWNS.items()
            if figures[f"{arm}_{metric}_caught_rate"] >= 0.95
        ]
        figures[f"{metric}_smallest_injected_caught_95pct"] = min(reliable, default=None)
    lines.append("verdicts recomputed at other thresholds (same changes, CIs and adjusted p):")
    for threshold in THRESHOLDS_SHOWN:
        aa_rate = rate(aa_changes, lambda c, t=threshold: verdict_at(c, t) in compare.CALLED)
        parts = [f"A/A false alarms {aa_rate:.1%}"]
        for arm, slowdown in SLOWDOWNS.items():
            hit = changes([t for t in trials if t.arm == arm], CHANGED, GATE_WORKLOAD)
            parts.append(
                f"+{slowdown:.0%} caught "
                f"{rate(hit, lambda c, t=threshold: verdict_at(c, t) == 'regressed'):.0%}"
            )
        figures[f"threshold_{threshold:.2f}"] = ", ".join(parts)
        lines.append(f"  {threshold:.0%}: " + ", ".join(parts))
    return figures, lines, missed


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs (harness and programs)")
def test_gate_through_harness_ab(benchmark, tmp_path):
    for tool in ("go", "cargo", "git"):
        if toolchains.tool_version(tool) is None:
            pytest.skip(f"{tool} not installed")
    repo, cache, results = tmp_path / "repo", tmp_path / "cache", tmp_path / "results"
    scratch_repository(repo)
    arms = [("main", [*AA_WORKLOADS, GATE_WORKLOAD])]
    arms += [(branch, [GATE_WORKLOAD]) for branch in SLOWDOWNS]
    # Build everything once so the first trial does not time builds.
    for branch, names in arms:
        run_ab(repo, branch, names, cache, results)
    trials: list[Trial] = []

    def all_trials() -> None:
        for trial in range(TRIALS):
            for branch, names in arms[trial % len(arms) :] + arms[: trial % len(arms)]:
                trials.append(run_ab(repo, branch, names, cache, results))
                print(
                    f"trial {trial + 1}/{TRIALS} {branch}: exit {trials[-1].exit_code}, "
                    f"{trials[-1].seconds:.0f} s",
                    flush=True,
                )

    started = time.perf_counter()
    benchmark.pedantic(all_trials, rounds=1, iterations=1)
    figures, lines, missed = summarise(trials)
    figures |= {
        "trials": TRIALS,
        "elapsed_seconds": time.perf_counter() - started,
        "ab_threshold": AB_DEFAULT_THRESHOLD_PCT / 100,
        "ab_target_ci": AB_TARGET_CI_PCT / 100,
        "trial_seconds": {
            arm: [t.seconds for t in trials if t.arm == arm] for arm in ("aa", *SLOWDOWNS)
        },
        "noise_notes": [n for t in trials for n in t.comparison["notes"] if n.startswith("NOISE")],
    }
    benchmark.extra_info.update(figures)
    print(
        f"\nregression gate through harness ab, {TRIALS} trials, {figures['elapsed_seconds']:.0f} s"
    )
    print("\n".join(lines))
    assert not missed, "; ".join(missed)
