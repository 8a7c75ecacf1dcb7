"""What `compare` and `ab` share: the --threshold values, the comparison printed in the chosen
format, and the gate's exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from rich.table import Table

from harness.analysis import compare
from harness.cli.output import stdout_console
from harness.errors import HarnessError

EXIT_INCONCLUSIVE = 3  # no regression, but a targeted verdict could not have seen one


def parse_thresholds(values: list[str]) -> dict[str, float]:
    """--threshold METRIC=PERCENT values, checked before anything is measured: a metric the gate
    does not know is a typo that would otherwise leave its real metric at the default."""
    known = (*compare.GATED_METRICS, *compare.SERVER_UNITS, "throughput")
    thresholds = {}
    for value in values:
        metric, _, percent = value.partition("=")
        try:
            thresholds[metric] = float(percent.rstrip("%")) / 100
        except ValueError as exc:
            raise HarnessError(
                f"--threshold: expected METRIC=PERCENT like wall_seconds=3, got {value!r}"
            ) from exc
        if metric not in known:
            raise HarnessError(
                f"--threshold: {metric!r} is not a gated metric (one of {', '.join(known)})"
            )
    return thresholds


def unused_thresholds(thresholds: Mapping[str, float], result: compare.RunComparison) -> None:
    """A threshold no verdict used: the runs' binaries do not report that metric (work_seconds
    from a program outside the binary contract), so the option did nothing; say so."""
    used = {c.metric for c in result.changes}
    unused = [m for m in thresholds if m not in used]
    if unused:
        raise HarnessError(
            f"--threshold {unused[0]}: no verdict of these runs has that metric (the binaries do "
            f"not report it, or nothing of it was comparable); gated here: {', '.join(sorted(used))}"
        )


def gate_status(result: compare.RunComparison, allow_inconclusive: bool) -> int:
    """0 pass, 1 a regression, 3 inconclusive (unless allowed): a gate that could not have seen a
    change of the threshold's size does not pass silently."""
    if result.regressions:
        return 1
    if result.inconclusive and not allow_inconclusive:
        return EXIT_INCONCLUSIVE
    return 0


def print_comparison(
    result: compare.RunComparison, fmt: str, allow_inconclusive: bool = False
) -> int:
    """Show a comparison in the chosen format; the exit status is the gate's verdict."""
    if fmt == "markdown":
        sys.stdout.write(compare.to_markdown(result))
    elif fmt == "json":
        sys.stdout.write(compare.to_json(result))
    else:
        table = Table(title=f"{result.base_run_id} → {result.head_run_id}")
        for header in compare.HEADERS:
            table.add_column(header, no_wrap=header == "metric")  # rows are found by their label
        styles = {"regressed": "red", compare.INCONCLUSIVE: "yellow"}
        for row in compare.rows(result):
            table.add_row(*row, style=styles.get(row[-1]))
        stdout_console.print(table)
        for note in result.notes:
            stdout_console.print(f"note: {note}", markup=False)
        stdout_console.print(compare.summary_line(result), markup=False)
    status = gate_status(result, allow_inconclusive)
    if result.inconclusive and allow_inconclusive and not result.regressions:
        print(
            f"harness: {len(result.inconclusive)} inconclusive verdict(s) allowed "
            "(--allow-inconclusive): exit 0",
            file=sys.stderr,
        )
    return status


def add_allow_inconclusive(s: argparse.ArgumentParser) -> None:
    """The way out of exit 3 that compare and ab both offer."""
    s.add_argument(
        "--allow-inconclusive",
        action="store_true",
        help="exit 0 rather than 3 when a targeted verdict could not have called a change of its "
        "threshold's size (its MDC is above the threshold)",
    )
