"""Measurement options of run and ab: bad values are one-line errors naming the option."""

import pytest
from builders import cpu_window, noise_run, system_state

from harness import cli
from harness.progress import describe
from harness.runner import RoundProgress


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
        (["--max-rounds", "5"], "--max-rounds: 5 is below the minimum of 10 rounds"),
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


def test_run_summary_prints_each_noise_warning_on_one_line(capsys):
    cli.print_summary(noise_run(go_growth=0.2, window=cpu_window(), system=system_state()))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("noise:")]
    assert lines == [
        "noise: CPU frequency governor is powersave on cpu 1, not performance; the clock may"
        " change during the run",
        "noise: demo: go/default wall time drifted +18.9 % across the run (Kendall tau 0.88,"
        " p=5.3e-06)",
    ]
    cli.print_summary(noise_run(go_growth=0.0, window=cpu_window()))
    assert "noise:" not in capsys.readouterr().out
