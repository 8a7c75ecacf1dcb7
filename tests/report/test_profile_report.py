"""The report's CPU-profile section, the profile file's storage, and perf's failure messages."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from builders import small_run
from profile_builders import GO_STACKS, RUST_STACKS, impl_profile, profile_run

from harness.errors import HarnessError
from harness.model import WorkloadProfile
from harness.profile import recording as profiling
from harness.report import profiles as profile_report
from harness.report.html import build_context, render
from harness.store import results as store

SCHEMA_FILE = Path(store.__file__).parent / "schema" / "profile-v1.schema.json"


def _found(tmp_path, profile):
    path = store.save_profile(profile, tmp_path)
    assert path == tmp_path / "profiles" / f"{profile.run_id}.json"
    return profile_report.find_profile(tmp_path, profile.run_id)


def test_no_profile_file_no_section(tmp_path):
    assert profile_report.find_profile(tmp_path, "20260101T000000Z-abcd") is None
    html = render(build_context(small_run()))
    assert 'id="profiles"' not in html and 'href="#profiles"' not in html


def test_section_shows_categories_differences_and_one_sentence_each(tmp_path):
    found = _found(tmp_path, profile_run())
    section = profile_report.profile_section(found)
    pair = section["pairs"][0]
    rows = {r["label"]: r for r in pair["categories"]}
    # Go: 40 of 100 samples in GC; Rust: none of 50
    assert rows["GC and runtime"]["go"] == "40.0 %" and rows["GC and runtime"]["rust"] == "0.0 %"
    assert rows["GC and runtime"]["diff_points"] == "+40.0"
    # seconds = share x unprofiled CPU per run: Go 0.2 x 1.0 s = 200 ms, Rust 0.4 x 0.5 s = 200 ms
    assert rows["allocator"]["go_seconds"] == "200 ms"
    assert rows["allocator"]["rust_seconds"] == "200 ms"
    assert rows["allocator"]["diff_seconds"] == "+0 s"
    assert rows["libraries"]["diff_seconds"] == "+50 ms"  # 0.2 x 1.0 - 0.3 x 0.5
    assert rows["kernel and syscalls"]["diff_seconds"] == "+50 ms"  # 0.1 x 1.0 - 0.1 x 0.5
    assert len(pair["categories"]) == 6 and all(r["sentence"].endswith(".") for r in rows.values())
    assert "runtime.scanobject 40.0 %" in rows["GC and runtime"]["sentence"]
    # the gap's parts add up: GC +400 ms is the largest of the +500 ms
    assert "a gap of +500 ms" in pair["gap"]
    assert "GC and runtime +400 ms" in pair["gap"]
    top_go = pair["top"][0]["rows"]
    assert top_go[0] == {
        "frame": "runtime.scanobject",
        "share": "40.0 %",
        "samples": "40",
        "category": "GC and runtime",
    }
    assert len(pair["flames"]) == 2
    assert pair["rows"][0]["coverage"] == "100.0 %"  # 100 samples x 10 ms over 1.0 s
    assert pair["rows"][0]["overhead"] == (
        "wall 1.02 s vs 1 s unprofiled (+2.0 %); CPU +0.0 %; one run each"
    )
    assert str(found.path) in " ".join(section["intro"])


def test_rendered_section_is_escaped_and_has_no_script(tmp_path):
    evil = dict(GO_STACKS)
    evil["runtime.main;main.<script>alert(1)</script>"] = 5
    workload = WorkloadProfile(
        name="demo",
        kind="batch",
        params={},
        implementations=(impl_profile("go", evil, 1.0), impl_profile("rust", RUST_STACKS, 0.5)),
    )
    found = _found(tmp_path, profile_run(workloads=[workload]))
    html = render(build_context(small_run(), profile=found))
    assert '<a href="#profiles">Where the CPU time goes</a>' in html  # in the contents
    section = html[html.index('id="profiles"') :]
    section = section[: section.index("</section>")]
    assert '<summary><h2>Where the CPU time goes</h2></summary>\n<section id="profiles">' in html
    assert "<script" not in html
    assert "&lt;script&gt;" in section
    assert section.count("<svg") == 3  # the category bars and two flame graphs


def test_perf_missing_is_a_note_in_the_section(tmp_path):
    found = _found(tmp_path, profile_run(workloads=[], error="perf not found on PATH: install it"))
    html = render(build_context(small_run(), profile=found))
    assert "No CPU profiles: perf not found on PATH: install it" in html


def test_an_unreadable_profile_file_is_a_note_not_a_failed_report(tmp_path):
    path = store.profile_path(tmp_path, "20260101T000000Z-abcd")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    found = profile_report.find_profile(tmp_path, "20260101T000000Z-abcd")
    html = render(build_context(small_run(), profile=found))
    assert "not a readable profile file" in html


def test_failed_and_thin_profiles_are_flagged(tmp_path):
    thin = impl_profile(
        "rust",
        RUST_STACKS,
        0.5,
        notes=profiling.quality_notes(50, 0.001, 0.5, 0, "/b"),
    )
    failed = impl_profile("go", {}, 0.0, ok=False, error="perf record exited 1: boom", samples=0)
    workload = WorkloadProfile(name="demo", kind="batch", params={}, implementations=(failed, thin))
    html = render(
        build_context(small_run(), profile=_found(tmp_path, profile_run(workloads=[workload])))
    )
    assert "NOT PROFILED" in html and "perf record exited 1: boom" in html
    assert "only 50 samples" in html
    assert "account for 10% of the process" in html  # 50 x 1 ms of 0.5 s


def test_quality_notes():
    assert profiling.quality_notes(1000, 0.001, 1.0, 0, "/b") == ()
    low = profiling.quality_notes(1000, 0.001, 1.2, 0, "/b")
    assert len(low) == 1 and "83%" in low[0]
    stripped = profiling.quality_notes(1000, 0.001, 1.0, 900, "/cache/bin/x")
    assert len(stripped) == 1 and "lacks symbols" in stripped[0] and "/cache/bin/x" in stripped[0]


def test_profile_round_trips_and_matches_its_schema(tmp_path):
    profile = profile_run()
    path = store.save_profile(profile, tmp_path)
    assert store.load_profile(path) == profile
    jsonschema.Draft202012Validator(store.profile_json_schema()).validate(
        json.loads(path.read_text())
    )


def test_committed_profile_schema_file_is_current():
    expected = json.dumps(store.profile_json_schema(), indent=2, sort_keys=True) + "\n"
    assert SCHEMA_FILE.read_text() == expected


def test_newer_profile_files_are_refused(tmp_path):
    path = store.save_profile(profile_run(), tmp_path)
    data = json.loads(path.read_text())
    data["schema_version"] = store.PROFILE_SCHEMA_VERSION + 1
    path.write_text(json.dumps(data))
    with pytest.raises(HarnessError, match="newer than this harness"):
        store.load_profile(path)


def _completed(returncode=0, stdout="", stderr=""):
    return subprocess.CompletedProcess([], returncode, stdout, stderr)


def test_perf_missing_says_how_to_install_it():
    check = profiling.check_perf(which=lambda name: None)
    assert check.problem is not None
    assert "perf not found" in check.problem and "apt-get install linux-perf" in check.problem


def test_perf_forbidden_names_the_paranoid_setting():
    answers = iter(
        [
            _completed(stdout="perf version 6.1\n"),
            _completed(
                255,
                stderr="Error:\nAccess to performance monitoring and observability operations is "
                "limited.\nConsider adjusting /proc/sys/kernel/perf_event_paranoid setting",
            ),
        ]
    )
    check = profiling.check_perf(
        run=lambda *a, **k: next(answers), which=lambda name: f"/usr/bin/{name}", paranoid=lambda: 3
    )
    assert check.problem is not None
    assert "perf_event_paranoid is 3" in check.problem
    assert "sysctl kernel.perf_event_paranoid=1" in check.problem


def test_no_pmu_is_said_in_words():
    stderr = "<not supported>,,cycles,0,100.00,,\n<not supported>,,instructions,0,100.00,,\n"
    text = profiling.hardware_counters_text(0, stderr)
    assert text.startswith("unavailable") and "cycles, instructions" in text


def test_console_lines_give_samples_coverage_and_shares():
    lines = profile_report.console_lines(profile_run())
    assert re.match(r"demo go/default: 100 samples, coverage 100.0 %, overhead wall", lines[0])
    assert "GC and runtime 40.0 %" in lines[0]
    assert lines[-1] == "profiled in 60 s"


def _server_pair(go_requests, rust_requests):
    workload = WorkloadProfile(
        name="api",
        kind="server",
        params={},
        implementations=(
            impl_profile(
                "go",
                GO_STACKS,
                3.0,
                unprofiled_wall_seconds=(),
                unprofiled_rps=10000.0,
                profiled_rps=9500.0,
                profiled_requests=go_requests,
            ),
            impl_profile(
                "rust",
                RUST_STACKS,
                3.0,
                unprofiled_wall_seconds=(),
                unprofiled_rps=20000.0,
                profiled_rps=19800.0,
                profiled_requests=rust_requests,
            ),
        ),
        load="closed loop",
    )
    return profile_report.profile_section(
        profile_report.FoundProfile(Path("p.json"), replace(profile_run(), workloads=(workload,)))
    )["pairs"][0]


def test_server_pairs_split_the_cpu_per_request():
    pair = _server_pair(30_000, 60_000)  # 3 s of CPU: 100 us vs 50 us a request
    assert pair["timed"] and pair["unit"] == "per request"
    gc = pair["categories"][0]
    assert (gc["go_seconds"], gc["rust_seconds"], gc["diff_seconds"]) == ("40 µs", "0 s", "+40 µs")
    assert (
        "Go used 100 µs of CPU per request and Rust 50 µs (Go/Rust 2.00×, a gap of +50 µs)"
        in (pair["gap"])
    )
    assert "GC and runtime +40 µs" in pair["gap"]
    assert pair["rows"][0]["overhead"] == "9,500 vs 10,000 req/s unprofiled (-5.0 % throughput)"


def test_without_request_counts_only_shares_are_compared():
    pair = _server_pair(None, None)
    assert not pair["timed"] and pair["categories"][0]["go_seconds"] == "–"
    assert "GC and runtime +40.0 points" in pair["gap"]


def test_the_gc_section_cites_the_measured_shares(tmp_path):
    context = build_context(small_run(), profile=_found(tmp_path, profile_run()))
    cited = context["gc"]["reading"][-1]
    assert "demo Go 40.0 % / 20.0 % vs Rust 0.0 % / 40.0 %" in cited
    assert profile_report.gc_sentence(None) is None


def test_the_decision_matrix_evidence_cites_the_profiles(tmp_path):
    context = build_context(small_run(), profile=_found(tmp_path, profile_run()))
    evidence = {e["title"]: e["lines"] for e in context["decision"]["evidence"]}
    lines = [line for found in evidence.values() for line in found]
    assert (
        "CPU profiles, share of samples in GC and runtime, Go vs Rust: demo 40.0 % vs 0.0 %"
        in lines
    )
    assert any(line.endswith("demo 60.0 % vs 40.0 %") for line in lines)


def test_profiling_some_workloads_keeps_the_others_of_the_same_setting():
    earlier = profile_run()  # "demo" at quick size, period 10 ms
    assert profiling.kept_workloads(earlier, {"other"}, "quick", 10_000_000) == earlier.workloads
    assert profiling.kept_workloads(earlier, {"demo"}, "quick", 10_000_000) == ()
    assert profiling.kept_workloads(earlier, {"other"}, "full", 10_000_000) == ()
    assert profiling.kept_workloads(earlier, {"other"}, "quick", 250_000) == ()
    assert profiling.kept_workloads(None, {"other"}, "quick", 10_000_000) == ()
