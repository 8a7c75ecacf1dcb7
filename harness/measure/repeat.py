"""`python -m harness.measure.repeat N REPORT LAUNCHER PROGRAM [ARG...]`: run the measuring launcher N
times in a row, the i-th writing its report to REPORT.i, stopping at the first failure.

Why: `perf record` costs about half a second to start and stop on this VM, more than a quick
program runs, so profiling.py profiles all runs of a short program in one perf session around
this loop; each launcher report names its program's pid, which is how the samples of the
program are told from this loop's own. No shell is involved.
"""

from __future__ import annotations

import subprocess
import sys


def main(argv: list[str]) -> int:
    count, report, launcher, *program = argv
    for index in range(int(count)):
        done = subprocess.run([launcher, f"{report}.{index}", *program], check=False)
        if done.returncode != 0:
            return done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
