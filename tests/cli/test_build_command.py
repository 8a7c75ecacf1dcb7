"""`harness build` builds Go and Rust side by side (make bench runs it beside the load
generator's compile), each implementation once, then the race builds `run` will check, and fails
when any build failed."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from builders import build_record

from harness.cli import build as build_command
from harness.cli.parser import parser


def fake_builder(spans: list, fail: set[str] = frozenset()):
    lock = threading.Lock()

    class FakeBuilder:
        def __init__(self, cache_dir, flavour=None, **_kwargs):
            self.flavour = flavour.name if flavour else ""

        def build(self, workload, impl):
            started = time.monotonic()
            time.sleep(0.05)
            with lock:
                name = f"{self.flavour} {workload.name} {impl.key}".strip()
                spans.append((impl.lang, name, started, time.monotonic()))
            return build_record(impl.lang, impl.variant, workload.name, ok=impl.key not in fail)

    return FakeBuilder


def build(tmp_path, monkeypatch, spans, fail=frozenset(), *extra: str) -> int:
    monkeypatch.setattr(build_command, "Builder", fake_builder(spans, fail))
    argv = ["--cache-dir", str(tmp_path), "build", "--workloads", "gzip,json,pipeline", *extra]
    args = parser().parse_args(argv)
    return args.func(args)


def test_go_and_rust_build_at_the_same_time_and_each_implementation_once(tmp_path, monkeypatch):
    spans: list = []
    assert build(tmp_path, monkeypatch, spans) == 0
    names = [name for _, name, _, _ in spans]
    assert len(names) == len(set(names)) and {"gzip go/default", "json rust/default"} <= set(names)
    go = [(s, e) for lang, _, s, e in spans if lang == "go"]
    rust = [(s, e) for lang, _, s, e in spans if lang == "rust"]
    overlapping = any(s1 < e2 and s2 < e1 for s1, e1 in go for s2, e2 in rust)
    assert overlapping, "the Go and Rust builds ran one after the other"


def test_one_failed_build_fails_the_command_and_the_others_still_build(tmp_path, monkeypatch):
    spans: list = []
    assert build(tmp_path, monkeypatch, spans, fail={"rust/default"}) == 1
    assert {"gzip go/default", "json go/default", "json rust/sonic-rs"} <= {
        n for _, n, _, _ in spans
    }


def test_the_race_builds_run_checks_are_built_too_unless_the_check_is_off(tmp_path, monkeypatch):
    spans: list = []
    assert build(tmp_path, monkeypatch, spans) == 0
    assert {n for _, n, _, _ in spans if n.startswith("race ")} == {"race pipeline go/default"}
    spans.clear()
    assert build(tmp_path, monkeypatch, spans, frozenset(), "--no-race-check") == 0
    assert not [n for _, n, _, _ in spans if n.startswith("race ")]


def test_a_go_rust_hybrid_builds_in_the_rust_lane_not_beside_cargo(tmp_path, monkeypatch):
    """Its cargo step would wait on the Rust lane's lock on the target folder, stalling Go's."""
    spans: list = []
    assert build(tmp_path, monkeypatch, spans) == 0
    (hybrid,) = [(s, e) for _, n, s, e in spans if n == "json go/cgo-rust"]
    rust = [(s, e) for lang, _, s, e in spans if lang == "rust"]
    assert not any(hybrid[0] < e and s < hybrid[1] for s, e in rust)


def test_build_warns_once_about_a_code_changing_setting_and_never_about_vcs_stamping(
    tmp_path, monkeypatch
):
    from dataclasses import replace

    class Flagged:
        def __init__(self, cache_dir, flavour=None, **_kwargs):
            self.flavour = flavour

        def build(self, workload, impl):
            record = build_record(impl.lang, impl.variant, workload.name)
            if impl.lang == "go":
                return replace(
                    record,
                    environment={"GOFLAGS": "-buildvcs=false"},
                    environment_changes=("GOFLAGS='-buildvcs=false' (default '')",),
                )
            return replace(
                record,
                environment={"RUSTFLAGS": "-C target-cpu=native"},
                environment_changes=("RUSTFLAGS='-C target-cpu=native'",),
            )

    lines: list[str] = []
    monkeypatch.setattr(build_command, "Builder", Flagged)
    monkeypatch.setattr(build_command, "progress_view", lines.append)
    args = parser().parse_args(["--cache-dir", str(tmp_path), "build", "--workloads", "gzip,json"])
    assert args.func(args) == 0
    warnings = [line for line in lines if "warning" in line]
    assert len(warnings) == 1 and "RUSTFLAGS='-C target-cpu=native'" in warnings[0]
    assert re.search(r"\(all \d+ Rust builds\)", warnings[0])  # every Rust build had it
    assert "buildvcs" not in " ".join(lines)


def make_dry_run(*arguments: str) -> subprocess.CompletedProcess:
    """What `make -n` would run for these targets and variables, in this checkout."""
    return subprocess.run(
        ["make", "-n", "--no-print-directory", *arguments],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )


def test_make_bench_builds_beside_the_load_generator_before_it_measures():
    """README "What it costs": oha compiles beside `harness build`, which yields to it (nice), and
    `harness run` comes after."""
    done = make_dry_run("bench", "QUICK=1")
    lines = done.stdout.splitlines()
    parallel = next(i for i, line in enumerate(lines) if "-j2 tools build-workloads" in line)
    built = next(i for i, line in enumerate(lines) if "-m harness build" in line)
    measured = next(i for i, line in enumerate(lines) if "-m harness run" in line)
    assert parallel < built < measured
    assert lines[built].lstrip().startswith("nice -n 10 ")


def test_make_test_builds_the_workloads_beside_the_load_generator_before_pytest():
    """Makefile `test`: the suite's one cold build (tests/conftest.py `workspace_build`) is done by
    `harness build` beside oha's compile and the Debian packages, before pytest starts, so the
    first end-to-end test finds every program cached (CI time, docs/measured-results.md)."""
    done = make_dry_run("test")
    lines = done.stdout.splitlines()
    parallel = next(
        i for i, line in enumerate(lines) if "-j3 tools build-workloads test-packages" in line
    )
    built = next(i for i, line in enumerate(lines) if "-m harness build" in line)
    tested = next(i for i, line in enumerate(lines) if "-m pytest" in line)
    assert parallel < built < tested


@pytest.mark.parametrize(
    ("variables", "defaults_only"),
    [(["QUICK=1"], True), (["QUICK=1", "VARIANTS=1"], False), ([], False)],
)
def test_the_smoke_run_builds_and_measures_the_default_pairs(variables, defaults_only):
    """README: `make bench QUICK=1` builds and measures each workload's defaults (VARIANTS=1 adds
    the variants); the full `make bench` always has them."""
    done = make_dry_run("bench", *variables)
    commands = [
        line for line in done.stdout.splitlines() if re.search(r"-m harness (build|run)\b", line)
    ]
    assert len(commands) == 2
    assert all(("--defaults-only" in line) == defaults_only for line in commands), commands


def test_the_venv_is_installed_by_uv_with_its_bytecode_compiled():
    """Makefile / docs/measured-results.md: uv installs the package (the builds wait for it), and
    compiles the bytecode, since this machine sets PYTHONDONTWRITEBYTECODE=1 and every harness
    command would otherwise recompile its imports."""
    done = make_dry_run("-B", ".venv/.installed")
    (install,) = [line for line in done.stdout.splitlines() if "-e '.[dev]'" in line]
    assert install.startswith(".venv/bin/uv pip install ") and "--compile-bytecode" in install
