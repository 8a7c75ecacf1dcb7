"""Race-built servers through the real lifecycle and load generator: the fixture's hit counter
without a lock is caught once requests run at once, its twin with one is clean, and the
repository's own Go servers (http-json, kv-cache) are clean on what a quick-size phase exercises.
Only the Go race builds are built here (in GOCACHE and a cache of this test's own)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from builders import build_record, run_config

from harness import config
from harness.build import toolchains
from harness.build.builder import cgo_unavailable
from harness.measure.launcher import SubprocessExecutor, available_cpus, ensure_launcher
from harness.measure.race import RaceChecker
from harness.servers import loadgen
from harness.servers.protocol import ServerRunner, default_settings
from harness.servers.race import ServerRace

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


@pytest.fixture
def checker(tmp_path):
    if toolchains.tool_version("go") is None:
        pytest.skip("needs go")
    if cgo_unavailable(os.environ):
        pytest.skip(f"go build -race needs cgo: {cgo_unavailable(os.environ)}")
    available = available_cpus()
    server_cpus, loadgen_cpus = (
        ((available[-1],), (available[0],)) if len(available) > 1 else (None, None)
    )
    settings = default_settings("quick", "oha", server_cpus, loadgen_cpus)
    cache = tmp_path / "cache"
    launcher = ensure_launcher(cache)
    executor = SubprocessExecutor(launcher)
    runner = ServerRunner(loadgen.find_oha(ROOT / "tools"), settings, tmp_path, launcher)
    return RaceChecker(cache, executor, ServerRace(runner, executor)), run_config(
        server=settings, cpu_affinity=server_cpus
    )


def _unbuilt(workload):
    return {
        i.key: build_record(i.lang, i.variant, workload.name, ok=False, error="not built here")
        for i in workload.implementations
    }


def test_a_racy_server_is_caught_and_its_locked_twin_is_clean(checker, tmp_path):
    race_checker, run_config_ = checker
    folder = tmp_path / "racy"
    shutil.copytree(ROOT / "tests" / "fixtures" / "racy" / "go", folder / "go")
    shutil.copy(ROOT / "tests" / "fixtures" / "racy" / "hits.toml", folder)
    hits = config.load_workloads(folder)["hits"]
    notes: list[str] = []
    checks = race_checker(hits, _unbuilt(hits), run_config_, notes.append)
    clean, caught = checks.race
    assert (clean.key, clean.status) == ("go/default", "clean"), clean.reason
    assert "requests of streams hit in a 1 s closed-loop phase" in clean.exercised
    assert clean.exercised.endswith("at quick size, GOMAXPROCS=2")  # two Ps on its one CPU
    assert (caught.key, caught.status) == ("go/racy", "race"), caught.reason
    assert caught.report.startswith("WARNING: DATA RACE\n")
    assert "racyfixture/hits-racy/main.go:" in caught.report
    assert checks.racy()["go/racy"].startswith("race detector: DATA RACE: ")
    assert any(n.startswith("RACE DETECTED race check hits go/racy") for n in notes)
    (unsafe,) = checks.unsafe
    assert unsafe.count is None and unsafe.reason == "not built: not built here"


@pytest.mark.parametrize("name", ["http-json", "kv-cache"])
def test_the_repositorys_go_servers_are_clean_at_quick_size(checker, name):
    race_checker, run_config_ = checker
    workload = config.load_workloads(ROOT / "workloads")[name]
    (check,) = race_checker(workload, _unbuilt(workload), run_config_).race
    assert check.status == "clean", check.report or check.reason
    assert check.exercised.startswith("start-up, /health, then ")
    requests = int(check.exercised.split("then ")[1].split(" requests")[0].replace(",", ""))
    assert requests > 0
