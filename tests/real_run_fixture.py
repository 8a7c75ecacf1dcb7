"""Regenerate tests/fixtures/real-quick-run.json.gz: the results of a real quick run of the whole
default suite, which tests/report/test_report_browser.py renders with the current report code to
check that nothing on the page is wider than the screen or the A4 page. Invented fixtures miss
tables only a real run has (sha256-calls' per-grain columns made a real report 1421 px wide while
every fixture fitted), so this one is measured, not built.

    python tests/real_run_fixture.py                         # a fresh quick run (a few minutes)
    python tests/real_run_fixture.py --cache-dir DIR         # ... reusing the builds cached in DIR
    python tests/real_run_fixture.py results/<run-id>.json   # compress a run you already have

`make fixture-real-run` is the first form. The file is the run's results JSON as the harness wrote
it, gzip-compressed (level 9, no timestamp in the header): nothing is dropped or edited. Rerun it
when the default suite gains a workload (the test says so) or when a change to the report needs a
section the fixture lacks. Nothing here runs in `make test`.
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURE = HERE / "fixtures" / "real-quick-run.json.gz"
sys.path[:0] = [str(ROOT)]

from harness.store.results import load_run, write_atomic  # noqa: E402


def _quick_run(cache_dir: str | None, results_dir: Path) -> Path:
    """Run the default suite at quick size through the real CLI; the results file it wrote."""
    command = [sys.executable, "-m", "harness", "--results-dir", str(results_dir)]
    if cache_dir:
        command += ["--cache-dir", cache_dir]
    subprocess.run([*command, "run", "--size", "quick"], cwd=ROOT, check=True)
    return results_dir / "latest.json"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", help="an existing results file (default: run now)")
    parser.add_argument(
        "--cache-dir", help="the harness's build cache, as for `harness --cache-dir`"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(args.results) if args.results else _quick_run(args.cache_dir, Path(scratch))
        run = load_run(source)  # refuses a file the harness cannot read
        if run.config.size != "quick" or run.status != "complete":
            print(f"{source}: a {run.config.size} run, {run.status}; want a complete quick run")
            return 1
        data = gzip.compress(source.read_bytes(), compresslevel=9, mtime=0)
    write_atomic(FIXTURE, data)
    print(f"{FIXTURE.relative_to(ROOT)}: run {run.run_id}, {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
