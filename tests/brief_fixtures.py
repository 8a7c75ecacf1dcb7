"""A run shaped like a full `make bench` (five batch pairs, some with labelled variants, and two
replicated servers) for the brief's tests, the browser test and the review images.

The figures are invented for tests (run id "...-fixture", machine "Test CPU"), chosen so every
kind of mark appears: Rust ahead, Go ahead, not significant, a workload that splits (Rust faster,
Go less memory) and a variant that flips its pair's verdict. Ten rounds per pair; each round's
values jitter by a fixed pattern, so intervals have a width and nothing is random.
"""

from __future__ import annotations

from dataclasses import replace

from builders import (
    MIB,
    impl_result,
    machine,
    repetition,
    replicated,
    run,
    run_config,
    server_settings,
    server_workload,
    workload_result,
)

ROUNDS = 10
JITTER = (0.0, 0.012, -0.008, 0.02, -0.015, 0.005, -0.02, 0.01, -0.004, 0.016)


def _reps(wall: float, rss_mib: float, cpu_share: float = 0.98, spread: float = 1.0, shift=0):
    """Ten rounds around `wall` seconds; `shift` rotates the jitter so two sides differ in order."""
    reps = []
    for i in range(ROUNDS):
        j = 1 + spread * JITTER[(i + shift) % ROUNDS]
        reps.append(
            repetition(
                rep=i,
                wall=wall * j,
                user=wall * j * cpu_share * 0.9,
                sys=wall * j * cpu_share * 0.1,
                work=wall * j * 0.9,
                rss=int(rss_mib * MIB * (1 + JITTER[(i + 3) % ROUNDS] / 4)),
            )
        )
    return reps


def _pair(name, category, go, rust, *variants, throughput="bytes"):
    """go/rust: (wall seconds, peak MiB[, jitter spread, jitter shift]); variants: (lang,
    variant, wall, MiB). Rust's jitter is shifted by 3 rounds, so per-round ratios vary."""
    impls = [
        impl_result("go", reps=_reps(go[0], go[1], spread=go[2] if len(go) > 2 else 1.0)),
        impl_result(
            "rust",
            reps=_reps(
                rust[0],
                rust[1],
                spread=rust[2] if len(rust) > 2 else 1.0,
                shift=rust[3] if len(rust) > 3 else 3,
            ),
        ),
    ]
    impls += [
        impl_result(lang, variant, reps=_reps(wall, mib, shift=7), library=f"{variant} (labelled)")
        for lang, variant, wall, mib in variants
    ]
    return workload_result(name=name, category=category, impls=impls, throughput=throughput)


def _server(name, go_p99, rust_p99, go_sat, rust_sat, rates=(3000.0, 6000.0)):
    """Five replicates per rate and five saturation probes; p99 in seconds per replicate."""
    k = 5
    wobble = (1.0, 1.08, 0.95, 1.03, 0.97)
    go, rust = [], []
    for rate in rates:
        scale = rate / rates[-1]
        go += replicated(
            rate,
            achieved=[rate] * k,
            p99=[go_p99 * scale * w for w in wobble],
            p999=[go_p99 * scale * w * 2 for w in wobble],
            rss=[60 * MIB] * k,
        )
        rust += replicated(
            rate,
            achieved=[rate] * k,
            p99=[rust_p99 * scale * w for w in reversed(wobble)],
            p999=[rust_p99 * scale * w * 2 for w in reversed(wobble)],
            rss=[20 * MIB] * k,
        )
    go += replicated(None, achieved=[go_sat * w for w in wobble])
    rust += replicated(None, achieved=[rust_sat * w for w in reversed(wobble)])
    return server_workload(go, rust, name=name)


def full_like_run():
    """Seven workloads as a full run would have them; see the module docstring."""
    workloads = [
        _pair(
            "json",
            "parsing",
            (1.45, 474),
            (0.49, 222),
            ("go", "goccy", 0.66, 300),
            ("go", "sonic", 0.64, 320),
            ("rust", "simd-json", 0.41, 230),
        ),
        _pair("logparse", "parsing", (0.90, 752), (1.29, 751), ("rust", "memchr", 0.94, 751)),
        _pair(
            "gzip",
            "compression",
            (1.31, 164),
            (1.60, 78),
            ("go", "klauspost", 0.56, 120),
            ("rust", "zlib-rs", 0.65, 80),
        ),
        _pair("sha256", "crypto", (1.17, 690, 3.0), (1.16, 690, 3.0, 5)),
        _pair(
            "binarytrees",
            "allocation",
            (2.44, 33.9),
            (1.16, 43.5),
            ("rust", "bumpalo", 0.29, 60),
            throughput="items",
        ),
        _server("http-json", 0.0253, 0.00119, 12300.0, 29000.0),
        _server("kv-cache", 0.0199, 0.00117, 41000.0, 105000.0),
    ]
    base = run(workloads, run_id="20261203T000000Z-fixture")
    return replace(
        base,
        machine=replace(machine(), go_version="go1.26.8", rustc_version="rustc 1.95.0"),
        config=run_config(size="full", repetitions=ROUNDS, server=server_settings()),
    )


DEFAULT_MARKS = 5 * 3 + 2 * 2  # five batch pairs x wall/CPU/memory, two servers x p99/saturation


def failing_run():
    """json's outputs diverged, gzip's Go default failed, a Rust variant of logparse failed."""
    full = full_like_run()
    by_name = {w.name: w for w in full.workloads}
    json = replace(
        by_name["json"],
        status="checksum_mismatch",
        error="checksum mismatch: rust/default printed ff, go/default printed 00000000deadbeef",
    )
    gzip = by_name["gzip"]
    gzip = replace(
        gzip,
        status="failed",
        error="go/default: repetition 3 failed: exit status 2",
        implementations=(
            replace(gzip.implementations[0], status="failed", error="exit status 2"),
            *gzip.implementations[1:],
        ),
    )
    logparse = by_name["logparse"]
    logparse = replace(
        logparse,
        implementations=(
            *logparse.implementations[:2],
            replace(logparse.implementations[2], status="failed", error="exit status 101"),
        ),
    )
    return replace(full, workloads=(json, logparse, gzip, by_name["sha256"]))


def go_only_run():
    """Only Go was measured (a team's own workload with no Rust side yet)."""
    full = full_like_run()
    only = [
        replace(w, implementations=tuple(i for i in w.implementations if i.lang == "go"))
        for w in full.workloads[:2]
    ]
    return replace(full, workloads=tuple(only))
