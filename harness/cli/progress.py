"""What a person watching a run sees: a live status line on a terminal, plain lines in CI logs.

A full `make bench` takes a quarter of an hour; a line per workload says nothing about whether
it is stuck. Each batch round reports its workload, round k of the budget, the widest targeted CI
against the target, time so far and at most how long is left. On a terminal that is one line
rewritten in place (rich's Live); when stdout/stderr is not a terminal, a plain line at the end of
each balanced block and at the end of the workload, so logs stay short.
"""

from __future__ import annotations

from rich.console import Console
from rich.live import Live
from rich.text import Text

from harness.measure.runner import RoundProgress


def _pct(value: float | None) -> str:
    if value is None:
        return "–"
    return "no CI yet" if value == float("inf") else f"±{value * 100:.1f} %"


def describe(event: RoundProgress) -> str:
    """One line, e.g. 'sha256: round 12/40, CI ±2.3 % (target ±2.0 %), 31 s, ≤ 59 s left'."""
    parts = [f"{event.workload}: round {event.rounds_done}/{event.max_rounds}"]
    if event.ci_half_width is not None:
        target = (
            f" (target {_pct(event.target_ci_half_width)})"
            if event.target_ci_half_width is not None
            else ""
        )
        parts.append(f"CI {_pct(event.ci_half_width)}{target}")
    parts.append(f"{event.elapsed_seconds:.0f} s")
    if event.stop_reason is not None:
        parts.append(f"stopped: {event.stop_reason}")
    elif event.seconds_left is not None:
        parts.append(f"≤ {event.seconds_left:.0f} s left")
    return ", ".join(parts)


class ProgressView:
    """The run's progress callback: messages as '· ' lines, round events as described above."""

    def __init__(self, console: Console):
        self.console = console
        self.live: Live | None = None

    def __call__(self, event: str | RoundProgress) -> None:
        if isinstance(event, str):
            target = self.live.console if self.live else self.console
            target.print("· " + event, markup=False)
            return
        line = describe(event)
        if not self.console.is_terminal:
            if event.block_end:
                self.console.print("· " + line, markup=False)
            return
        if self.live is None:
            self.live = Live(Text(line), console=self.console, auto_refresh=False, transient=True)
            self.live.start()
        self.live.update(Text(line), refresh=True)
        if event.stop_reason is not None:
            self.close()
            self.console.print("· " + line, markup=False)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
