"""Measurement options of run and ab: bad values are one-line errors naming the option."""

import pytest
from builders import cpu_window, noise_run, system_state

from harness.cli import main as cli
from harness.cli import options
from harness.cli.parser import parser
from harness.cli.progress import describe
from harness.cli.summary import print_summary
from harness.errors import HarnessError
from harness.measure import ab as abrun
from harness.measure.launcher import available_cpus
from harness.measure.runner import RoundProgress
from harness.profile.recording import PERIOD_NS

AVAILABLE = available_cpus()
ALL, LAST = ",".join(map(str, AVAILABLE)), str(AVAILABLE[-1])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target-ci", "0"], "--target-ci: must be in (0, 50], got 0"),
        (["--target-ci", "51"], "--target-ci: must be in (0, 50], got 51"),
        (["--target-ci", "x"], "--target-ci: expected a number, got 'x'"),
        (["--max-rounds", "0"], "--max-rounds: must be at least 1, got 0"),
        (["--max-seconds", "0"], "--max-seconds: must be above 0, got 0"),
        (["--seed", "1.5"], "--seed: expected an integer, got '1.5'"),
        (["--repetitions", "0"], "--repetitions: must be at least 1, got 0"),
        (["--max-rounds", "5"], "--repetitions: the minimum of 10 rounds is above --max-rounds 5"),
        (
            ["--min-rounds", "50", "--max-rounds", "40"],
            "--min-rounds: the minimum of 50 rounds is above --max-rounds 40",
        ),
        (["--min-rounds", "0"], "--min-rounds: must be at least 1, got 0"),
        (
            ["--min-rounds", "5", "--repetitions", "6"],
            "--min-rounds 5 and --repetitions 6: give one",
        ),
        (["--rates", "1000,x"], "--rates: expected a number, got 'x'"),
        (["--rates", "1000,0"], "--rates: must be above 0, got 0"),
        (["--rates", "1000,1000"], "--rates: each rate once, got '1000,1000'"),
        (["--replicates", "0"], "--replicates: must be at least 1, got 0"),
        (["--phase-seconds", "0"], "--phase-seconds: must be above 0, got 0"),
        (["--extra-replicates", "-1"], "--extra-replicates: must be at least 0, got -1"),
        (["--loadgen-cpus", ""], "--loadgen-cpus: expected CPU numbers like '0' or '0,1', got ''"),
        (["--loadgen-cpus", "0,"], "--loadgen-cpus: expected CPU numbers like '0' or '0,1'"),
        (["--loadgen-cpus", "x"], "--loadgen-cpus: expected CPU numbers like '0' or '0,1'"),
        (
            ["--loadgen-cpus", "9999"],
            f"--loadgen-cpus: CPU(s) 9999 not available; this process may use {ALL}",
        ),
        (
            ["--pin", ALL, "--loadgen-cpus", LAST],
            f"--loadgen-cpus {LAST} overlaps the server's CPUs (--pin/--cpus) {ALL}; give "
            "disjoint sets or leave --loadgen-cpus out to share",
        ),
        (
            ["--pin", "none", "--loadgen-cpus", LAST],
            f"--loadgen-cpus {LAST}: the server is unpinned (--pin none) and may run on every CPU",
        ),
    ],
)
def test_bad_measurement_options_are_one_line_errors(tmp_path, capsys, argv, message):
    code = cli.main(["--results-dir", str(tmp_path), "run", "--workloads", "sha256", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and message in err


def test_progress_line_names_round_budget_ci_and_time_left():
    event = RoundProgress(
        workload="sha256",
        rounds_done=12,
        max_rounds=40,
        ci_half_width=0.023,
        target_ci_half_width=0.02,
        elapsed_seconds=30.0,
        max_seconds=90.0,
        block_end=True,
    )
    assert describe(event) == ("sha256: round 12/40, CI ±2.3 % (target ±2.0 %), 30 s, ≤ 60 s left")
    done = RoundProgress("sha256", 18, 40, 0.019, 0.02, 45.0, 90.0, True, "target reached")
    assert describe(done).endswith("45 s, stopped: target reached")
    # a budget already spent at round 6 of a 20-round minimum: 14 rounds of 10 s still to come
    early = RoundProgress("sha256", 6, 40, None, 0.015, 60.0, 60.0, False, min_rounds=20)
    assert early.seconds_left == 140.0
    assert describe(early).endswith("60 s, ≤ 140 s left")


def test_run_summary_prints_each_noise_warning_on_one_line(capsys):
    print_summary(noise_run(go_growth=0.2, window=cpu_window(), system=system_state()))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("noise:")]
    assert lines == [
        "noise: CPU frequency governor is powersave on cpu 1, not performance; the clock may"
        " change during the run",
        "noise: demo: go/default wall time drifted +18.9 % across the run (Kendall tau 0.88,"
        " p=5.3e-06)",
    ]
    print_summary(noise_run(go_growth=0.0, window=cpu_window()))
    assert "noise:" not in capsys.readouterr().out


def test_defaults_are_the_ones_the_gate_and_the_budget_figures_were_measured_with(
    tmp_path, monkeypatch
):
    """README "The gate in CI" and docs/regression-gate.md: ab runs at least 20 rounds to ±1.5 %
    with a 3 % threshold, latin order; docs/methodology.md "Reading the numbers": full runs adapt
    to ±2 % within 40 rounds or 12 s a program; quick runs are a fixed smoke run."""
    seen = {}

    def captured(*args, **kwargs):
        seen["ab"] = args[3]
        raise HarnessError("captured")

    monkeypatch.setattr(abrun, "run_ab", captured)
    common = ["--results-dir", str(tmp_path), "--cache-dir", str(tmp_path / "cache")]
    assert cli.main([*common, "ab", "HEAD", "--workloads", "sha256", "--pin", "none"]) == 2
    ab = seen["ab"]
    assert (ab.repetitions, ab.order, ab.reverse) == (20, "latin", False)
    assert ab.stopping.target_ci_half_width == pytest.approx(0.015)
    parse = parser().parse_args
    assert parse(["ab", "HEAD"]).default_threshold == 3.0
    assert parse(["compare", "a", "b"]).default_threshold == 5.0
    full = options.run_config(parse(["run"]), [], adaptive=True)
    assert full.stopping.target_ci_half_width == pytest.approx(0.02)
    assert (full.stopping.max_rounds, full.stopping.max_seconds) == (40, 12.0)
    assert (full.stopping.budget_per, full.stopping.budget_given) == ("program", False)
    assert ab.stopping.max_seconds == 30.0 and not ab.stopping.budget_given
    chosen = options.run_config(parse(["run", "--max-seconds", "7", "--min-rounds", "4"]), [], True)
    assert (chosen.repetitions, chosen.stopping.max_seconds) == (4, 7.0)
    assert chosen.stopping.budget_given
    assert (
        options.run_config(parse(["run", "--size", "quick"]), [], adaptive=False).stopping is None
    )


def server_settings(*args, **kwargs):
    return options.server_settings(*args, loadgen_build="oha (test)", **kwargs)


def test_server_options_reach_the_server_settings():
    """--rates and --replicates override the size's defaults (docs/servers.md: full 5 replicates, quick 2)."""
    parse = parser().parse_args
    chosen = server_settings(
        parse(["run", "--rates", "4000,2000", "--replicates", "3"]), (1,), (0,)
    )
    assert (chosen.rates_rps, chosen.replicates) == ((2000.0, 4000.0), 3)
    full = server_settings(parse(["run"]), (1,), (0,))
    quick = server_settings(parse(["run", "--size", "quick"]), (1,), (0,))
    assert (full.rates_rps, full.replicates, quick.replicates) == ((), 5, 2)
    assert (full.extra_replicates, quick.extra_replicates) == (2, 0)
    assert (full.replicate_probe_seconds, quick.replicate_probe_seconds) == (3.0, 0.0)
    long = server_settings(parse(["run", "--phase-seconds", "30"]), (1,), (0,))
    assert (long.min_phase_seconds, long.max_phase_seconds) == (30.0, 30.0)
    assert (quick.min_phase_seconds, quick.max_phase_seconds) == (2.0, 2.0)
    extra = server_settings(
        parse(["run", "--size", "quick", "--extra-replicates", "3"]), (1,), (0,)
    )
    assert extra.extra_replicates == 3


def test_server_workers_follow_the_server_cpus_and_phase_seconds_turns_gc_sizing_off():
    """docs/servers.md: one worker per server CPU on both runtimes (unpinned: per CPU the harness may
    use); --phase-seconds is the user's override of every length, the GC-rate sizing included."""
    parse = parser().parse_args
    assert server_settings(parse(["run"]), (1,), (0,)).parallelism == 1
    assert server_settings(parse(["run"]), (0, 1), None).parallelism == 2
    assert server_settings(parse(["run"]), None, None).parallelism == len(AVAILABLE)
    full = server_settings(parse(["run"]), (1,), (0,))
    assert (full.gc_phase_margin, full.gc_phase_cap_seconds) == (1.5, 40.0)
    long = server_settings(parse(["run", "--phase-seconds", "30"]), (1,), (0,))
    assert (long.max_phase_seconds, long.gc_phase_margin) == (30.0, 0.0)


@pytest.mark.skipif(len(AVAILABLE) < 2, reason="needs two CPUs to keep them apart")
def test_loadgen_cpus_reach_the_server_settings_and_default_to_the_harness_cpus():
    parse = parser().parse_args
    server, loadgen = (AVAILABLE[-1],), (AVAILABLE[0],)
    chosen = server_settings(parse(["run", "--loadgen-cpus", str(AVAILABLE[0])]), server, (9,))
    assert chosen.loadgen_cpus == loadgen
    assert server_settings(parse(["run"]), server, loadgen).loadgen_cpus == loadgen
    config = options.run_config(
        parse(["run", "--pin", str(AVAILABLE[-1]), "--loadgen-cpus", str(AVAILABLE[0])]), [], False
    )
    assert config.cpu_affinity == server


def test_profile_period_help_shows_the_periods_profiling_uses(capsys):
    """--period-us's defaults in its help are PERIOD_NS's, in microseconds, not a copy of them."""
    with pytest.raises(SystemExit):
        parser().parse_args(["profile", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # however argparse wrapped it
    quick, full = (f"{PERIOD_NS[size] / 1000:g}" for size in ("quick", "full"))
    assert f"in microseconds (default: {quick} quick, {full} full)" in text
