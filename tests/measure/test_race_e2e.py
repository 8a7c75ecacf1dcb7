"""The race check through the real race build and run: the fixture's Go counter with a mutex is
clean, its twin without one is caught by the detector and fails, unmeasured; the race binary has
its own cache slot and the measured one is the normal build; the Rust twin's own source has no
unsafe (the word appears only in its comments and strings). tests/fixtures/racy holds the fixture;
it is copied so that cargo's target folder never lands in the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from builders import machine, run_config

from harness import config
from harness.build import toolchains
from harness.build.builder import Builder, cgo_unavailable
from harness.measure.launcher import SubprocessExecutor, ensure_launcher
from harness.measure.race import RACE_BUILD, RaceChecker, race_gomaxprocs
from harness.measure.runner import build_all, run_suite

pytestmark = pytest.mark.e2e
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "racy"


@pytest.fixture
def racy(tmp_path, monkeypatch):
    """The fixture's workloads folder, copied; the Rust build's target folder inside the copy."""
    if toolchains.tool_version("go") is None or toolchains.tool_version("cargo") is None:
        pytest.skip("needs go and cargo")
    if cgo_unavailable(os.environ):
        pytest.skip(f"go build -race needs cgo: {cgo_unavailable(os.environ)}")
    monkeypatch.delenv("CARGO_TARGET_DIR", raising=False)
    folder = tmp_path / "racy"
    shutil.copytree(FIXTURE, folder)
    return config.load_workloads(folder)


def _build_settings(binary: str) -> str:
    done = subprocess.run(["go", "version", "-m", binary], capture_output=True, text=True)
    return done.stdout


def test_the_racy_twin_is_caught_and_the_clean_one_records_clean(racy, tmp_path):
    counter = racy["counter"]
    cache = tmp_path / "cache"
    executor = SubprocessExecutor(ensure_launcher(cache))
    builds = build_all(counter, Builder(cache), lambda _: None)
    notes: list[str] = []
    checks = RaceChecker(cache, executor)(
        counter, builds, run_config(cpu_affinity=None), notes.append
    )
    clean, caught = checks.race
    assert (clean.key, clean.status, clean.report) == ("go/default", "clean", None)
    assert (
        clean.exercised
        == f"one run at quick size, GOMAXPROCS={race_gomaxprocs(None)}: go-race-counter-"
        + clean.source_hash[:16]
        + " 4 1000"
    )
    assert clean.run_seconds > 0 and clean.build_seconds > 0
    assert (caught.key, caught.status) == ("go/racy", "race")
    assert caught.report.startswith("WARNING: DATA RACE\n")
    assert "racyfixture/counter-racy/main.go:" in caught.report
    assert checks.racy()["go/racy"].startswith("race detector: DATA RACE: ")
    assert any(n.startswith("RACE DETECTED race check counter go/racy") for n in notes)
    assert any("race check counter go/default: race detector: clean" in n for n in notes)

    # the race binary sits in its own cache slot; the measured one is the normal build
    race_build = Builder(cache, flavour=RACE_BUILD).build(counter, counter.implementations[0])
    assert race_build.cached and race_build.source_hash == clean.source_hash
    measured = builds["go/default"]
    assert measured.binary_path != race_build.binary_path
    assert Path(race_build.binary_path).name == f"go-race-counter-{race_build.source_hash[:16]}"
    assert Path(race_build.binary_path).parent == cache.resolve() / "bin"
    assert "-race=true" in _build_settings(race_build.binary_path)
    assert "-race=true" not in _build_settings(measured.binary_path)
    assert "CGO_ENABLED=0" in _build_settings(measured.binary_path)
    assert "flags -race" in race_build.flags and "CGO_ENABLED=1" in race_build.flags


def test_a_run_fails_the_racy_variant_and_measures_the_rest(racy, tmp_path):
    cache = tmp_path / "cache"
    executor = SubprocessExecutor(ensure_launcher(cache))
    run, _ = run_suite(
        [racy["counter"]],
        run_config(warmups=0, repetitions=2, cpu_affinity=None, size="quick"),
        machine(),
        Builder(cache),
        executor,
        tmp_path / "results",
        cache,
        race_check=RaceChecker(cache, executor),
    )
    result = run.workloads[0]
    statuses = {r.key: r.status for r in result.implementations}
    assert statuses == {"go/default": "ok", "go/racy": "failed", "rust/default": "ok"}
    assert result.status == "ok"  # the checksums of the pair agree; the variant fails itself
    racy_result = result.result_for("go/racy")
    assert racy_result.error.startswith("race detector: DATA RACE: ")
    assert racy_result.repetitions == ()  # no figure of a racy program
    assert len(result.result_for("go/default").repetitions) == 2
    assert [(c.key, c.status) for c in result.race_checks] == [
        ("go/default", "clean"),
        ("go/racy", "race"),
    ]
    (unsafe,) = result.unsafe_counts
    assert (unsafe.key, unsafe.count, unsafe.files) == (
        "rust/default",
        0,
        ("crates/counter/src/main.rs",),
    )
