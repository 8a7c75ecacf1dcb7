"""The load generator's lighter build loads a server as hard as oha's default build (`make
bench-harness`).

`make tools` builds oha without its default TLS stack (rustls over aws-lc-rs, whose C build is the
longest unit of oha's compile; see tools/README.md) and with native-tls instead: the harness only
sends plain HTTP to 127.0.0.1, so no TLS code runs either way. This benchmark checks that claim
where it matters, in what oha does for the harness: it builds oha once more with its default
features (into .cache/oha-default/, about 4 min here the first time), starts the Rust http-json
server on one CPU, and drives it closed loop from the other CPU with each build in turn, ABBA
order, ROUNDS rounds of SECONDS each. It reports each build's requests per second (median) and the
median of the paired ratios (each run against its ABBA neighbour) with its 95 % bootstrap
interval, and asserts the interval reaches 1 or the ratio stays within TOLERANCE of it: the two
builds generate load at the same speed.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from scratch import ROOT

from harness import config
from harness.analysis import stats
from harness.build.builder import Builder
from harness.measure.launcher import available_cpus, ensure_launcher
from harness.servers import loadgen
from harness.servers.protocol import ServerRunner, default_settings

ROUNDS = int(os.environ.get("LOADGEN_ROUNDS", "4"))  # each round ABBA: 2 runs per build per round
SECONDS = 5
CONNECTIONS = 64
TOLERANCE = 0.03


def default_features_oha() -> Path:
    root = ROOT / ".cache" / "oha-default"
    binary = root / "bin" / "oha"
    if not binary.exists():
        subprocess.run(
            [
                *("cargo", "install", "oha", "--version", loadgen.OHA_VERSION, "--locked"),
                *("--root", str(root), "--quiet"),
            ],
            check=True,
        )
    return binary


def requests_per_second(oha: Path, port: int, cpu: int, out: Path) -> float:
    summary = out / "summary.json"
    subprocess.run(
        [
            *(str(oha), "--no-tui", "-z", f"{SECONDS}s", "-c", str(CONNECTIONS)),
            *("--worker-threads", "1", "--output-format", "json", "-o", str(summary)),
            f"http://127.0.0.1:{port}/records?n=10",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
    )
    report = json.loads(summary.read_text())
    assert report["summary"]["successRate"] == 1.0, report["summary"]
    return float(report["summary"]["requestsPerSec"])


def test_the_lighter_oha_build_loads_as_fast_as_the_default_build(benchmark, tmp_path):
    cpus = available_cpus()
    if len(cpus) < 2:
        pytest.skip("server and load generator need a CPU each")
    builds = {"make tools": loadgen.find_oha(ROOT / "tools"), "default": default_features_oha()}
    workload = config.load_workloads(ROOT / "workloads")["http-json"]
    impl = workload.default_for("rust")
    build = Builder(ROOT / ".cache").build(workload, impl)
    assert build.ok, build.error
    settings = default_settings("quick", f"oha {loadgen.OHA_VERSION}", (cpus[0],), (cpus[1],))
    runner = ServerRunner(
        builds["make tools"], settings, tmp_path, ensure_launcher(ROOT / ".cache")
    )
    rates: dict[str, list[float]] = {name: [] for name in builds}

    def measure() -> None:  # one session, run once under `make bench-harness`
        server = runner.start(workload, impl, build, workload.params["quick"], tmp_path)
        with server.process:
            requests_per_second(builds["default"], server.port, cpus[1], tmp_path)  # warm-up
            for round_ in range(ROUNDS):
                order = list(builds) if round_ % 2 == 0 else list(reversed(builds))
                for name in order + order[::-1]:
                    rates[name].append(
                        requests_per_second(builds[name], server.port, cpus[1], tmp_path)
                    )

    benchmark.pedantic(measure, rounds=1, iterations=1)
    # ABBA: the i-th runs of the two builds sat next to each other in time, so they are paired
    paired = [a / b for a, b in zip(rates["make tools"], rates["default"], strict=True)]
    ratio, ci = stats.median(paired), stats.median_ci(paired)
    print(
        f"\noha closed loop against rust http-json, {CONNECTIONS} connections, {SECONDS} s runs: "
        + "; ".join(
            f"{name} median {stats.median(v):,.0f} req/s (n={len(v)})" for name, v in rates.items()
        )
        + f"; ratio {ratio:.3f} [{ci.low:.3f}, {ci.high:.3f}]; raw "
        + "; ".join(f"{name}: {', '.join(f'{r:.0f}' for r in v)}" for name, v in rates.items())
    )
    assert ci.low <= 1.0 <= ci.high or abs(ratio - 1.0) <= TOLERANCE, (ratio, ci, rates)
