"""Where the commands print: tables and results on stdout, progress and notes on stderr."""

from __future__ import annotations

import sys

from rich.console import Console

from harness.cli.progress import ProgressView

console = Console(stderr=True, highlight=False)
# Under make or CI stdout is not a terminal: give tables room instead of rich's 80-column default.
stdout_console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)

progress_view = ProgressView(console)
