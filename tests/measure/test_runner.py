import itertools
import json
import signal
from dataclasses import replace

import pytest
from builders import (
    cpu_ticks,
    machine,
    outcome,
    result_line,
    run,
    run_config,
    system_state,
    workload,
    workload_result,
)
from fakes import INPUT, FakeBuilder, FakeExecutor, builds_for

from harness.errors import HarnessError
from harness.measure.runner import (
    RunInterrupted,
    argv_for,
    check_budgets_before_building,
    measured_round_seconds,
    parse_result_line,
    rounds_plan,
    run_batch_workload,
    run_suite,
    stop_reason,
    to_repetition,
)
from harness.model import StoppingRule
from harness.store.results import load_run, save_run

GC_LINE = (
    "gc 1 @0.006s 6%: 0.17+12+0.033 ms clock, 0.34+0/2.5/4.5+0.066 ms cpu, 3->6->6 MB, "
    "4 MB goal, 0 MB stacks, 0 MB globals, 2 P"
)
GO, RUST, RUST_FAST = "/bin/go-default", "/bin/rust-default", "/bin/rust-fast"


# --- parse_result_line ----------------------------------------------------------------------------


def test_parse_result_line_takes_last_nonempty_line():
    stdout = "progress: 50%\n" + result_line(extra={"ratio": 3}) + "\n\n"
    assert parse_result_line(stdout) == {
        "checksum": "00000000deadbeef",
        "items": 10,
        "bytes": 100,
        "work_seconds": 0.5,
        "extra": {"ratio": 3},
    }


def test_parse_result_line_accepts_integer_seconds():
    assert parse_result_line(result_line(work=1))["work_seconds"] == 1


@pytest.mark.parametrize(
    ("stdout", "message"),
    [
        ("", "printed nothing"),
        ("\n  \n", "printed nothing"),
        (result_line() + "\ntrailing words", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"items": 1, "bytes": 2, "work_seconds": 0.1}', "'checksum'"),
        ('{"checksum": "ab", "items": "1", "bytes": 2, "work_seconds": 0.1}', "'items'"),
        ('{"checksum": "ab", "items": true, "bytes": 2, "work_seconds": 0.1}', "'items'"),
        ('{"checksum": "ab", "items": 1, "bytes": 2.5, "work_seconds": 0.1}', "'bytes'"),
        ('{"checksum": "ab", "items": 1, "bytes": 2, "work_seconds": "fast"}', "'work_seconds'"),
        (result_line(extra={"size": "big"}), "'extra'"),
        (result_line(extra=[1]), "'extra'"),
        ('{"checksum": "ab", "items": 1, "bytes": 2, "work_seconds": NaN}', "NaN"),
        (result_line(extra={"ratio": float("inf")}), "Infinity"),
    ],
)
def test_parse_result_line_rejects(stdout, message):
    with pytest.raises(ValueError, match=message):
        parse_result_line(stdout)


# --- to_repetition --------------------------------------------------------------------------------


def test_to_repetition_success_go_parses_gctrace():
    out = replace(
        outcome(wall=2.0, user=1.5, sys=0.25, rss=1 << 24),
        stdout=result_line(checksum="abc", items=7, nbytes=70, work=1.75, extra={"n": 2}),
        stderr=GC_LINE + "\n",
    )
    rep = to_repetition(3, "go", out, 10.0)
    assert rep.ok and rep.error is None
    assert (rep.rep, rep.exit_code) == (3, 0)
    assert (rep.wall_seconds, rep.user_seconds, rep.sys_seconds) == (2.0, 1.5, 0.25)
    assert rep.peak_rss_bytes == 1 << 24
    assert (rep.checksum, rep.items, rep.bytes, rep.work_seconds) == ("abc", 7, 70, 1.75)
    assert rep.extra == {"n": 2.0}
    assert rep.gc_cycles is not None and len(rep.gc_cycles) == 1
    assert rep.gc_cycles[0].pause_seconds == pytest.approx(0.203e-3)
    assert rep.stderr_tail == ""  # gc lines are kept out of the tail


