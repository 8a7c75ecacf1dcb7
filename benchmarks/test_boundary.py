"""The service boundary's and the proxy's figures (issue 30; docs/hybrid.md "Measured here"),
reproduced by `make bench-harness`: json-service and tcp-proxy through the real CLI at full size,
BOUNDARY_REPLICATES replicates (3 by default, about half an hour here), then the analysis's own
sentences. It asserts what the targets ask for, not a speed: every front agrees with its pair, the
boundary's cost per call over gRPC on a unix socket and on TCP has a CI, and each proxy's added
p50 at a rate at most half its saturation has one.
"""

from __future__ import annotations

import os
import subprocess
import sys

from scratch import ROOT

from harness.analysis import boundary
from harness.store.results import load_run

REPLICATES = os.environ.get("BOUNDARY_REPLICATES", "3")


def test_service_boundary_and_proxy_figures(benchmark, tmp_path):
    command = [
        *(sys.executable, "-m", "harness", "--results-dir", str(tmp_path)),
        *("run", "--workloads", "tcp-proxy,json-service", "--size", "full"),
        *("--replicates", REPLICATES, "--no-build-profile", "--no-race-check"),
    ]
    benchmark.pedantic(
        lambda: subprocess.run(command, cwd=ROOT, check=True), rounds=1, iterations=1
    )
    run = load_run(tmp_path / "latest.json")
    assert all(w.status == "ok" for w in run.workloads), [w.error for w in run.workloads]
    analysis = boundary.analyse_boundaries(run)
    for sentence in boundary.headline_sentences(analysis):
        print(sentence)
    (service,) = analysis.services
    for key in ("go/grpc-unix", "go/grpc-tcp"):
        costs = [r.boundary_cpu_seconds for r in service.rows if r.key == key]
        assert costs and all(c is not None and c.low is not None for c in costs), key
    (proxies,) = analysis.proxies
    for key in ("go/default", "rust/default"):
        held = [
            r
            for r in proxies.rows
            if r.key == key and r.saturation_share is not None and r.saturation_share <= 0.5
        ]
        assert held and held[0].added_p50_seconds is not None, key
        assert held[0].added_p50_seconds.low is not None, key
