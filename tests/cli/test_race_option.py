"""`harness run` and `harness sweep` pass the race checker to the suite unless --no-race-check."""

from __future__ import annotations

import pytest

from harness.cli import run as run_command
from harness.cli.parser import parser
from harness.measure.race import RaceChecker


class Stop(Exception):
    pass


@pytest.mark.parametrize(
    "argv, on",
    [
        (["run", "--workloads", "json", "--size", "quick"], True),
        (["run", "--workloads", "json", "--size", "quick", "--no-race-check"], False),
        (["sweep", "--workloads", "binarytrees", "--param", "depth=6,8"], True),
        (["sweep", "--workloads", "binarytrees", "--param", "depth=6,8", "--no-race-check"], False),
    ],
)
def test_the_race_check_is_on_unless_turned_off(tmp_path, monkeypatch, argv, on):
    seen = []

    def fake_run_suite(*_args, race_check=None, **_kwargs):
        seen.append(race_check)
        raise Stop

    monkeypatch.setattr(run_command, "run_suite", fake_run_suite)
    monkeypatch.setattr(run_command.measure, "pin_current_process", lambda cpus: None)
    args = parser().parse_args(
        ["--results-dir", str(tmp_path / "results"), "--cache-dir", str(tmp_path / "cache"), *argv]
    )
    with pytest.raises(Stop):
        args.func(args)
    assert isinstance(seen[0], RaceChecker) if on else seen[0] is None