def test_to_repetition_rust_has_no_gc_even_with_gc_like_stderr():
    rep = to_repetition(0, "rust", replace(outcome(), stderr=GC_LINE), 10.0)
    assert rep.ok
    assert rep.gc_cycles is None


def test_to_repetition_go_without_gc_has_empty_cycles():
    rep = to_repetition(0, "go", outcome(), 10.0)
    assert rep.gc_cycles == ()


def test_to_repetition_nonzero_exit():
    out = outcome(exit_code=2, stdout="", stderr=f"{GC_LINE}\nreading input\nerror: bad input\n")
    rep = to_repetition(0, "go", out, 10.0)
    assert not rep.ok
    assert rep.exit_code == 2
    assert rep.error == "exit status 2: error: bad input"
    assert rep.stderr_tail == "reading input\nerror: bad input"
    assert rep.wall_seconds == 1.0  # raw figures are kept
    assert rep.checksum is None


def test_to_repetition_nonzero_exit_even_with_valid_json():
    rep = to_repetition(0, "rust", outcome(exit_code=1), 10.0)
    assert not rep.ok
    assert rep.error == "exit status 1"


def test_to_repetition_killed_by_signal():
    rep = to_repetition(0, "rust", outcome(exit_code=-signal.SIGSEGV, stdout=""), 10.0)
    assert not rep.ok
    assert rep.error == "killed by SIGSEGV"


def test_to_repetition_killed_by_realtime_signal():
    rep = to_repetition(0, "rust", outcome(exit_code=-35, stdout=""), 10.0)
    assert not rep.ok
    assert "35" in rep.error


def test_to_repetition_timeout():
    out = outcome(exit_code=-signal.SIGKILL, stdout="", stderr="still working\n", timed_out=True)
    rep = to_repetition(0, "go", out, 2.5)
    assert not rep.ok
    assert rep.error == "timed out after 2.5 s (process group killed): still working"


def test_to_repetition_missing_json():
    rep = to_repetition(0, "rust", outcome(stdout="hello\n"), 10.0)
    assert not rep.ok
    assert rep.exit_code == 0
    assert "not JSON" in rep.error


def test_to_repetition_unrecognised_gctrace_is_an_error():
    out = replace(outcome(), stderr="gc 5 @0.1s 3%: this format changed\n")
    rep = to_repetition(0, "go", out, 10.0)
    assert not rep.ok
    assert "unrecognised gctrace line" in rep.error
    assert "gc 5 @0.1s" in rep.error


# --- argv -----------------------------------------------------------------------------------------


def test_argv_for_fills_placeholders():
    wl = workload(args=("--in={input}", "{depth}", "literal"))
    assert argv_for(wl, "/bin/x", {"depth": 12}, INPUT) == [
        "/bin/x",
        "--in=/cache/inputs/json_docs-quick.bin",
        "12",
        "literal",
    ]


def test_argv_for_missing_value_names_manifest():
    wl = workload(args=("{input}",))
    with pytest.raises(HarnessError, match=r"workloads/demo.toml: field 'args'"):
        argv_for(wl, "/bin/x", {}, None)


# --- run_batch_workload ---------------------------------------------------------------------------


def run_workload(wl, executor, config=None, failing_builds=(), progress=None):
    config = config or run_config()
    messages = [] if progress is None else progress

    def note(message):
        if isinstance(message, str):  # RoundProgress values feed the live display
            messages.append(message)

    return run_batch_workload(wl, builds_for(wl, failing_builds), INPUT, config, executor, note)


def test_interleaves_and_discards_warmups():
    wl = workload()
    warm = outcome(wall=99.0)
    executor = FakeExecutor({GO: [warm, warm], RUST: [warm, warm]})
    result = run_workload(wl, executor, run_config(warmups=2, repetitions=3))

    assert executor.binaries() == [GO, RUST] * 5
    assert result.status == "ok" and result.error is None
    for impl in result.implementations:
        assert impl.status == "ok"
        assert [r.rep for r in impl.repetitions] == [0, 1, 2]
        assert all(r.wall_seconds == 1.0 for r in impl.repetitions)  # no 99 s warm-up stored
        assert impl.warmups_run == 2
    assert result.reference_checksum == "00000000deadbeef"
    assert result.params == {"depth": 12}
    assert result.input == INPUT


