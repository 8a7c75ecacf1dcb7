"""The cores axis: both runtimes told the same N, read back from what the program did, refused
when it ran otherwise; limits skip an implementation; --cpus and cpus = "each" give the CPUs."""

from __future__ import annotations

import argparse
from dataclasses import replace

import pytest
from builders import outcome, result_line, run_config, workload
from fakes import INPUT, FakeExecutor, builds_for

from harness.cli import options
from harness.errors import HarnessError
from harness.measure import cpus, sweep
from harness.measure.runner import run_batch_workload, to_repetition

GO, RUST = "/bin/go-default", "/bin/rust-default"


def test_counts_are_powers_of_two_then_the_machine():
    assert cpus.counts_up_to(1) == (1,)
    assert cpus.counts_up_to(2) == (1, 2)
    assert cpus.counts_up_to(6) == (1, 2, 4, 6)
    assert cpus.counts_up_to(8) == (1, 2, 4, 8)


@pytest.mark.parametrize(
    ("count", "message"),
    [
        (0, "--cpus: a program needs at least 1 CPU, got 0"),
        (3, "--cpus: 3 CPUs asked, but this process may use 2"),
    ],
)
def test_impossible_cpu_counts_are_refused(count, message):
    with pytest.raises(HarnessError, match=message):
        cpus.last_cpus(count, (0, 1))


def test_the_last_cpus_go_to_the_program():
    assert cpus.last_cpus(1, (0, 1, 2, 3)) == (3,)
    assert cpus.last_cpus(2, (3, 1, 0, 2)) == (2, 3)


def ok_line(workers=None):
    return result_line(extra=None if workers is None else {"workers": workers})


def test_a_program_reporting_other_workers_than_its_cpus_fails():
    ok = to_repetition(0, "go", outcome(stdout=ok_line(2)), 10.0, (0, 1))
    assert ok.ok and ok.cpus == (0, 1)
    ignored = to_repetition(0, "rust", outcome(stdout=ok_line(1)), 10.0, (0, 1))
    assert not ignored.ok
    assert ignored.error == (
        "ignores its CPU setting: given 2 CPU(s) (HARNESS_CPUS=2), it reported 1 workers"
    )


def test_a_program_whose_live_process_ran_elsewhere_fails_and_the_read_back_is_kept():
    seen = replace(outcome(stdout=ok_line()), allowed_cpus=(0, 1), threads=5)
    moved = to_repetition(0, "go", seen, 10.0, (1,))
    assert not moved.ok and moved.error == "ran on CPUs 0, 1, not the 1 it was given"
    kept = to_repetition(0, "go", seen, 10.0, (0, 1))
    assert kept.ok and (kept.allowed_cpus, kept.threads) == ((0, 1), 5)


def test_a_workload_copy_with_its_own_cpus_runs_there_and_tells_both_runtimes():
    wl = replace(workload(), cpus=(0, 1))
    executor = FakeExecutor()
    result = run_batch_workload(
        wl, builds_for(wl), INPUT, run_config(warmups=0, repetitions=1, cpu_affinity=(1,)), executor
    )
    go, rust = executor.calls
    assert go["cpus"] == rust["cpus"] == (0, 1)
    assert go["env"]["GOMAXPROCS"] == "2" and go["env"]["HARNESS_CPUS"] == "2"
    assert rust["env"]["TOKIO_WORKER_THREADS"] == rust["env"]["RAYON_NUM_THREADS"] == "2"
    assert result.cpus == (0, 1)


def test_unpinned_programs_are_told_nothing():
    assert cpus.environment("go", None) == {}


def test_an_implementation_beyond_its_limits_is_skipped_with_the_reason():
    wl = workload(impls=(("go", "default"), ("rust", "default"), ("rust", "threads")))
    limited = replace(wl.implementations[2], limits=(("depth", 10.0),))
    wl = replace(wl, implementations=(*wl.implementations[:2], limited))
    executor = FakeExecutor()
    result = run_batch_workload(
        wl, builds_for(wl), INPUT, run_config(warmups=0, repetitions=1), executor
    )
    threads = result.result_for("rust/threads")
    assert threads.status == "skipped"
    assert threads.error == "runs only at depth <= 10 (manifest limits); here depth = 12"
    assert len(executor.calls) == 2 and result.status == "ok"


def test_a_cpus_sweep_gives_both_languages_the_same_cpus():
    wl = workload()
    points = sweep.expand(wl, sweep.Axis("cpus", ("1", "2")), "quick", 0, "sweep", (0, 1))
    by_value = {p.sweep_point.value: p for p in points}
    assert by_value["1"].cpus == (1,) and by_value["2"].cpus == (0, 1)
    assert all(i.env == () for p in points for i in p.implementations)  # no Go-only setting
    with pytest.raises(HarnessError, match="sweep cpus: 3 CPUs asked"):
        sweep.expand(wl, sweep.Axis("cpus", ("1", "3")), "quick", 0, "sweep", (0, 1))


def args(**given) -> argparse.Namespace:
    values = {"pin": "auto", "cpus": None, "seed": "1", "size": "quick"}
    return argparse.Namespace(**{**values, **given})


def test_each_workload_is_expanded_to_every_cpu_count_unless_the_user_chose(monkeypatch):
    monkeypatch.setattr(options.measure, "available_cpus", lambda: (0, 1))
    each = replace(workload(name="ring"), cpus_each=True)
    plain = workload(name="json")
    names = [w.name for w in options.at_each_cpu_count(args(), [each, plain])]
    assert sorted(names) == ["json", "ring@cpus=1", "ring@cpus=2"]
    assert options.at_each_cpu_count(args(cpus="2"), [each]) == [each]
    assert options.at_each_cpu_count(args(pin="1"), [each]) == [each]


def test_cpus_and_pin_exclude_each_other_and_bad_counts_name_the_option(monkeypatch):
    monkeypatch.setattr(options.measure, "available_cpus", lambda: (0, 1))
    assert options._cpus("auto", "2") == (0, 1)
    with pytest.raises(HarnessError, match="--cpus 2 and --pin 1: give one of them"):
        options._cpus("1", "2")
    with pytest.raises(HarnessError, match="--cpus: 3 CPUs asked"):
        options._cpus("auto", "3")
    with pytest.raises(HarnessError, match="--cpus: must be at least 1, got 0"):
        options._cpus("auto", "0")
