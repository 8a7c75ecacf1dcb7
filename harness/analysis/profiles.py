"""What a run's CPU profile says, for the analysis: category shares of each implementation's
folded stacks (stacks.py), and the decision matrix's profile evidence (the GC, runtime and
allocator shares of Go against Rust). The report's profile section shows the same shares.
"""

from __future__ import annotations

from harness.analysis import stacks, units
from harness.model import ImplementationProfile, ProfileRun

GO, RUST = "go/default", "rust/default"


def owner_of(p: ImplementationProfile) -> stacks.Owner:
    return stacks.Owner(p.lang, tuple(p.own_code))


def stack_map(p: ImplementationProfile) -> dict[str, int]:
    return {s.stack: s.samples for s in p.stacks}


def category_shares(p: ImplementationProfile) -> dict[str, float]:
    return stacks.shares(stacks.category_samples(stack_map(p), owner_of(p)))


def evidence_lines(profile: ProfileRun | None) -> dict[str, str]:
    """For the decision matrix: one line each for latency determinism (the GC and runtime share
    competing with the program) and resource cost (runtime + allocator share of CPU), per pair."""
    if profile is None:
        return {}
    gc, memory = [], []
    for w in profile.workloads:
        go, rust = w.profile_for(GO), w.profile_for(RUST)
        if not (go and rust and go.ok and rust.ok and go.samples and rust.samples):
            continue
        g, r = category_shares(go), category_shares(rust)
        gc.append(f"{w.name} {units.percent(g['gc_runtime'])} vs {units.percent(r['gc_runtime'])}")
        memory.append(
            f"{w.name} {units.percent(g['gc_runtime'] + g['allocator'])} vs "
            f"{units.percent(r['gc_runtime'] + r['allocator'])}"
        )
    if not gc:
        return {}
    return {
        "latency_determinism": "CPU profiles, share of samples in GC and runtime, Go vs Rust: "
        + "; ".join(gc),
        "resource_cost": "CPU profiles, share of samples in GC, runtime and allocator together, "
        "Go vs Rust: " + "; ".join(memory),
    }