def test_env_cpus_and_argv_passed_to_executor():
    wl = workload()
    config = run_config(
        warmups=0,
        repetitions=1,
        cpu_affinity=(1,),
        timeout_seconds=7.0,
        sample_interval_seconds=0.02,
    )
    executor = FakeExecutor()
    run_workload(wl, executor, config)
    go_call, rust_call = executor.calls
    # both runtimes are told the one CPU they have (workloads/README.md "CPUs and workers")
    assert go_call["env"] == {"GODEBUG": "gctrace=1", "HARNESS_CPUS": "1", "GOMAXPROCS": "1"}
    assert rust_call["env"] == {
        "HARNESS_CPUS": "1",
        "RAYON_NUM_THREADS": "1",
        "TOKIO_WORKER_THREADS": "1",
    }
    assert go_call["argv"] == [GO, INPUT.path, "12"]
    assert rust_call["argv"] == [RUST, INPUT.path, "12"]
    for call in executor.calls:
        assert call["cpus"] == (1,)
        assert call["timeout"] == 7.0
        assert call["interval"] == 0.02


def test_failed_repetition_stops_that_implementation_only():
    wl = workload()
    executor = FakeExecutor(
        {GO: [outcome(), outcome(wall=1.5), outcome(exit_code=1, stdout="", stderr="boom\n")]}
    )
    result = run_workload(wl, executor, run_config(warmups=1, repetitions=4))

    assert executor.binaries().count(GO) == 3  # warm-up, rep 1, rep 2 (failed); no more
    assert executor.binaries().count(RUST) == 5
    go = result.result_for("go/default")
    assert go.status == "failed"
    assert go.error == "repetition 2 failed: exit status 1: boom"
    assert [(r.rep, r.ok) for r in go.repetitions] == [(0, True), (1, False)]
    assert go.repetitions[0].wall_seconds == 1.5
    assert result.result_for("rust/default").status == "ok"
    assert result.status == "failed"
    assert result.error == "go/default: repetition 2 failed: exit status 1: boom"


def test_failed_warmup_stores_nothing():
    wl = workload()
    executor = FakeExecutor({RUST: [outcome(exit_code=-signal.SIGKILL, stdout="")]})
    result = run_workload(wl, executor, run_config(warmups=1, repetitions=2))
    rust = result.result_for("rust/default")
    assert rust.status == "failed"
    assert rust.repetitions == ()
    assert rust.error == "warm-up failed: killed by SIGKILL"
    assert executor.binaries().count(RUST) == 1
    assert result.status == "failed"


def test_default_checksum_mismatch_fails_the_workload():
    wl = workload()
    executor = FakeExecutor({RUST: [outcome(checksum="ffff")] * 3})
    messages = []
    result = run_workload(wl, executor, run_config(warmups=0, repetitions=3), progress=messages)
    assert result.status == "checksum_mismatch"
    assert result.reference_checksum == "00000000deadbeef"
    rust = result.result_for("rust/default")
    assert rust.status == "checksum_mismatch"
    assert "ffff" in rust.error and "00000000deadbeef" in rust.error
    assert result.error == rust.error
    assert result.result_for("go/default").status == "ok"
    assert any("checksum mismatch" in m for m in messages)


def test_checksum_changing_between_repetitions_is_a_mismatch():
    wl = workload()
    executor = FakeExecutor({RUST: [outcome(), outcome(checksum="1234")]})
    result = run_workload(wl, executor, run_config(warmups=0, repetitions=2))
    assert result.result_for("rust/default").status == "checksum_mismatch"
    assert result.status == "checksum_mismatch"


