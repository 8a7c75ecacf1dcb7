"""The server on a host of its own measures real servers as fully as the server here
(`make bench-harness`; docs/hosts.md "Measured here").

Two quick runs of real Go and Rust servers (SERVER_HOST_WORKLOADS, default http-json and
kv-cache) through `harness run --hosts`, load from one lab namespace on CPU 1: "remote", the
servers on another namespace reached over SSH, measured there by the harness's agent on CPU 0;
"here", the servers on this machine on CPU 0. Printed per run: the setup before the first
workload, the multi-host overhead per phase (median, max) and, per implementation, the Go GC
cycles, peak RSS and psutil samples per fixed-rate phase. Asserted: both runs succeed, every
fixed-rate phase on the server host has its server-side figures (CPU, peak RSS, samples, and
GC cycles for Go), nothing is left running, and the overhead stays under 10 s a phase.
Latencies are not compared: the remote topology adds a routed hop and each run picks its rates
from its own saturation probe.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

import pytest
from scratch import ROOT

sys.path.insert(0, str(ROOT / "tests"))
from netns_hosts import netns_lab

from harness.cli.main import main
from harness.model import Run
from harness.store.results import load_run

WORKLOADS = os.environ.get("SERVER_HOST_WORKLOADS", "http-json,kv-cache")


def one_run(tmp_path: Path, lab, label: str) -> Run:
    server_ns, load_ns = lab.hosts
    if label == "remote":
        text = lab.inventory_toml(
            server_cpus=[0],
            load_cpus=[1],
            work_dir_root=tmp_path / "remote",
            server_host=server_ns,
        )
    else:  # the servers here, on the lab's root-side address toward the load namespace
        here = type(lab)(folder=lab.folder, server_address=load_ns.gateway, hosts=(load_ns,))
        text = here.inventory_toml(
            server_cpus=[0], load_cpus=[1], work_dir_root=tmp_path / "remote"
        )
    inventory = tmp_path / f"hosts-{label}.toml"
    inventory.write_text(text)
    results = tmp_path / f"results-{label}"
    code = main(
        [
            *("--results-dir", str(results), "--cache-dir", str(ROOT / ".cache")),
            *("run", "--workloads", WORKLOADS, "--size", "quick", "--no-race-check"),
            *("--no-build-profile", "--hosts", str(inventory)),
        ]
    )
    assert code == 0, label
    return load_run(results / "latest.json")


def describe(label: str, run: Run) -> list[str]:
    topology = run.topology
    assert topology is not None and topology.left_running == 0
    overheads = [
        p.hosts_overhead_seconds
        for w in run.workloads
        for i in w.implementations
        for p in i.phases
        if p.hosts_overhead_seconds is not None
    ]
    lines = [
        f"{label}: setup {topology.setup_seconds:.1f} s; overhead per phase median "
        f"{statistics.median(overheads):.2f} s, max {max(overheads):.2f} s over {len(overheads)}"
    ]
    assert max(overheads) < 10
    for workload in run.workloads:
        for impl in workload.implementations:
            fixed = [p for p in impl.phases if p.replicate is not None and p.offered_rps]
            assert fixed and all(p.ok for p in fixed), (label, workload.name, impl.key)
            for phase in fixed:
                assert phase.server_user_seconds + phase.server_sys_seconds > 0
                assert phase.server_peak_rss_bytes > 0 and phase.server_samples
                assert (phase.gc_cycles is not None) == (impl.lang == "go")
            gc = [len(p.gc_cycles) for p in fixed if p.gc_cycles is not None]
            lines.append(
                f"  {workload.name} {impl.key}: GC cycles per phase "
                f"{f'{min(gc)}-{max(gc)}' if gc else 'none (no GC)'}; peak RSS "
                f"{max(p.server_peak_rss_bytes for p in fixed) >> 20} MB; psutil samples "
                f"{min(len(p.server_samples) for p in fixed)}-"
                f"{max(len(p.server_samples) for p in fixed)} per phase"
            )
    return lines


def test_a_server_host_of_its_own_measures_what_the_server_here_does(benchmark, tmp_path):
    if os.geteuid() != 0 or (os.cpu_count() or 0) < 2:
        pytest.skip("needs root (network namespaces) and two CPUs")
    runs: dict[str, Run] = {}

    def measure() -> None:
        with netns_lab(2, tmp_path / "lab", routed=True) as lab:
            for label in ("remote", "here"):
                runs[label] = one_run(tmp_path, lab, label)

    benchmark.pedantic(measure, rounds=1, iterations=1)
    lines = [line for label, run in runs.items() for line in describe(label, run)]
    print("\n" + "\n".join(lines))
    benchmark.extra_info["lines"] = lines
