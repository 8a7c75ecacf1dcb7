"""Scratch copies of the workloads for the benchmarks that drive the real CLI on them."""

from __future__ import annotations

import re
import shutil
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


def copy_workloads(target: Path, manifests: Mapping[str, Mapping[str, int] | None]) -> Path:
    """`target`/workloads: the Go module and Cargo workspace (no build output) and the named
    manifests, trimmed by `defaults_only`."""
    workloads = target / "workloads"
    shutil.copytree(ROOT / "workloads" / "go", workloads / "go")
    shutil.copytree(
        ROOT / "workloads" / "rust", workloads / "rust", ignore=shutil.ignore_patterns("target")
    )
    for name, quick in manifests.items():
        text = (ROOT / "workloads" / f"{name}.toml").read_text()
        (workloads / f"{name}.toml").write_text(defaults_only(text, quick))
    return workloads