def test_variant_checksum_mismatch_only_marks_the_variant():
    wl = workload(impls=(("go", "default"), ("rust", "default"), ("rust", "fast")))
    executor = FakeExecutor({RUST_FAST: [outcome(checksum="badc0de")] * 2})
    result = run_workload(wl, executor, run_config(warmups=0, repetitions=2))
    assert result.status == "ok"
    assert result.error is None
    assert result.result_for("rust/fast").status == "checksum_mismatch"
    assert "badc0de" in result.result_for("rust/fast").error
    assert result.result_for("go/default").status == "ok"
    assert result.result_for("rust/default").status == "ok"


def test_build_failure_of_variant_others_still_run():
    wl = workload(impls=(("go", "default"), ("rust", "default"), ("rust", "fast")))
    executor = FakeExecutor()
    result = run_workload(
        wl, executor, run_config(warmups=1, repetitions=2), failing_builds={"rust/fast"}
    )
    assert executor.binaries() == [GO, RUST] * 3
    fast = result.result_for("rust/fast")
    assert fast.status == "build_failed"
    assert fast.error == "build failed (exit 1)"
    assert fast.repetitions == ()
    assert result.status == "ok"


def test_build_failure_of_default_fails_workload():
    wl = workload()
    executor = FakeExecutor()
    result = run_workload(
        wl, executor, run_config(warmups=0, repetitions=2), failing_builds={"go/default"}
    )
    assert executor.binaries() == [RUST, RUST]
    assert result.result_for("go/default").status == "build_failed"
    assert result.result_for("rust/default").status == "ok"
    assert len(result.result_for("rust/default").repetitions) == 2
    assert result.status == "failed"
    assert "go/default" in result.error


class FakeProcStat:
    """Stands in for /proc/stat and os.times(): each reading notes how many processes the
    executor had run by then, and the counters grow with every reading."""

    def __init__(self, executor):
        self.executor = executor
        self.runs_seen = []

    def read_stat(self):
        self.runs_seen.append(len(self.executor.calls))
        n = len(self.runs_seen)
        return (cpu_ticks(0, user=100 * n, idle=10 * n), cpu_ticks(1, steal=n))

    def cpu_clock(self):
        n = len(self.executor.calls)
        return 0.5 * n, 2.0 * n  # (harness, children) seconds so far


def test_cpu_window_is_read_around_the_measured_rounds_only():
    wl = workload()
    executor = FakeExecutor()
    proc = FakeProcStat(executor)
    result = run_batch_workload(
        wl,
        builds_for(wl),
        INPUT,
        run_config(warmups=2, repetitions=3),
        executor,
        read_stat=proc.read_stat,
        cpu_clock=proc.cpu_clock,
    )
    # 2 warm-up rounds of 2 programs ran before the first reading, all 10 before the second
    assert proc.runs_seen == [4, 10]
    window = result.cpu_window
    assert window.before == (cpu_ticks(0, user=100, idle=10), cpu_ticks(1, steal=1))
    assert window.after == (cpu_ticks(0, user=200, idle=20), cpu_ticks(1, steal=2))
    assert (window.harness_cpu_seconds, window.children_cpu_seconds) == (3.0, 12.0)


def test_no_cpu_window_where_proc_stat_cannot_be_read():
    wl = workload()
    result = run_batch_workload(
        wl, builds_for(wl), INPUT, run_config(), FakeExecutor(), read_stat=lambda: None
    )
    assert result.cpu_window is None


def test_server_runner_reads_its_cpu_window_around_the_whole_protocol(tmp_path):
    from harness.servers.protocol import ServerRunner, default_settings

    wl = replace(workload(with_input=False, args=()), kind="server")
    executor = FakeExecutor()
    proc = FakeProcStat(executor)
    runner = ServerRunner(
        tmp_path / "oha",
        default_settings("quick", "oha", (0,), (1,)),
        tmp_path,
        tmp_path / "launcher",
        read_stat=proc.read_stat,
        cpu_clock=proc.cpu_clock,
    )
    # no server starts when every build failed: the protocol runs through with no process
    result = runner(
        wl, builds_for(wl, failing=("go/default", "rust/default")), None, run_config(), executor
    )
    assert len(proc.runs_seen) == 2
    assert result.cpu_window.after[0] == cpu_ticks(0, user=200, idle=20)


