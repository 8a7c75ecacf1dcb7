"""The server gate measured through the real `harness ab` (`make bench-harness`).

`harness ab` now measures server workloads: base and head servers in one protocol run, at the same
offered rates, in the same replicates, compared replicate by replicate (p50 and p99 at every rate
both sides held, and closed-loop saturation). This benchmark drives the command CI runs, as a
subprocess with its defaults (quick size, 5 replicates), on a scratch git repository holding a copy
of http-json (default implementations only):

- A/A: the working tree equals `main`. Target: no "regressed" verdict in any of SERVER_GATE_TRIALS
  trials (default 5); the false-alarm rate over every server verdict is reported;
- slow: an uncommitted change to the Go server that spins for 200 µs of CPU in every records
  answer (writeJSON), the working tree against `main`. Target: Go's server "regressed" on at least
  one gated metric in every slow trial, and Rust's, unchanged, not flagged.

SERVER_GATE_SLOW_TRIALS (default 2) sets the slow trials. Verdicts, changes and notes are printed
and kept in extra_info.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from scratch import copy_workloads, git, harness_ab

from harness.analysis import compare
from harness.build import toolchains

WORKLOAD = "http-json"
AA_TRIALS = int(os.environ.get("SERVER_GATE_TRIALS", "5"))
SLOW_TRIALS = int(os.environ.get("SERVER_GATE_SLOW_TRIALS", "2"))
SPIN_MICROSECONDS = 200
CHANGED, UNCHANGED = "go/default", "rust/default"
PROGRAM = Path("workloads/go/http-json/main.go")
SPIN = (
    f"\tfor start := time.Now(); time.Since(start) < {SPIN_MICROSECONDS}*time.Microsecond; {{\n"
    "\t}\n"
)


def scratch_repository(repo: Path) -> None:
    copy_workloads(repo, {WORKLOAD: None})
    (repo / ".gitignore").write_text("target/\n")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "user.email", "gate@example.invalid")
    git(repo, "config", "user.name", "server gate benchmark")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "base")


def slowed(text: str) -> str:
    """The Go server with SPIN at the top of writeJSON (every records answer) and "time" imported."""
    signature = "func writeJSON(w http.ResponseWriter, status int, v any) {\n"
    assert signature in text and '\t"strings"\n' in text
    return text.replace(signature, signature + SPIN).replace(
        '\t"strings"\n', '\t"strings"\n\t"time"\n'
    )


@dataclass(frozen=True)
class Trial:
    arm: str  # "aa" | "slow"
    exit_code: int
    seconds: float
    comparison: dict  # harness ab --format json


def run_ab(repo: Path, arm: str, cache: Path, results: Path) -> Trial:
    return Trial(arm, *harness_ab(repo, WORKLOAD, cache, results))


def server_changes(trial: Trial, impl: str | None = None) -> list[dict]:
    return [
        c
        for c in trial.comparison["changes"]
        if c["workload"] == WORKLOAD and (impl is None or f"{c['lang']}/{c['variant']}" == impl)
    ]


def describe(change: dict) -> str:
    at = f" @ {change['rate_rps']:g}" if change.get("rate_rps") else ""
    return (
        f"{change['lang']}/{change['variant']} {change['metric']}{at}: {change['change']:+.1%} "
        f"[{change['ci_low'] or 0:+.1%}, {change['ci_high'] or 0:+.1%}] "
        f"p(BH) {change['p_adjusted'] if change['p_adjusted'] is not None else float('nan'):.3g} "
        f"{change['verdict']}"
    )


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs (servers and load)")
def test_server_gate_through_harness_ab(benchmark, tmp_path):
    for tool in ("go", "cargo", "git"):
        if toolchains.tool_version(tool) is None:
            pytest.skip(f"{tool} not installed")
    repo, cache, results = tmp_path / "repo", tmp_path / "cache", tmp_path / "results"
    scratch_repository(repo)
    program = repo / PROGRAM
    base_text = program.read_text()
    trials: list[Trial] = []
    arms = ["aa"] * AA_TRIALS + ["slow"] * SLOW_TRIALS
    # Interleave the arms so a slow hour of the machine does not land on one arm only.
    order = [arms[i] for i in sorted(range(len(arms)), key=lambda i: (i % 3, i))]

    def all_trials() -> None:
        for n, arm in enumerate(order, 1):
            program.write_text(slowed(base_text) if arm == "slow" else base_text)
            trials.append(run_ab(repo, arm, cache, results))
            print(
                f"trial {n}/{len(order)} {arm}: exit {trials[-1].exit_code}, "
                f"{trials[-1].seconds:.0f} s",
                flush=True,
            )
        program.write_text(base_text)

    started = time.perf_counter()
    benchmark.pedantic(all_trials, rounds=1, iterations=1)
    missed: list[str] = []
    aa = [t for t in trials if t.arm == "aa"]
    slow = [t for t in trials if t.arm == "slow"]
    aa_changes = [c for t in aa for c in server_changes(t)]
    aa_called = [c for c in aa_changes if c["verdict"] in compare.CALLED]
    aa_regressed = [c for c in aa_called if c["verdict"] == "regressed"]
    lines = [
        f"A/A: {len(aa)} trials, {len(aa_changes)} server verdicts, {len(aa_called)} called "
        f"({len(aa_regressed)} regressed), gate failed in {sum(t.exit_code == 1 for t in aa)}"
    ]
    lines += [f"  A/A called: {describe(c)}" for c in aa_called]
    if aa_regressed:
        missed.append(f"A/A: {len(aa_regressed)} regression verdicts")
    for n, t in enumerate(slow, 1):
        hit = [c for c in server_changes(t, CHANGED) if c["verdict"] == "regressed"]
        other = [c for c in server_changes(t, UNCHANGED) if c["verdict"] in compare.CALLED]
        lines.append(
            f"slow trial {n}: exit {t.exit_code}, {CHANGED} regressed on {len(hit)} of "
            f"{len(server_changes(t, CHANGED))} metrics; {UNCHANGED} called on {len(other)}"
        )
        lines += [f"  {describe(c)}" for c in server_changes(t)]
        lines += [f"  note: {note}" for note in t.comparison["notes"]]
        if not hit:
            missed.append(f"slow trial {n}: +{SPIN_MICROSECONDS} µs per request not caught")
        if other:
            missed.append(f"slow trial {n}: unchanged {UNCHANGED} called on {len(other)} metrics")
    benchmark.extra_info.update(
        {
            "aa_trials": len(aa),
            "aa_server_verdicts": len(aa_changes),
            "aa_called": [describe(c) for c in aa_called],
            "aa_changes": [round(c["change"], 4) for c in aa_changes],
            "slow_trials": len(slow),
            "slow_changes": [[describe(c) for c in server_changes(t)] for t in slow],
            "trial_seconds": {arm: [t.seconds for t in trials if t.arm == arm] for arm in arms},
            "elapsed_seconds": time.perf_counter() - started,
            "notes": [t.comparison["notes"] for t in trials],
        }
    )
    print(f"\nserver gate through harness ab ({WORKLOAD}, quick, defaults)")
    print("\n".join(lines))
    assert not missed, "; ".join(missed)
