"""End to end: build the real Go and Rust binaries, run a quick bench, check every output holds
measured values. Slow (first build compiles the crates); marked e2e."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ("json", "gzip")
# the binaries come from the suite's one shared build (tests/conftest.py)
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("workspace_build")]


def harness(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """This checkout's harness (PYTHONPATH), not whichever one the venv installed."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One real quick run shared by the tests below; the build cache is the repo's own."""
    out = tmp_path_factory.mktemp("e2e")
    common = ("--results-dir", str(out / "results"), "--cache-dir", str(ROOT / ".cache"))
    done = harness(
        *common,
        "run",
        "--size",
        "quick",
        "--workloads",
        ",".join(WORKLOADS),
        "--repetitions",
        "3",
        cwd=out,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = harness(*common, "report", "latest", "--reports-dir", str(out / "reports"), cwd=out)
    assert report.returncode == 0, report.stderr
    csv_text = harness(*common, "export", "--format", "csv", "latest", cwd=out)
    assert csv_text.returncode == 0, csv_text.stderr
    return out, done, csv_text.stdout


def test_results_file_holds_every_raw_repetition(quick_run):
    out, _, _ = quick_run
    data = json.loads((out / "results" / "latest.json").read_text())
    schema = json.loads((ROOT / "harness" / "store" / "schema" / "results-v12.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["status"] == "complete"
    assert data["machine"]["go_version"].startswith("go version")
    assert data["machine"]["rustc_version"].startswith("rustc")
    assert [w["name"] for w in data["workloads"]] == list(WORKLOADS)
    for workload in data["workloads"]:
        assert workload["status"] == "ok", workload["error"]
        assert workload["input"]["size_bytes"] > 0
        assert len(workload["reference_checksum"]) >= 16
        for impl in workload["implementations"]:
            assert impl["status"] == "ok", impl["error"]
            assert impl["build"]["ok"] and impl["build"]["binary_bytes"] > 100_000
            reps = impl["repetitions"]
            assert len(reps) == 3
            for rep in reps:
                assert rep["ok"] and rep["checksum"] == workload["reference_checksum"]
                assert 0 < rep["work_seconds"] <= rep["wall_seconds"]
                assert rep["user_seconds"] + rep["sys_seconds"] > 0
                assert 1 << 20 < rep["peak_rss_bytes"] < 2 << 30
                if impl["lang"] == "go":
                    assert isinstance(rep["gc_cycles"], list)
                else:
                    assert rep["gc_cycles"] is None


def test_csv_export_is_tidy_and_measured(quick_run):
    _, _, csv_text = quick_run
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert list(rows[0]) == [
        "workload",
        "category",
        "kind",
        "lang",
        "variant",
        "phase",
        "replicate",
        "rep",
        "metric",
        "unit",
        "value",
        "sweep_workload",
        "sweep_axis",
        "sweep_value",
        "sweep_numeric",
    ]
    assert {r["sweep_axis"] for r in rows} == {""}  # not a sweep: the columns stay empty
    metrics = {(r["workload"], r["lang"], r["metric"]) for r in rows if r["variant"] == "default"}
    for workload in WORKLOADS:
        for metric in ("wall_seconds", "user_seconds", "sys_seconds", "peak_rss_bytes"):
            assert (workload, "go", metric) in metrics and (workload, "rust", metric) in metrics
        for metric in ("gc_count", "gc_pause_total_seconds", "gc_pause_max_seconds"):
            assert (workload, "go", metric) in metrics
            assert (workload, "rust", metric) not in metrics
    walls = [float(r["value"]) for r in rows if r["metric"] == "wall_seconds"]
    assert walls and all(v > 0 for v in walls)


def test_report_is_one_self_contained_file_with_measured_values(quick_run):
    out, _, _ = quick_run
    html = (out / "reports" / "latest.html").read_text()
    for workload in WORKLOADS:  # at least the distribution chart (RSS series need >= 3 samples)
        section = html[html.index(f'id="workload-{workload}"') :]
        assert "<svg" in section[: section.index("</section>")]
    assert "<script" not in html and "<link" not in html
    for workload in WORKLOADS:
        assert f'id="workload-{workload}"' in html
    assert "no GC" in html
    data = json.loads((out / "results" / "latest.json").read_text())
    first_rust = next(i for i in data["workloads"][0]["implementations"] if i["lang"] == "rust")
    assert first_rust["build"]["toolchain"] in html


def test_summary_table_printed(quick_run):
    _, done, _ = quick_run
    for workload in WORKLOADS:
        assert workload in done.stdout
    assert "Go/Rust" in done.stdout


@pytest.fixture(scope="module")
def profiled(quick_run):
    """`harness profile` of the quick run's gzip pair (the cheapest Rust profiling build of the two
    workloads), then its report."""
    out, _, _ = quick_run
    common = ("--results-dir", str(out / "results"), "--cache-dir", str(ROOT / ".cache"))
    done = harness(*common, "profile", "latest", "--workloads", "gzip", cwd=out)
    report = harness(*common, "report", "latest", "--reports-dir", str(out / "profiled"), cwd=out)
    return out, done, report


def test_profile_of_the_real_binaries_covers_their_cpu_time(profiled):
    out, done, report = profiled
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = json.loads((out / "results" / "latest.json").read_text())["run_id"]
    path = out / "results" / "profiles" / f"{run_id}.json"
    data = json.loads(path.read_text())
    schema = json.loads((ROOT / "harness" / "store" / "schema" / "profile-v1.schema.json").read_text())
    jsonschema.validate(data, schema)
    (workload,) = data["workloads"]
    by_lang = {i["lang"]: i for i in workload["implementations"]}
    assert set(by_lang) == {"go", "rust"}
    for impl in by_lang.values():
        assert impl["ok"], impl["error"]
        assert impl["samples"] >= 100
        coverage = impl["samples"] * impl["period_seconds"] / impl["process_cpu_seconds"]
        assert coverage > 0.9, impl["notes"]
        runs = len(impl["profiled_cpu_seconds"])
        assert runs >= 1 and len(impl["unprofiled_wall_seconds"]) == runs
        assert all(w > 0 for w in impl["unprofiled_wall_seconds"] + impl["profiled_wall_seconds"])
        assert impl["process_cpu_seconds"] == pytest.approx(sum(impl["profiled_cpu_seconds"]))
        assert impl["same_source_as_run"] is True
    assert (
        by_lang["rust"]["profiling_build"]
        and "force-frame-pointers" in by_lang["rust"]["build_flags"]
    )
    assert not by_lang["go"]["profiling_build"]
    go_stacks = " ".join(s["stack"] for s in by_lang["go"]["stacks"])
    rust_stacks = " ".join(s["stack"] for s in by_lang["rust"]["stacks"])
    assert "compress/flate." in go_stacks and "miniz_oxide::" in rust_stacks
    assert "main.main" in go_stacks
    assert "gzip go/default:" in done.stdout and "gzip rust/default:" in done.stdout
    assert report.returncode == 0, report.stderr
    html = (out / "profiled" / "latest.html").read_text()
    section = html[html.index('id="profiles"') :]
    section = section[: section.index("</section>")]
    assert section.count("<svg") == 3 and "<script" not in html
    assert "compress/flate" in section and "miniz_oxide" in section


def test_profile_without_perf_says_so_and_leaves_a_note(quick_run, tmp_path):
    out, _, _ = quick_run
    results = tmp_path / "results"
    results.mkdir()
    (results / "latest.json").write_text((out / "results" / "latest.json").read_text())
    common = ("--results-dir", str(results), "--cache-dir", str(ROOT / ".cache"))
    done = subprocess.run(
        [sys.executable, "-m", "harness", *common, "profile", "latest"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": str(tmp_path / "empty"), "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2
    assert "perf not found on PATH" in done.stderr and "linux-perf" in done.stderr
    report = harness(
        *common, "report", "latest", "--reports-dir", str(tmp_path / "r"), cwd=tmp_path
    )
    assert report.returncode == 0, report.stderr
    assert "No CPU profiles: perf not found" in (tmp_path / "r" / "latest.html").read_text()