# --- run_suite ------------------------------------------------------------------------------------


def test_run_suite_records_the_machine_state_and_each_workloads_cpu_window(tmp_path):
    executor = FakeExecutor()
    proc = FakeProcStat(executor)
    run, path = run_suite(
        [workload("one", args=("{depth}",), with_input=False)],
        run_config(warmups=1, repetitions=2),
        machine(),
        FakeBuilder(),
        executor,
        tmp_path / "results",
        tmp_path / "cache",
        system_state=system_state,
        read_stat=proc.read_stat,
        cpu_clock=proc.cpu_clock,
    )
    assert run.system == system_state()
    assert proc.runs_seen == [2, 6]
    assert run.workloads[0].cpu_window.children_cpu_seconds == 8.0
    assert load_run(path) == run


def test_run_suite_complete(tmp_path):
    workloads = [
        workload("one", args=("{depth}",), with_input=False),
        workload("two", args=("{depth}",), with_input=False),
    ]
    builder = FakeBuilder()
    executor = FakeExecutor()
    run, path = run_suite(
        workloads,
        run_config(warmups=0, repetitions=1),
        machine(),
        builder,
        executor,
        tmp_path / "results",
        tmp_path / "cache",
    )
    assert run.status == "complete"
    assert run.finished_at is not None
    assert [w.name for w in run.workloads] == ["one", "two"]
    assert [w.status for w in run.workloads] == ["ok", "ok"]
    assert executor.calls[0]["argv"] == ["/bin/go-default", "12"]
    assert builder.built == [
        ("one", "go/default"),
        ("one", "rust/default"),
        ("two", "go/default"),
        ("two", "rust/default"),
    ]
    assert load_run(path) == run
    assert load_run(tmp_path / "results" / "latest.json") == run


def test_run_suite_saves_after_each_workload_and_on_interrupt(tmp_path):
    results_dir = tmp_path / "results"
    # server-kind workloads so that the injected runner (run_server) measures them
    workloads = [
        replace(workload("one", with_input=False, args=()), kind="server"),
        replace(workload("two", with_input=False, args=()), kind="server"),
    ]
    seen_on_disk = []

    def fake_run(wl, builds, input_record, config, executor, progress):
        latest = results_dir / "latest.json"
        seen_on_disk.append(json.loads(latest.read_text()) if latest.exists() else None)
        if wl.name == "two":
            raise KeyboardInterrupt
        return workload_result(name=wl.name)

    with pytest.raises(RunInterrupted) as interrupted:
        run_suite(
            workloads,
            run_config(),
            machine(),
            FakeBuilder(),
            FakeExecutor(),
            results_dir,
            tmp_path / "cache",
            run_server=fake_run,
        )
    # before the first workload: nothing on disk (store.py); before the second: the first saved
    assert seen_on_disk[0] is None
    assert (seen_on_disk[1]["status"], len(seen_on_disk[1]["workloads"])) == ("running", 1)
    saved = load_run(results_dir / "latest.json")
    assert saved.status == "interrupted"
    assert saved.finished_at is not None
    assert [w.name for w in saved.workloads] == ["one"]
    assert replace(saved.workloads[0], origin=None, timing=None) == workload_result(name="one")
    assert saved.workloads[0].origin.manifest.endswith("workloads/one.toml")
    assert load_run(results_dir / f"{saved.run_id}.json") == saved
    assert interrupted.value.saved == results_dir / f"{saved.run_id}.json"
    assert "the 1 workload(s) measured so far are saved" in str(interrupted.value)


def test_run_suite_interrupted_before_measuring_writes_nothing(tmp_path):
    def fake_run(*_):
        raise KeyboardInterrupt

    with pytest.raises(RunInterrupted, match="before any workload was measured; nothing saved"):
        run_suite(
            [replace(workload("one", with_input=False, args=()), kind="server")],
            run_config(),
            machine(),
            FakeBuilder(),
            FakeExecutor(),
            tmp_path / "results",
            tmp_path / "cache",
            run_server=fake_run,
        )
    assert not (tmp_path / "results").exists() or list((tmp_path / "results").iterdir()) == []


