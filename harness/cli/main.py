"""Command line: `main` parses, runs the chosen command, and turns a HarnessError into one line
(exit 2) and an interrupt or SIGTERM into a clean stop (exit 130). Commands pin the harness to its
own CPU; `main` gives the caller its CPUs back, so an in-process caller (a test, a notebook) is not
left on one CPU for everything it runs next."""

from __future__ import annotations

import signal
import sys

from harness.cli.parser import parser
from harness.errors import HarnessError
from harness.measure import launcher as measure
from harness.measure.runner import RunInterrupted


def _terminate(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)  # so children are killed and results saved
    caller_cpus = measure.available_cpus()
    try:
        return args.func(args)
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return 2  # also `compare`'s documented "error" status
    except KeyboardInterrupt as exc:
        measure.kill_all_children()
        print(
            f"harness: {exc if isinstance(exc, RunInterrupted) else 'interrupted'}", file=sys.stderr
        )
        return 130
    except BrokenPipeError:
        return 0
    finally:
        measure.pin_current_process(caller_cpus)
