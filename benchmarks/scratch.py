"""Scratch copies of the workloads for the benchmarks that drive the real CLI on them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def defaults_only(text: str, quick: Mapping[str, int] | None = None) -> str:
    """A manifest's text with only its default implementations, and with `quick` (when given) as
    its [params.quick] table."""
    head, *impls = text.split("[[implementations]]")
    kept = [b for b in impls if re.search(r'^variant = "default"', b, re.M)]
    if quick is not None:
        out, in_quick = [], False
        for line in head.splitlines():
            if line.startswith("[params.quick]"):
                in_quick = True
                out += ["[params.quick]", *(f"{k} = {v}" for k, v in quick.items())]
                continue
            if in_quick and (line.startswith("[") or not line.strip()):
                in_quick = False
            if not in_quick:
                out.append(line)
        head = "\n".join(out) + "\n"
    return head + "".join("[[implementations]]" + b for b in kept)


def copy_workloads(
    target: Path, manifests: Mapping[str, Mapping[str, int] | None], every_variant: bool = False
) -> Path:
    """`target`/workloads: the Go module and Cargo workspace (no build output) and the named
    manifests, trimmed by `defaults_only` (or as they are, every variant, when asked)."""
    workloads = target / "workloads"
    shutil.copytree(ROOT / "workloads" / "go", workloads / "go")
    shutil.copytree(
        ROOT / "workloads" / "rust", workloads / "rust", ignore=shutil.ignore_patterns("target")
    )
    for name, quick in manifests.items():
        text = (ROOT / "workloads" / f"{name}.toml").read_text()
        if not every_variant:
            text = defaults_only(text, quick)
        (workloads / f"{name}.toml").write_text(text)
    return workloads


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def harness_ab(
    repo: Path, workloads: str, cache: Path, results: Path, *extra: str
) -> tuple[int, float, dict]:
    """`harness ab main --format json` on the scratch repository's working tree, as CI runs it
    (`extra`: more options, e.g. --size full): (exit status, seconds, the comparison). Exit 2 (an
    error) fails the benchmark; 3 (inconclusive) is a result."""
    argv = [
        sys.executable,
        "-m",
        "harness",
        "--workloads-dir",
        str(repo / "workloads"),
        "--results-dir",
        str(results),
        "--cache-dir",
        str(cache),
        "ab",
        "main",
        "--workloads",
        workloads,
        "--format",
        "json",
        *extra,
    ]
    started = time.perf_counter()
    done = subprocess.run(
        argv, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    assert done.returncode in (0, 1, 3), f"harness ab: exit {done.returncode}: {done.stderr}"
    return done.returncode, seconds, json.loads(done.stdout)