# --- order and stopping rule ----------------------------------------------------------------------

THREE = (("go", "default"), ("rust", "default"), ("rust", "fast"))


def test_latin_order_balances_positions_and_records_what_ran():
    wl = workload(impls=THREE)
    executor = FakeExecutor()
    config = run_config(warmups=0, repetitions=12, order="latin", seed=7)
    result = run_workload(wl, executor, config)
    ran = executor.binaries()
    assert len(ran) == 36
    # the recorded order is the order the executor saw, round by round
    recorded = sorted(
        (rep.rep, rep.position, f"/bin/{impl.lang}-{impl.variant}", rep.predecessor)
        for impl in result.implementations
        for rep in impl.repetitions
    )
    assert [binary for _, _, binary, _ in recorded] == ran
    keys = {f"/bin/{lang}-{variant}": f"{lang}/{variant}" for lang, variant in THREE}
    assert [p for *_, p in recorded] == [None] + [keys[b] for b in ran[:-1]]
    # 12 rounds = two Williams squares of 6 rows: each implementation 4 times in each slot
    for impl in result.implementations:
        slots = [rep.position for rep in impl.repetitions]
        assert sorted(slots.count(p) for p in range(3)) == [4, 4, 4]
    starts = sorted(
        (rep.rep, rep.position, rep.started_at_seconds)
        for impl in result.implementations
        for rep in impl.repetitions
    )
    assert all(a[2] <= b[2] for a, b in itertools.pairwise(starts))
    assert result.rounds.block == 6 and result.rounds.reason == "fixed"


def test_given_and_reversed_orders_are_fixed_and_seed_changes_latin_order():
    wl = workload(impls=THREE)
    given = FakeExecutor()
    run_workload(wl, given, run_config(warmups=0, repetitions=2, order="given"))
    assert given.binaries() == [GO, RUST, RUST_FAST] * 2
    reversed_ = FakeExecutor()
    run_workload(wl, reversed_, run_config(warmups=0, repetitions=2, order="given", reverse=True))
    assert reversed_.binaries() == [RUST_FAST, RUST, GO] * 2
    latin, latin_reversed = FakeExecutor(), FakeExecutor()
    run_workload(wl, latin, run_config(warmups=0, repetitions=6, order="latin", seed=3))
    config = run_config(warmups=0, repetitions=6, order="latin", seed=3, reverse=True)
    result = run_workload(wl, latin_reversed, config)
    rounds = [latin.binaries()[i : i + 3] for i in range(0, 18, 3)]
    assert latin_reversed.binaries() == [b for r in rounds for b in reversed(r)]
    # still balanced: each implementation twice in each slot over the 6-row square
    for impl in result.implementations:
        slots = [rep.position for rep in impl.repetitions]
        assert sorted(slots.count(p) for p in range(3)) == [2, 2, 2]
    orders = set()
    for seed in range(6):
        ex = FakeExecutor()
        run_workload(wl, ex, run_config(warmups=0, repetitions=6, order="latin", seed=seed))
        orders.add(tuple(ex.binaries()))
    assert len(orders) > 1  # the seed picks labels and row order


def _noisy(binary, n, spread):
    return [outcome(wall=1.0 + spread * ((i * 7919) % 11 - 5) / 5) for i in range(n)]


def test_adaptive_rounds_stop_when_the_target_is_reached():

    wl = workload()
    executor = FakeExecutor()  # every outcome 1.0 s: the Go/Rust CI has zero width
    rule = StoppingRule(target_ci_half_width=0.02, max_rounds=40, max_seconds=1e9)
    result = run_workload(wl, executor, run_config(warmups=0, repetitions=10, stopping=rule))
    assert result.rounds.reason == "target reached"
    assert result.rounds.rounds == 10  # the minimum, a whole number of 2-row blocks
    assert result.rounds.reached_ci_half_width == 0.0


