"""The race check without building anything: the detector's report read from captured output, the
unsafe counter, which programs are checked, the "not run" path without cgo, what a race does to a
run (run_suite with a scripted checker), and the batch race run through a scripted executor.
The real race builds and runs are tests/measure/test_race_e2e.py and
tests/servers/test_race_server_e2e.py."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from builders import build_record, machine, outcome, run_config, workload
from fakes import FakeBuilder, FakeExecutor

from harness import config
from harness.build.builder import Builder
from harness.build.operations import count_unsafe
from harness.measure import race
from harness.measure.race import (
    RACE_BUILD,
    CorrectnessChecks,
    RaceChecker,
    RaceRun,
    count_rust_unsafe,
    first_race_report,
    is_concurrent,
    judge,
    race_checked,
    report_summary,
    unsafe_counted,
)
from harness.measure.runner import run_suite
from harness.model import RaceCheck, UnsafeCount

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
BATCH_REPORT = (FIXTURES / "race_detector" / "batch_two_races_go1.26.txt").read_text()
SERVER_REPORT = (FIXTURES / "race_detector" / "server_go1.26.txt").read_text()
RACY = config.load_workloads(FIXTURES / "racy")
WORKLOADS = config.load_workloads(ROOT / "workloads")


# --- the detector's report -----------------------------------------------------------------------


def test_the_first_report_is_read_up_to_its_closing_rule():
    # the captured stderr of counter-racy without halt_on_error: two reports, then the count
    report = first_race_report(BATCH_REPORT)
    assert report is not None
    assert report.splitlines()[0] == "WARNING: DATA RACE"
    assert report.splitlines()[1] == "Read at 0x00c000096028 by goroutine 8:"
    assert "==================" not in report
    assert "Write at 0x00c000096028 by goroutine 8:" not in report  # the second report's access
    assert "Found 2 data race(s)" not in report
    assert report.splitlines()[-1].strip() == "racyfixture/counter-racy/main.go:29 +0x187"


def test_the_summary_names_both_accesses_and_their_first_frames():
    summary = report_summary(first_race_report(BATCH_REPORT))
    assert summary == (
        "Read at 0x00c000096028 by goroutine 8: main.main.func1() "
        "racyfixture/counter-racy/main.go:32; "
        "Previous write at 0x00c000096028 by goroutine 9: main.main.func1() "
        "racyfixture/counter-racy/main.go:32"
    )
    server = report_summary(first_race_report(SERVER_REPORT))
    assert server.startswith("Read at 0x00c0000182b8 by goroutine 15: main.main.func2() ")
    assert "racyfixture/hits-racy/main.go:32; Previous write at" in server
    assert "net/http" not in server  # only each stack's first frame


def test_gc_trace_lines_inside_a_report_are_left_out_and_no_report_is_none():
    lines = BATCH_REPORT.splitlines()
    traced = "\n".join([*lines[:4], "gc 1 @0.004s 2%: 0.01+0.2+0.01 ms clock", *lines[4:]])
    assert first_race_report(traced) == first_race_report(BATCH_REPORT)
    assert first_race_report("gc 1 @0.004s 2%: ...\nsome other error\n") is None
    assert first_race_report("") is None


# --- judging one run --------------------------------------------------------------------------------

GO = workload("counter", impls=(("go", "default"), ("go", "racy"), ("rust", "default")))
RACE_BUILT = replace(build_record("go", "default", "counter"), source_hash="cd" * 32)


def test_a_report_is_a_race_whatever_the_exit_status():
    check = judge(GO.implementations[0], RACE_BUILT, RaceRun(SERVER_REPORT, 0, 2.0, "requests"))
    assert check.status == "race" and check.report.startswith("WARNING: DATA RACE")
    assert check.run_seconds == 2.0 and check.build_seconds == RACE_BUILT.build_seconds
    assert check.source_hash == "cd" * 32


@pytest.mark.parametrize(
    "run, words",
    [
        (
            RaceRun("", 0, 1.0, "x", error="timed out after 60 s under the race detector"),
            "timed out",
        ),
        (RaceRun("boom\n", 2, 1.0, "x"), "exit status 2: boom"),
        (RaceRun("", 66, 1.0, "x"), "exit status 66 (the race detector's) but no WARNING"),
    ],
)
def test_a_run_that_broke_without_a_report_is_failed_never_clean(run, words):
    check = judge(GO.implementations[0], RACE_BUILT, run)
    assert check.status == "failed"
    assert words in check.reason


def test_a_run_that_ended_well_without_a_report_is_clean():
    check = judge(GO.implementations[0], RACE_BUILT, RaceRun("gc 1 @0.1s ...\n", 0, 0.5, "argv"))
    assert (check.status, check.report, check.reason, check.exercised) == (
        "clean",
        None,
        None,
        "argv",
    )


# --- which programs ---------------------------------------------------------------------------------


def test_concurrency_workloads_and_servers_are_checked_the_single_threaded_batch_ones_not():
    assert is_concurrent(WORKLOADS["http-json"]) and is_concurrent(WORKLOADS["kv-cache"])
    for name in ("json", "gzip", "binarytrees", "sha256"):
        assert not is_concurrent(WORKLOADS[name]), name
    assert is_concurrent(RACY["counter"])  # category concurrency, kind batch
    assert [i.key for i in race_checked(RACY["counter"])] == ["go/default", "go/racy"]
    assert [i.key for i in unsafe_counted(RACY["counter"])] == ["rust/default"]
    assert race_checked(WORKLOADS["json"]) == () and unsafe_counted(WORKLOADS["json"]) == ()
    assert [i.key for i in race_checked(WORKLOADS["kv-cache"])] == ["go/default"]


# --- the unsafe counter -------------------------------------------------------------------------------


def test_unsafe_is_counted_by_kind_outside_comments_strings_and_identifiers():
    # the fixture marks each real use `// counted: KIND`; everything else spelling "unsafe" is
    # a comment, a doc comment, a (raw/byte) string, a char literal or an identifier
    text = (FIXTURES / "unsafe_sample.rs").read_text()
    assert count_unsafe(text) == {
        "fn": 1,
        "block": 3,
        "trait": 1,
        "impl": 2,
        "extern": 1,
        "attribute": 1,
    }
    assert text.count("unsafe") > 30  # the decoys are there


@pytest.mark.parametrize(
    "text, expected",
    [
        ("// unsafe { }\n", {}),
        ("/* unsafe /* nested unsafe */ unsafe */ fn f() {}", {}),
        ('let s = "unsafe {";', {}),
        ('let s = r##"unsafe "# unsafe"##;', {}),
        ("let c = '\"'; let d = unsafe { 1 };", {"block": 1}),
        ("fn f<'a>(x: &'a u8) { unsafe { g(x) } }", {"block": 1}),
        ("let unsafe_x = 1; let r#unsafe = 2;", {}),
        ("unsafe\n{ x }", {"block": 1}),
        ("pub unsafe fn f() {}", {"fn": 1}),
    ],
)
def test_unsafe_counter_cases(text, expected):
    assert count_unsafe(text) == expected


def test_the_crates_own_files_are_counted_from_its_build_record(tmp_path):
    crate = tmp_path / "rust" / "crates" / "counter" / "src"
    crate.mkdir(parents=True)
    (crate / "main.rs").write_text((FIXTURES / "unsafe_sample.rs").read_text())
    (crate / "lib.rs").write_text("// unsafe\npub fn ok() -> u8 { unsafe { 1 } }\n")
    counter = replace(RACY["counter"], manifest_path=str(tmp_path / "counter.toml"))
    impl = counter.default_for("rust")
    files = ("crates/counter/src/main.rs", "crates/counter/src/lib.rs")
    build = replace(build_record("rust", "default", "counter"), source_files=files)
    count = count_rust_unsafe(counter, impl, build)
    assert count == UnsafeCount(
        lang="rust",
        variant="default",
        count=10,
        by_kind={"fn": 1, "block": 4, "trait": 1, "impl": 2, "extern": 1, "attribute": 1},
        files=files,
    )


def test_without_source_files_or_dep_info_the_count_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("CARGO_TARGET_DIR", str(tmp_path / "no-target"))
    counter = replace(RACY["counter"], manifest_path=str(tmp_path / "counter.toml"))
    impl = counter.default_for("rust")
    count = count_rust_unsafe(counter, impl, build_record("rust", "default", "counter"))
    assert count.count is None
    assert "cannot read cargo dep-info" in count.reason and "--build-profile" in count.reason
    failed = build_record("rust", "default", "counter", ok=False, error="build failed (exit 101)")
    assert count_rust_unsafe(counter, impl, failed).reason == "not built: build failed (exit 101)"


# --- not run without cgo --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variable, value, words",
    [
        ("CGO_ENABLED", "0", "CGO_ENABLED=0 is set in the environment"),
        ("CC", "no-such-cc-for-the-race-test", "no C compiler: `no-such-cc-for-the-race-test`"),
    ],
)
def test_without_cgo_the_check_is_not_run_with_the_reason_never_clean(
    tmp_path, monkeypatch, variable, value, words
):
    """Through the real race builder: it refuses to build, nothing is cached, nothing runs."""
    monkeypatch.delenv("CGO_ENABLED", raising=False)
    monkeypatch.setenv(variable, value)
    executor = FakeExecutor()
    checker = RaceChecker(tmp_path, executor, builder=Builder(tmp_path, flavour=RACE_BUILD))
    counter = RACY["counter"]
    builds = {i.key: build_record(i.lang, i.variant, "counter") for i in counter.implementations}
    notes: list[str] = []
    checks = checker(counter, builds, run_config(), notes.append)
    assert [(c.key, c.status) for c in checks.race] == [
        ("go/default", "not run"),
        ("go/racy", "not run"),
    ]
    assert all(c.reason.startswith("the race build needs cgo, and ") for c in checks.race)
    assert all(words in c.reason for c in checks.race)
    assert executor.calls == []
    assert not (tmp_path / "bin").exists()
    assert any(
        "race check counter go/default: not run: the race build needs cgo" in n for n in notes
    )


def test_own_builds_hybrids_and_servers_without_a_load_generator_are_not_run(tmp_path):
    counter = RACY["counter"]
    own = replace(counter.implementations[0], build=("make", "counter"), binary="bin/counter")
    hybrid = replace(counter.implementations[1], links="counter-ffi")
    wl = replace(counter, implementations=(own, hybrid, counter.implementations[2]))
    builder = FakeBuilder()
    checker = RaceChecker(tmp_path, FakeExecutor(), builder=builder)
    builds = {i.key: build_record(i.lang, i.variant, "counter") for i in wl.implementations}
    reasons = [c.reason for c in checker(wl, builds, run_config()).race]
    assert reasons == [
        "own build command: the harness cannot add -race to it",
        "go+rust hybrid: its cgo build is not race-built",
    ]
    limited = replace(counter.implementations[1], limits=(("workers", 2),))
    wl = replace(counter, implementations=(counter.implementations[0], limited))
    (_, beyond) = checker(wl, builds, run_config()).race
    assert beyond.status == "not run"
    assert (
        beyond.reason
        == "at quick size it runs only at workers <= 2 (manifest limits); here workers = 4"
    )
    hits = RACY["hits"]
    builds = {i.key: build_record(i.lang, i.variant, "hits") for i in hits.implementations}
    checks = checker(hits, builds, run_config())
    assert {c.reason for c in checks.race} == {"no load generator to drive the race-built server"}
    assert builder.built == [("counter", "go/default")]  # the one within its limits


# --- the batch race run through a scripted executor ---------------------------------------------


class RaceBuilder(FakeBuilder):
    """Race builds that "succeed" at /bin/race-<variant>."""

    def build(self, wl, impl):
        self.built.append((wl.name, impl.key))
        return replace(
            build_record(impl.lang, impl.variant, wl.name),
            binary_path=f"/bin/race-{impl.variant}",
            source_hash=f"{impl.variant}-hash",
        )


def test_the_batch_run_is_quick_size_with_gorace_once_per_binary(tmp_path):
    counter = RACY["counter"]
    executor = FakeExecutor({"/bin/race-racy": [outcome(exit_code=66, stderr=BATCH_REPORT)]})
    builder = RaceBuilder()
    checker = RaceChecker(tmp_path, executor, builder=builder)
    builds = {i.key: build_record(i.lang, i.variant, "counter") for i in counter.implementations}
    notes: list[str] = []
    checks = checker(
        counter, builds, run_config(cpu_affinity=(1,), timeout_seconds=42), notes.append
    )
    assert [(c.key, c.status) for c in checks.race] == [
        ("go/default", "clean"),
        ("go/racy", "race"),
    ]
    assert [call["argv"] for call in executor.calls] == [
        ["/bin/race-default", "4", "1000"],  # [params.quick]
        ["/bin/race-racy", "4", "1000"],
    ]
    call = executor.calls[0]
    assert call["env"]["GORACE"] == "halt_on_error=1 exitcode=66"
    assert (call["cpus"], call["timeout"], call["interval"]) == ((1,), 42, 0)
    assert call["env"]["GOMAXPROCS"] == "2"  # on the one measured CPU, but two Ps to interleave
    assert call["env"]["HARNESS_CPUS"] == "1"  # the CPU contract, as in a measured run
    assert checks.race[0].exercised == "one run at quick size, GOMAXPROCS=2: race-default 4 1000"
    assert any(
        n.startswith("RACE DETECTED race check counter go/racy: race detector: DATA RACE")
        for n in notes
    )
    assert any("WARNING: DATA RACE" in n for n in notes)  # the report itself, in the progress
    # a second workload check with the same binary and quick parameters runs nothing again
    again = checker(counter, builds, run_config())
    assert len(executor.calls) == 2
    assert [c.status for c in again.race] == ["clean", "race"]
    assert all(c.build_cached for c in again.race)


# --- what a race does to the run ------------------------------------------------------------------


def _check(key: str, status: str) -> RaceCheck:
    lang, variant = key.split("/")
    report = first_race_report(BATCH_REPORT) if status == "race" else None
    return RaceCheck(lang=lang, variant=variant, status=status, report=report)


class ScriptedChecker:
    def __init__(self, statuses):
        self.statuses = statuses
        self.seen = []

    def __call__(self, workload, builds, config, progress):
        self.seen.append(workload.name)
        return CorrectnessChecks(
            race=tuple(_check(k, s) for k, s in self.statuses.items()),
            unsafe=(UnsafeCount(lang="rust", variant="default", count=0),),
        )


def _suite(tmp_path, wl, checker, executor):
    run, _ = run_suite(
        [wl],
        run_config(warmups=0, repetitions=2),
        machine(),
        FakeBuilder(),
        executor,
        tmp_path / "results",
        tmp_path / "cache",
        race_check=checker,
    )
    return run.workloads[0]


THREE = (("go", "default"), ("go", "racy"), ("rust", "default"))


def test_a_racy_variant_is_not_measured_and_fails_with_the_report(tmp_path):
    wl = workload("demo", args=("{depth}",), impls=THREE, with_input=False)
    executor = FakeExecutor()
    result = _suite(
        tmp_path, wl, ScriptedChecker({"go/default": "clean", "go/racy": "race"}), executor
    )
    assert result.status == "ok"  # a variant fails only itself
    assert [r.key for r in result.implementations] == ["go/default", "go/racy", "rust/default"]
    racy = result.result_for("go/racy")
    assert racy.status == "failed" and racy.repetitions == ()
    assert racy.error.startswith("race detector: DATA RACE: Read at 0x00c000096028 by goroutine 8")
    assert "/bin/go-racy" not in executor.binaries()
    assert set(executor.binaries()) == {"/bin/go-default", "/bin/rust-default"}
    assert [c.status for c in result.race_checks] == ["clean", "race"]
    assert result.unsafe_counts[0].count == 0


def test_a_racy_default_fails_the_workload_unmeasured(tmp_path):
    wl = workload("demo", args=("{depth}",), impls=THREE, with_input=False)
    executor = FakeExecutor()
    result = _suite(
        tmp_path, wl, ScriptedChecker({"go/default": "race", "go/racy": "race"}), executor
    )
    assert result.status == "failed"
    assert result.error.startswith("go/default: race detector: DATA RACE: Read at")
    assert executor.calls == []  # nothing measured
    statuses = {r.key: r.status for r in result.implementations}
    assert statuses == {"go/default": "failed", "go/racy": "failed", "rust/default": "failed"}
    assert result.result_for("rust/default").error == (
        "not measured: a default of the workload failed the race check"
    )
    assert len(result.race_checks) == 2


def test_clean_checks_are_recorded_and_change_nothing_else(tmp_path):
    wl = workload("demo", args=("{depth}",), impls=THREE, with_input=False)
    checked = _suite(
        tmp_path / "a",
        wl,
        ScriptedChecker({"go/default": "clean", "go/racy": "clean"}),
        FakeExecutor(),
    )
    plain, _ = run_suite(
        [wl],
        run_config(warmups=0, repetitions=2),
        machine(),
        FakeBuilder(),
        FakeExecutor(),
        tmp_path / "b" / "results",
        tmp_path / "b" / "cache",
    )
    assert [c.status for c in checked.race_checks] == ["clean", "clean"]
    unchecked = plain.workloads[0]
    assert unchecked.race_checks == () and unchecked.unsafe_counts == ()
    assert checked.status == unchecked.status == "ok"

    def shape(result):
        return [(r.key, r.status, len(r.repetitions)) for r in result.implementations]

    assert shape(checked) == shape(unchecked)


def test_the_race_flavour_builds_apart_from_the_measured_binary():
    assert RACE_BUILD.lang == "go" and RACE_BUILD.flags == ("-race",) and RACE_BUILD.needs_cgo
    assert RACE_BUILD.env == {"CGO_ENABLED": "1"}
    assert race.RACE_ENV == {"GORACE": "halt_on_error=1 exitcode=66"}
    assert (
        RACE_BUILD.describe()
        == "race build: CGO_ENABLED=1; flags -race (apart from the timed binary)"
    )


def test_a_race_run_gets_at_least_two_ps_on_the_cpus_it_is_given():
    assert race.race_gomaxprocs((1,)) == 2
    assert race.race_gomaxprocs((0, 1, 2)) == 3
    assert race.race_gomaxprocs(None) == max(2, len(os.sched_getaffinity(0)))
