"""The regression gate on the real suite: full-size sha256 with all its implementations, through
`harness ab` with every default (`make bench-harness`; GATE_SUITE_TRIALS sets the trials).

test_gate.py measures the gate on ~100 ms programs. On the real suite the gate once passed blind:
sha256 has four implementations, so a round of base + head is 8 programs of ~1.2 s, a 60 s
workload budget stopped at round 6, no verdict could be significant, and a +7 % change of the Go
program's own work passed with exit 0. This benchmark drives the command CI runs on that workload:

- a scratch repository with the real sha256 manifest and every implementation (go/default,
  rust/default, rust/ring, go/cgo-rust), the real full-size input (~579 MB);
- branch `main` is the base. Two branches each commit one real change to both Go programs: after
  its timed loop over the small messages, each hashes the first part of them a second time (the
  digests are discarded, so the output and the checksums do not change). `slow-a` adds ~10 % of
  its own work to go/default and ~5 % to go/cgo-rust, `slow-b` the other way round, so every trial
  has one A/A session and one slow session and each size is injected once per trial, on each Go
  program in turn. The fractions come from the programs' own split of their work time (small
  messages vs the large buffer) measured here; the measured change is reported beside them;
- verdicts: a slowdown is caught when its program's targeted verdict (work time) is "regressed";
  the unchanged Rust programs of the slow sessions must not be flagged; in A/A every verdict other
  than "no significant change" or "inconclusive" is a false alarm, and exit 1 a failed gate.

Targets (issue 25): A/A false alarms <= 5 % of verdicts and no exit 1; +10 % caught >= 95 %,
+5 % >= 80 %; unchanged implementations flagged <= 5 %; every exit 0 has each targeted verdict's
MDC at or below its threshold; the MDC agrees with the detection measured: the power the verdicts'
own spread predicts at the arm's measured change lies in the 95 % binomial CI of the arm's
detection rate.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from scipy import stats as sps
from scratch import copy_workloads, git, harness_ab

from harness.analysis import compare, stats
from harness.build import toolchains
from harness.store.results import load_run

TRIALS = int(os.environ.get("GATE_SUITE_TRIALS", "10"))
WORKLOAD = "sha256"
# Share of each Go program's work time spent on the small messages, measured here at full size
# (harness run --workloads sha256 --size full, extra small_seconds / work_seconds, 2026-12-06):
# re-hashing a fraction f of them adds about f * share of the work.
SMALL_SHARE = {"go/default": 0.97, "go/cgo-rust": 0.966}
SOURCES = {
    "go/default": "workloads/go/sha256/main.go",
    "go/cgo-rust": "workloads/go/sha256-cgo/main.go",
}
BRANCHES = {  # branch -> injected share of its own work per changed program
    "slow-a": {"go/default": 0.10, "go/cgo-rust": 0.05},
    "slow-b": {"go/default": 0.05, "go/cgo-rust": 0.10},
}
UNCHANGED = ("rust/default", "rust/ring")
TARGETS = {0.10: 0.95, 0.05: 0.80}
FALSE_ALARM_TARGET = 0.05
UNCHANGED_FLAG_TARGET = 0.05
ANCHOR = "\tsmallDone := time.Now()\n"


def injected(source: str, key: str, share: float) -> str:
    """The program with the first part of its small messages hashed again inside the timed work,
    enough for `share` of its work time; the digests go to a package variable (so the compiler
    keeps the work) that nothing prints."""
    per_mille = round(1000 * share / SMALL_SHARE[key])
    rehash = (
        "sum := sha256.Sum256(msg)\n\t\tinjectedSink ^= sum[0]"
        if key == "go/default"
        else "var sum [rustsha256.Size]byte\n\t\trustsha256.Sum(msg, &sum)\n\t\tinjectedSink ^= sum[0]"
    )
    loop = (
        f"\tfor _, msg := range small[:len(small)*{per_mille}/1000] {{ // gate benchmark: +{share:.0%}\n"
        f"\t\t{rehash}\n\t}}\n"
    )
    assert source.count(ANCHOR) == 1, f"{key}: the anchor line moved"
    return source.replace(ANCHOR, loop + ANCHOR) + "\nvar injectedSink byte\n"


def scratch_repository(repo: Path) -> None:
    copy_workloads(repo, {WORKLOAD: None}, every_variant=True)
    (repo / ".gitignore").write_text("target/\n")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "user.email", "gate@example.invalid")
    git(repo, "config", "user.name", "gate benchmark")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "base")
    originals = {key: (repo / path).read_text() for key, path in SOURCES.items()}
    for branch, shares in BRANCHES.items():
        git(repo, "checkout", "--quiet", "-b", branch, "main")
        for key, share in shares.items():
            (repo / SOURCES[key]).write_text(injected(originals[key], key, share))
        git(repo, "commit", "--quiet", "-am", f"sha256: {shares}")
    git(repo, "checkout", "--quiet", "main")


@dataclass(frozen=True)
class Trial:
    arm: str  # "aa" or a slow branch
    exit_code: int
    seconds: float
    comparison: dict  # harness ab --format json
    results: Path  # the session's base and head results files


def run_trial(repo: Path, branch: str, cache: Path, results: Path) -> Trial:
    git(repo, "checkout", "--quiet", branch)
    code, seconds, comparison = harness_ab(repo, WORKLOAD, cache, results, "--size", "full")
    return Trial("aa" if branch == "main" else branch, code, seconds, comparison, results / "ab")


def rows(trial: Trial, impl: str | None = None, targeted: bool | None = None) -> list[dict]:
    return [
        c
        for c in trial.comparison["changes"]
        if (impl is None or f"{c['lang']}/{c['variant']}" == impl)
        and (targeted is None or c["targeted"] == targeted)
    ]


def predicted_power(trial: Trial, impl: str, change: float) -> float:
    """The probability the trial's own targeted test, with its rounds and paired spread and the
    comparison's adjustment, calls a true change `change` (compare.MetricChange.power)."""
    base, head = (load_run(next(trial.results.glob(f"*-{side}.json"))) for side in ("base", "head"))
    result = compare.compare_runs(base, head, default_threshold=0.03)
    (row,) = [c for c in result.changes if c.targeted and f"{c.lang}/{c.variant}" == impl]
    return row.power(change, compare.detectable_alpha(result.changes))