def test_adaptive_rounds_stop_at_the_rounds_budget_and_say_what_ci_they_reached():

    wl = workload()
    executor = FakeExecutor({GO: _noisy(GO, 100, 0.3), RUST: _noisy(RUST, 100, 0.0)})
    rule = StoppingRule(target_ci_half_width=0.001, max_rounds=14, max_seconds=1e9)
    result = run_workload(wl, executor, run_config(warmups=0, repetitions=10, stopping=rule))
    assert result.rounds.reason == "max rounds"
    assert result.rounds.rounds == 14
    assert result.status == "ok"
    assert result.rounds.reached_ci_half_width > 0.001
    assert result.rounds.widest.endswith("go/default / rust/default")


def test_adaptive_rounds_stop_at_the_time_budget():

    wl = workload()
    ticks = iter(range(10_000))
    rule = StoppingRule(target_ci_half_width=0.0001, max_rounds=1000, max_seconds=30.0)
    executor = FakeExecutor({GO: _noisy(GO, 100, 0.3)})
    result = run_batch_workload(
        wl,
        builds_for(wl),
        INPUT,
        run_config(warmups=0, repetitions=2, stopping=rule),
        executor,
        clock=lambda: float(next(ticks)),
    )
    assert result.rounds.reason == "max seconds"
    # the budget is per program of the round: 30 s for each of go and rust
    assert result.rounds.budget_seconds == 60.0
    assert result.rounds.elapsed_seconds <= 61


def test_the_minimum_of_rounds_comes_before_the_time_budget():
    """A budget that runs out at round 2 does not stop a workload whose minimum is 12: a gate
    stopped before its minimum could call nothing (issue 25: 6 of 20 rounds)."""
    wl = workload()
    ticks = iter(range(10_000))
    rule = StoppingRule(target_ci_half_width=0.0001, max_rounds=40, max_seconds=1.0)
    result = run_batch_workload(
        wl,
        builds_for(wl),
        INPUT,
        run_config(warmups=0, repetitions=12, stopping=rule),
        FakeExecutor({GO: _noisy(GO, 100, 0.3)}),
        clock=lambda: float(next(ticks)),
    )
    assert (result.rounds.rounds, result.rounds.reason) == (12, "max seconds")
    assert result.rounds.min_rounds == 12
    assert stop_reason(run_config(repetitions=12, stopping=rule), 11, 2, 0.5, 1e6, 1.0) is None
    assert stop_reason(run_config(repetitions=12, stopping=rule), 12, 2, 0.5, 1e6, 1.0) == (
        "max seconds"
    )


def test_a_chosen_budget_that_cannot_fit_the_minimum_fails_before_any_measured_round():
    wl = workload()
    ticks = iter(range(10_000))  # every clock read 1 s later: the warm-up round takes 3 s
    rule = StoppingRule(
        target_ci_half_width=0.01, max_rounds=40, max_seconds=5.0, budget_given=True
    )
    executor = FakeExecutor()
    with pytest.raises(HarnessError) as raised:
        run_batch_workload(
            wl,
            builds_for(wl),
            INPUT,
            run_config(warmups=1, repetitions=20, stopping=rule),
            executor,
            clock=lambda: float(next(ticks)),
        )
    message = str(raised.value)
    assert message.startswith("--max-seconds: 5 s per program (10 s for demo's 2 programs)")
    assert "minimum of 20 rounds" in message and "--min-rounds" in message
    assert len(executor.calls) == 2  # the warm-up round only
    # the same budget left at its default: the minimum comes first, and the estimate says so
    seen = []
    result = run_batch_workload(
        wl,
        builds_for(wl),
        INPUT,
        run_config(warmups=1, repetitions=20, stopping=replace(rule, budget_given=False)),
        FakeExecutor(),
        progress=seen.append,
        clock=lambda: float(next(ticks)),
    )
    assert result.rounds.rounds == 20
    (estimate,) = [m for m in seen if isinstance(m, str) and "(warm-up)" in m]
    assert estimate.startswith("demo: a round of 2 programs ≈ 3.0 s (warm-up); at least 20 rounds")
    assert estimate.endswith("the minimum of 20 rounds comes before the budget")
    assert result.rounds.warmup_round_seconds == 3.0


