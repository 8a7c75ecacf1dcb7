"""examples/github-actions.yml is documentation people copy: its commands must be ones the harness
accepts, and it must gate the way docs/regression-gate.md recommends (base and head interleaved in
one job with `harness ab`, failing on any exit status but 0)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from harness.cli import ab
from harness.cli.gate import EXIT_INCONCLUSIVE
from harness.cli.options import AB_DEFAULT_THRESHOLD_PCT
from harness.cli.parser import parser

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "github-actions.yml"


def steps() -> list[dict]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    (job,) = workflow["jobs"].values()
    return job["steps"]


def harness_commands(script: str) -> list[list[str]]:
    """Every `python -m harness ...` command line of a step, continuation lines joined and
    GitHub expressions replaced by a placeholder value."""
    joined = re.sub(r"\\\n\s*", " ", re.sub(r"\$\{\{[^}]*\}\}", "abc1234", script))
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if "-m" in words and words[words.index("-m") + 1 : words.index("-m") + 2] == ["harness"]:
            args = words[words.index("-m") + 2 :]
            commands.append(args[: args.index(">")] if ">" in args else args)
    return commands


def test_pull_requests_are_gated_by_harness_ab_and_every_command_parses():
    commands = [c for s in steps() for c in harness_commands(s.get("run", ""))]
    assert [c[0] for c in commands] == ["ab"]
    for command in commands:
        args = parser().parse_args(command)
        assert args.func is ab.run
        # the gate runs with the defaults the gate benchmark measured
        assert args.default_threshold == AB_DEFAULT_THRESHOLD_PCT
        assert args.order == "latin" and args.repetitions is None


def test_any_exit_but_zero_fails_the_job():
    gate = next(s for s in steps() if s.get("id") == "gate")
    assert "status=$?" in gate["run"]
    failing = next(s for s in steps() if "exit 1" in s.get("run", ""))
    assert failing["if"].endswith("steps.gate.outputs.status != '0'")
    # every status the gate documents is named, inconclusive (3) among them
    assert f'{EXIT_INCONCLUSIVE}) why="inconclusive' in failing["run"]
