"""The expected time before a run and the breakdown after it (harness/analysis/timing.py), from
the per-workload timings earlier runs recorded, and the `harness run` line that prints it."""

from dataclasses import replace

from builders import machine, run_config, workload_result

from harness.analysis import timing
from harness.model import Run, SweepPoint, WorkloadTiming
from harness.store.results import save_run


def _run(run_id, size, *results):
    return Run(
        schema_version=12,
        run_id=run_id,
        started_at=f"2026-12-07T{run_id[-2:]}:00:00Z",
        finished_at=None,
        status="complete",
        machine=machine(),
        config=replace(run_config(), size=size),
        workloads=tuple(results),
    )


def _timed(name, build, measure, sweep=None):
    return replace(
        workload_result(name=name),
        timing=WorkloadTiming(build, 1.0, 0.5, measure),
        sweep=sweep,
    )


def test_each_workload_takes_its_newest_timing_of_the_same_size():
    newest = _run("r-12", "full", _timed("kv-cache", 10, 1200))
    older = _run("r-11", "full", _timed("kv-cache", 10, 300), _timed("json", 600, 60))
    quick = _run("r-13", "quick", _timed("gzip", 5, 20))
    expectation = timing.expected([quick, newest, older], ["kv-cache", "json", "gzip"], "full")
    assert [(p.workload, p.run_id) for p in expectation.known] == [
        ("kv-cache", "r-12"),
        ("json", "r-11"),
    ]
    assert expectation.untimed == ("gzip",)
    # builds aside: the earlier run's first builds and profiles are cached now
    assert expectation.total_seconds == (1.5 + 1200) + (1.5 + 60)
    line = timing.plan_line(expectation)
    assert line.startswith(
        "expected: about 21.1 min plus builds for the 2 workload(s) timed before at full"
    )
    assert "longest: kv-cache 20.0 min, json 1.0 min" in line
    assert line.endswith("not timed before: gzip")


def test_a_workload_measured_at_each_cpu_count_counts_every_point():
    points = [
        _timed(f"ring@cpus={n}", 1, 100, SweepPoint("ring", "cpus", str(n), float(n)))
        for n in (1, 2)
    ]
    expectation = timing.expected([_run("r-01", "full", *points)], ["ring"], "full")
    assert expectation.known[0].timing.measure_seconds == 200


def test_nothing_timed_before_gives_no_plan_and_an_untimed_run_no_breakdown():
    untimed = _run("r-01", "full", workload_result(name="json"))
    assert timing.plan_line(timing.expected([untimed], ["json"], "full")) is None
    assert timing.breakdown_line(untimed) is None


def test_the_breakdown_sums_the_stages_and_names_the_longest():
    run = _run("r-01", "full", _timed("json", 120, 60), _timed("kv-cache", 0, 1200))
    assert timing.breakdown_line(run) == (
        "time: 23.1 min over 2 workload(s) (builds 2.0 min, race/unsafe checks 2 s, inputs 1 s, "
        "measuring 21.0 min); longest: kv-cache 20.0 min, json 3.0 min"
    )


def test_harness_run_prints_the_expected_time_from_the_results_folder(tmp_path, monkeypatch):
    """Through the real `run` command: the line comes from the results folder's history, before
    anything is built (measuring is stubbed out here)."""
    from harness.cli import main as cli_main
    from harness.cli import run as run_command

    results = tmp_path / "results"
    save_run(_run("20261207T100000Z-aaaa", "quick", _timed("json", 30, 90)), results)
    printed = []
    monkeypatch.setattr(run_command, "measure_run", lambda args, selected: 0)
    monkeypatch.setattr(
        run_command.console, "print", lambda text, **_kwargs: printed.append(str(text))
    )
    status = cli_main.main(
        ["--results-dir", str(results), "run", "--size", "quick", "--workloads", "json"]
    )
    assert status == 0
    assert printed == [
        "harness: expected: about 1.5 min plus builds for the 1 workload(s) timed before at quick "
        "size (by run 20261207T100000Z-aaaa in this results folder; longest: json 1.5 min)"
    ]
