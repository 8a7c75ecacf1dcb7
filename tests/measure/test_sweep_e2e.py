"""End to end: `harness sweep` with the real Go and Rust binaries, quick: a parameter axis whose
points all agree on their checksums and give a growth exponent, and a GOGC axis that reaches the
Go program (GOGC=off: no collection) and leaves Rust alone. Marked e2e."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from test_e2e import harness

from harness.analysis import scaling
from harness.store.results import load_run

ROOT = Path(__file__).resolve().parents[2]
# the binaries come from the suite's one shared build (tests/conftest.py)
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("workspace_build")]


def test_a_depth_sweep_and_a_gogc_sweep_of_binarytrees(tmp_path):
    common = ("--results-dir", str(tmp_path / "results"), "--cache-dir", str(ROOT / ".cache"))
    done = harness(
        *common,
        "sweep",
        "--workloads",
        "binarytrees",
        "--param",
        "depth=10,12,14",
        "--repetitions",
        "3",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = load_run(tmp_path / "results" / "latest.json")
    assert sorted(w.name for w in run.workloads) == [
        "binarytrees@depth=10",
        "binarytrees@depth=12",
        "binarytrees@depth=14",
    ]
    assert all(w.status == "ok" and w.reference_checksum for w in run.workloads)
    assert len({w.reference_checksum for w in run.workloads}) == 3  # each depth its own output
    pairs = [
        (float(rep.items), rep.work_seconds)
        for w in run.workloads
        for rep in w.result_for("go/default").repetitions
        if rep.ok and rep.items and rep.work_seconds
    ]
    found = scaling.growth_exponent(pairs)
    assert found is not None and found.points == 3 and found.slope > 0.5

    exported = harness(*common, "export", "--format", "csv", "latest", cwd=tmp_path)
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert {r["sweep_value"] for r in rows} == {"10", "12", "14"}
    assert {r["sweep_axis"] for r in rows} == {"depth"}

    done = harness(
        *common,
        "sweep",
        "--workloads",
        "binarytrees",
        "--param",
        "GOGC=25,off",
        "--repetitions",
        "2",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = load_run(tmp_path / "results" / "latest.json")
    by_value = {w.sweep.value: w for w in run.workloads}
    go_gcs = {
        value: [len(r.gc_cycles or ()) for r in w.result_for("go/default").repetitions]
        for value, w in by_value.items()
    }
    assert all(n == 0 for n in go_gcs["off"]), go_gcs
    assert all(n > 0 for n in go_gcs["25"]), go_gcs
    assert all(r.gc_cycles is None for r in by_value["off"].result_for("rust/default").repetitions)
    assert len({w.reference_checksum for w in run.workloads}) == 1  # GOGC changes no output