def test_a_chosen_budget_is_checked_against_a_stored_round_before_building(tmp_path):
    """An earlier run of the workload says what a round costs, so a --max-seconds that cannot fit
    the minimum is refused before anything is built."""
    wl = workload()
    ticks = iter(range(10_000))
    rule = StoppingRule(target_ci_half_width=0.0001, max_rounds=4, max_seconds=100.0)
    measured = run_batch_workload(  # 4 rounds of 2 programs, each run 2 s by this clock
        wl,
        builds_for(wl),
        INPUT,
        run_config(warmups=0, repetitions=4, stopping=rule),
        FakeExecutor(),
        clock=lambda: float(next(ticks)),
    )
    assert measured_round_seconds([tmp_path], "demo", "quick") is None
    save_run(run([measured], run_id="20260101T000000Z-0001"), tmp_path)
    per_program = measured.rounds.elapsed_seconds / measured.rounds.rounds / 2
    assert measured_round_seconds([tmp_path], "demo", "quick") == per_program
    assert measured_round_seconds([tmp_path], "demo", "full") is None  # another size
    chosen = StoppingRule(0.01, 40, max_seconds=per_program * 19, budget_given=True)
    with pytest.raises(HarnessError, match=r"^--max-seconds: .* cannot fit the minimum of 20"):
        check_budgets_before_building(run_config(repetitions=20, stopping=chosen), [wl], [tmp_path])
    # it fits at 21 rounds' worth, and a default budget is never an error (the minimum wins)
    check_budgets_before_building(
        run_config(repetitions=20, stopping=replace(chosen, max_seconds=per_program * 21)),
        [wl],
        [tmp_path],
    )
    check_budgets_before_building(
        run_config(repetitions=20, stopping=replace(chosen, budget_given=False)), [wl], [tmp_path]
    )


def test_the_progress_line_says_how_many_rounds_and_why():
    fixed = run_config(warmups=1, repetitions=3, order="given")
    assert rounds_plan(fixed) == "1 warm-up, 3 rounds, given order"
    adaptive = replace(
        run_config(warmups=1, repetitions=10, order="latin"),
        stopping=StoppingRule(target_ci_half_width=0.02, max_rounds=40, max_seconds=90.0),
    )
    assert rounds_plan(adaptive) == (
        "1 warm-up, at least 10 rounds until the CIs are within ±2.0 % (at most 40 rounds or "
        "90 s per program after the minimum), latin order"
    )


def test_run_suite_times_each_workloads_builds_and_measuring(tmp_path):
    """The run records where each workload's time went (the plan line and the report's "Where the
    run's time went" read it): a slow build shows in build_seconds, a slow measurement in
    measure_seconds, and neither in the other."""
    import time

    class SlowBuilder(FakeBuilder):
        def build(self, wl, impl):
            if wl.name == "slow-build":
                time.sleep(0.15)
            return super().build(wl, impl)

    def slow_run(wl, builds, input_record, config, executor, progress):
        if wl.name == "slow-measure":
            time.sleep(0.3)
        return workload_result(name=wl.name)

    workloads = [
        replace(workload(name, with_input=False, args=()), kind="server")
        for name in ("slow-build", "slow-measure")
    ]
    run, path = run_suite(
        workloads,
        run_config(),
        machine(),
        SlowBuilder(),
        FakeExecutor(),
        tmp_path / "results",
        tmp_path / "cache",
        run_server=slow_run,
    )
    built, measured = (w.timing for w in run.workloads)
    assert built.build_seconds >= 0.3  # two implementations, 0.15 s each
    assert built.measure_seconds < 0.1
    assert measured.measure_seconds >= 0.3
    assert measured.build_seconds < 0.1
    assert load_run(path).workloads[1].timing == measured