def summarise(trials: list[Trial]) -> tuple[dict, list[str], list[str]]:
    figures: dict[str, object] = {}
    lines: list[str] = []
    missed: list[str] = []
    aa = [t for t in trials if t.arm == "aa"]
    aa_rows = [c for t in aa for c in rows(t)]
    alarms = [c for c in aa_rows if c["verdict"] in compare.CALLED]
    figures |= {
        "aa_trials": len(aa),
        "aa_verdicts": len(aa_rows),
        "aa_false_alarm_rate": len(alarms) / len(aa_rows),
        "aa_exit_codes": [t.exit_code for t in aa],
        "aa_inconclusive": sum(c["verdict"] == compare.INCONCLUSIVE for c in aa_rows),
    }
    lines.append(
        f"A/A: {len(aa)} sessions, {len(aa_rows)} verdicts, false alarms "
        f"{figures['aa_false_alarm_rate']:.1%}; exits {figures['aa_exit_codes']}; "
        f"{figures['aa_inconclusive']} inconclusive verdicts"
    )
    if figures["aa_false_alarm_rate"] > FALSE_ALARM_TARGET:
        missed.append(f"A/A false alarms {figures['aa_false_alarm_rate']:.1%}")
    if any(t.exit_code == 1 for t in aa):
        missed.append("an A/A session exited 1")
    slow = [t for t in trials if t.arm in BRANCHES]
    for size, target in TARGETS.items():
        hits = [
            (t, key, row)
            for t in slow
            for key, share in BRANCHES[t.arm].items()
            if share == size
            for row in rows(t, key, targeted=True)
        ]
        caught = [row["verdict"] == "regressed" for _, _, row in hits]
        measured = stats.median([row["change"] for _, _, row in hits])
        wall = [
            c["verdict"] == "regressed"
            for t in slow
            for key, share in BRANCHES[t.arm].items()
            if share == size
            for c in rows(t, key)
            if c["metric"] == "wall_seconds"
        ]
        predicted = [predicted_power(t, key, measured) for t, key, _ in hits]
        expected = sum(predicted) / len(predicted)
        ci = sps.binomtest(sum(caught), len(caught)).proportion_ci(0.95)
        mdcs = [row["detectable_change"] for _, _, row in hits]
        key = f"work_{round(size * 100)}pct"
        figures |= {
            f"{key}_caught_rate": sum(caught) / len(caught),
            f"{key}_wall_caught_rate": sum(wall) / len(wall),
            f"{key}_measured_changes": [round(r["change"], 5) for _, _, r in hits],
            f"{key}_detectable_changes": mdcs,
            f"{key}_predicted_detection": expected,
            f"{key}_detection_ci": (ci.low, ci.high),
        }
        lines.append(
            f"+{size:.0%} work: caught {sum(caught)}/{len(caught)} on work time "
            f"(wall {sum(wall)}/{len(wall)}), measured change median {measured:+.2%}; MDC median "
            f"{stats.median([m for m in mdcs if m is not None] or [float('nan')]):.2%}; predicted "
            f"detection at the measured change {expected:.0%}, measured CI [{ci.low:.0%}, "
            f"{ci.high:.0%}]"
        )
        if sum(caught) / len(caught) < target:
            missed.append(f"+{size:.0%} caught {sum(caught)}/{len(caught)}")
        if not ci.low <= expected <= ci.high:
            missed.append(
                f"+{size:.0%}: predicted {expected:.0%} outside [{ci.low:.0%}, {ci.high:.0%}]"
            )
    unchanged = [c for t in slow for impl in UNCHANGED for c in rows(t, impl)]
    flagged = sum(c["verdict"] in compare.CALLED for c in unchanged) / len(unchanged)
    figures["unchanged_flagged_rate"] = flagged
    lines.append(
        f"unchanged {', '.join(UNCHANGED)}: {flagged:.1%} of {len(unchanged)} verdicts flagged"
    )
    if flagged > UNCHANGED_FLAG_TARGET:
        missed.append(f"unchanged flagged {flagged:.1%}")
    blind_passes = [
        t.arm
        for t in trials
        if t.exit_code == 0
        and any(
            c["detectable_change"] is None or c["detectable_change"] > c["threshold"]
            for c in rows(t, targeted=True)
        )
    ]
    figures["blind_passes"] = blind_passes
    if blind_passes:
        missed.append(f"{len(blind_passes)} sessions passed with an underpowered targeted verdict")
    seconds = [t.seconds for t in trials]
    figures["session_seconds"] = seconds
    lines.append(
        f"session time: median {stats.median(seconds):.0f} s, range {min(seconds):.0f}-"
        f"{max(seconds):.0f} s; exits {[t.exit_code for t in trials]}"
    )
    return figures, lines, missed


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs (harness and programs)")
def test_gate_on_full_size_sha256_with_every_implementation(benchmark, tmp_path):
    for tool in ("go", "cargo", "git"):
        if toolchains.tool_version(tool) is None:
            pytest.skip(f"{tool} not installed")
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    scratch_repository(repo)
    for branch in ("main", *BRANCHES):  # build every side and the input once, untimed
        git(repo, "checkout", "--quiet", branch)
        harness_ab(
            repo,
            WORKLOAD,
            cache,
            tmp_path / f"warm-{branch}",
            "--size",
            "full",
            "--min-rounds",
            "2",
            "--max-rounds",
            "2",
        )
    trials: list[Trial] = []
    slow_branches = list(BRANCHES)

    def all_trials() -> None:
        for n in range(TRIALS):
            arms = ["main", slow_branches[n % 2]]
            for branch in arms if n % 2 == 0 else arms[::-1]:
                trials.append(run_trial(repo, branch, cache, tmp_path / f"trial-{n}-{branch}"))
                shown = ", ".join(
                    f"{c['lang']}/{c['variant']} {c['change']:+.1%} MDC "
                    + (
                        "none"
                        if c["detectable_change"] is None
                        else f"{c['detectable_change']:.1%}"
                    )
                    + f" {c['verdict']}"
                    for c in rows(trials[-1], targeted=True)
                )
                print(
                    f"trial {n + 1}/{TRIALS} {branch}: exit {trials[-1].exit_code}, "
                    f"{trials[-1].seconds:.0f} s; work: {shown}",
                    flush=True,
                )

    started = time.perf_counter()
    benchmark.pedantic(all_trials, rounds=1, iterations=1)
    figures, lines, missed = summarise(trials)
    figures |= {"trials": TRIALS, "elapsed_seconds": time.perf_counter() - started}
    benchmark.extra_info.update(figures)
    print(
        f"\ngate on full-size sha256 (4 implementations), {TRIALS} trials, "
        f"{figures['elapsed_seconds']:.0f} s"
    )
    print("\n".join(lines))
    assert not missed, "; ".join(missed)
