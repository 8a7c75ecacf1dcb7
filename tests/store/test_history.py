"""history: the SQLite index over results files (staleness, rebuilds, locking, crashes) and
schema versions of the files it reads."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from builders import impl_result, repetition, run, workload_result

from harness.errors import HarnessError
from harness.model import Run
from harness.store import history
from harness.store import results as store

ROOT = Path(__file__).resolve().parents[2]
COMMIT_A = "abc1234" + "0" * 33
COMMIT_B = "def5678" + "0" * 33


def make_run(
    run_id: str,
    started_at: str,
    commit: str | None = None,
    status: str = "complete",
    workloads: tuple[str, ...] = ("demo",),
    **machine_changes,
) -> Run:
    r = run(
        [
            workload_result(name=n, impls=[impl_result("go", reps=[repetition()])])
            for n in workloads
        ],
        status=status,
        run_id=run_id,
    )
    return replace(
        r,
        started_at=started_at,
        machine=replace(r.machine, git_commit=commit, **machine_changes),
    )


def three_runs(folder: Path) -> list[Run]:
    """Saved newest first, so file order and time order differ."""
    runs = [
        make_run("r3", "2026-01-03T00:00:00+00:00", COMMIT_B),
        make_run("r1", "2026-01-01T00:00:00+00:00", COMMIT_A),
        make_run("r2", "2026-01-02T00:00:00+00:00", COMMIT_A, workloads=("demo", "gzip")),
    ]
    for r in runs:
        store.save_run(r, folder)
    return runs


def digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.json"))
    }


def run_python(code: str) -> subprocess.CompletedProcess:
    """Run a snippet with the harness and the test builders importable."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- the index -------------------------------------------------------------------------------


def test_index_lists_runs_oldest_first(tmp_path):
    three_runs(tmp_path)
    entries = history.refresh(tmp_path)
    assert [e.run_id for e in entries] == ["r1", "r2", "r3"]  # latest.json is not a run of its own
    first = entries[0]
    assert (first.file, first.status, first.git_commit, first.size) == (
        "r1.json",
        "complete",
        COMMIT_A,
        "quick",
    )
    assert entries[1].workloads == "demo,gzip"
    assert first.git_dirty is None
    assert (tmp_path / history.INDEX_NAME).is_file()
    assert history.refresh(tmp_path) == entries  # nothing changed: the same answer


def test_rewritten_file_updates_its_row_and_deleted_file_loses_it(tmp_path):
    three_runs(tmp_path)
    history.refresh(tmp_path)
    rewritten = make_run("r2", "2026-01-02T00:00:00+00:00", COMMIT_A, status="interrupted")
    path = store.save_run(rewritten, tmp_path)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))  # certainly a new mtime
    by_id = {e.run_id: e for e in history.refresh(tmp_path)}
    assert (by_id["r2"].status, by_id["r2"].workloads) == ("interrupted", "demo")
    (tmp_path / "r1.json").unlink()
    assert [e.run_id for e in history.refresh(tmp_path)] == ["r2", "r3"]


def test_file_that_becomes_unreadable_loses_its_row(tmp_path):
    three_runs(tmp_path)
    history.refresh(tmp_path)
    (tmp_path / "r3.json").write_text("{ truncated")
    assert [e.run_id for e in history.refresh(tmp_path)] == ["r1", "r2"]


def test_deleted_index_is_rebuilt(tmp_path):
    three_runs(tmp_path)
    before = history.refresh(tmp_path)
    (tmp_path / history.INDEX_NAME).unlink()
    assert history.refresh(tmp_path) == before


def test_index_of_another_version_is_rebuilt(tmp_path):
    """An index written by an older harness (other columns, other keys) is dropped, not trusted."""
    three_runs(tmp_path)
    with sqlite3.connect(tmp_path / history.INDEX_NAME) as db:
        db.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, file TEXT NOT NULL)")
        db.execute("INSERT INTO runs VALUES ('ghost', 'ghost.json')")
    db.close()
    assert [e.run_id for e in history.refresh(tmp_path)] == ["r1", "r2", "r3"]


def test_copy_of_a_file_is_a_second_entry(tmp_path):
    """Two files holding one run id (e.g. a baseline copied in) are both listed, stably."""
    three_runs(tmp_path)
    (tmp_path / "baseline.json").write_bytes((tmp_path / "r1.json").read_bytes())
    for _ in range(2):
        entries = history.refresh(tmp_path)
        assert sorted((e.run_id, e.file) for e in entries if e.run_id == "r1") == [
            ("r1", "baseline.json"),
            ("r1", "r1.json"),
        ]


def test_corrupt_index_is_a_clear_error(tmp_path):
    three_runs(tmp_path)
    (tmp_path / history.INDEX_NAME).write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(HarnessError, match=r"history\.sqlite: corrupt history index .*delete it"):
        history.refresh(tmp_path)


def test_comparability_key_follows_compare_conditions(tmp_path):
    store.save_run(make_run("a", "2026-01-01T00:00:00+00:00"), tmp_path)
    store.save_run(make_run("b", "2026-01-02T00:00:00+00:00", hostname="ci-runner-7"), tmp_path)
    store.save_run(
        make_run("c", "2026-01-03T00:00:00+00:00", go_version="go version go1.27.0"), tmp_path
    )
    a, b, c = history.refresh(tmp_path)
    assert a.comparability_key == b.comparability_key  # the hostname alone does not matter
    assert a.comparability_key != c.comparability_key
    assert c.toolchains == "go version go1.27.0 | rustc 1.90.0"


# --- resolve ---------------------------------------------------------------------------------


def test_resolve_by_commit_prefix_picks_the_newest_complete_run(tmp_path):
    three_runs(tmp_path)
    store.save_run(
        make_run("r4", "2026-01-04T00:00:00+00:00", COMMIT_A, status="interrupted"), tmp_path
    )
    assert history.resolve("abc1", tmp_path) == tmp_path / "r2.json"  # not r1 (older), not r4
    assert history.resolve("ABC1234", tmp_path) == tmp_path / "r2.json"
    assert history.resolve("def5678", tmp_path) == tmp_path / "r3.json"


def test_resolve_latest_run_id_and_path(tmp_path):
    three_runs(tmp_path)
    assert history.resolve("latest", tmp_path) == tmp_path / "latest.json"
    assert history.resolve("r1", tmp_path) == tmp_path / "r1.json"
    assert history.resolve(str(tmp_path / "r3.json"), tmp_path) == tmp_path / "r3.json"


def test_resolve_unknown_is_an_error(tmp_path):
    three_runs(tmp_path)
    with pytest.raises(HarnessError, match=r"^abc: not a results file, run id or commit"):
        history.resolve("abc", tmp_path)  # too short to be taken for a commit
    with pytest.raises(HarnessError, match=r"^0123abcd: not a results file"):
        history.resolve("0123abcd", tmp_path)
    with pytest.raises(HarnessError, match="no latest results"):
        history.resolve("latest", tmp_path / "empty")


# --- concurrency and crashes -----------------------------------------------------------------


def test_locked_index_is_reported_after_the_timeout(tmp_path, monkeypatch):
    three_runs(tmp_path)
    history.refresh(tmp_path)
    monkeypatch.setattr(history, "LOCK_TIMEOUT_SECONDS", 0.2)
    other = sqlite3.connect(tmp_path / history.INDEX_NAME, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(HarnessError, match=r"locked by another run \(waited 0\.2 s\)"):
            history.refresh(tmp_path)
        other.execute("ROLLBACK")
        assert [e.run_id for e in history.refresh(tmp_path)] == ["r1", "r2", "r3"]
    finally:
        other.close()


def test_writer_killed_inside_its_transaction_changes_nothing(tmp_path):
    three_runs(tmp_path)
    history.refresh(tmp_path)
    files_before = digest(tmp_path)
    done = run_python(
        f"""
        import os, signal, sqlite3
        db = sqlite3.connect({str(tmp_path / history.INDEX_NAME)!r}, isolation_level=None)
        db.execute("PRAGMA cache_size = 1")  # spill changed pages into the file before the kill
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM runs")
        db.execute(
            "INSERT INTO runs (file, run_id, mtime_ns, size_bytes, started_at, status, "
            "machine_id, toolchains, config_id, size, workloads) "
            "VALUES ('ghost.json', 'ghost', 0, 0, '', 'complete', '', '', '', '', '')"
        )
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    with sqlite3.connect(tmp_path / history.INDEX_NAME) as db:  # rolls the hot journal back
        assert sorted(r[0] for r in db.execute("SELECT run_id FROM runs")) == ["r1", "r2", "r3"]
    db.close()
    assert [e.run_id for e in history.refresh(tmp_path)] == ["r1", "r2", "r3"]
    assert digest(tmp_path) == files_before


def test_refresh_killed_partway_leaves_index_and_files_intact(tmp_path):
    """A real refresh of 6 new files over an index of 6, SIGKILLed while loading the 4th new one
    (3 rows inserted): none of them may be committed, and the next refresh finishes the job."""
    for i in range(6):
        store.save_run(make_run(f"r{i:02d}", f"2026-01-{i + 1:02d}T00:00:00+00:00"), tmp_path)
    history.refresh(tmp_path)
    for i in range(6, 12):
        store.save_run(make_run(f"r{i:02d}", f"2026-01-{i + 1:02d}T00:00:00+00:00"), tmp_path)
    files_before = digest(tmp_path)
    done = run_python(
        f"""
        import os, signal
        from pathlib import Path
        from harness.store import history
        real_load, calls = history.load_run, []
        def load_then_die(path):
            calls.append(path)
            if len(calls) == 4:
                os.kill(os.getpid(), signal.SIGKILL)
            return real_load(path)
        history.load_run = load_then_die
        history.refresh(Path({str(tmp_path)!r}))
        """
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert digest(tmp_path) == files_before
    with sqlite3.connect(tmp_path / history.INDEX_NAME) as db:
        committed = sorted(r[0] for r in db.execute("SELECT run_id FROM runs"))
    db.close()
    assert committed == [f"r{i:02d}" for i in range(6)]  # the index as it was before the kill
    entries = history.refresh(tmp_path)
    assert [e.run_id for e in entries] == [f"r{i:02d}" for i in range(12)]


def test_results_writer_killed_before_rename_keeps_the_old_file(tmp_path):
    old = store.run_to_json(make_run("r1", "2026-01-01T00:00:00+00:00")).encode()
    target = tmp_path / "r1.json"
    store.write_atomic(target, old)
    done = run_python(
        f"""
        import os, signal
        from pathlib import Path
        from harness.store import results as store
        os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)  # die after write + fsync
        store.write_atomic(Path({str(target)!r}), b"new" * 1000)
        """
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert target.read_bytes() == old
    assert [p.name for p in tmp_path.glob("*.json")] == ["r1.json"]
    (leftover,) = [p.name for p in tmp_path.iterdir() if p.name != "r1.json"]
    assert leftover.startswith(".r1.json.")
    assert leftover.endswith(".tmp")  # never mistaken for a results file
    assert [e.run_id for e in history.refresh(tmp_path)] == ["r1"]


def test_results_writer_killed_mid_write_never_leaves_half_a_file(tmp_path):
    """Killed as soon as its temporary file has bytes: the target is the old or the new file,
    whole, whichever moment the kill landed at."""
    old = b"old" * 1000
    target = tmp_path / "big.json"
    store.write_atomic(target, old)
    size = 256 << 20
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from harness import store; "
            f"store.write_atomic(Path(sys.argv[1]), b'n' * {size})",
            str(target),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        temporaries = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        if temporaries and temporaries[0].stat().st_size > 0:
            break
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert [p.name for p in tmp_path.glob("*.json")] == ["big.json"]
    final = target.stat().st_size
    assert final in (len(old), size)
    if final == len(old):
        assert target.read_bytes() == old


# --- schema versions -------------------------------------------------------------------------


def test_newer_schema_version_is_refused_and_not_indexed(tmp_path):
    three_runs(tmp_path)
    data = json.loads(store.run_to_json(make_run("future", "2026-02-01T00:00:00+00:00")))
    data["schema_version"] = store.SCHEMA_VERSION + 1
    (tmp_path / "future.json").write_text(json.dumps(data))
    newer = store.SCHEMA_VERSION + 1
    with pytest.raises(HarnessError, match=f"schema_version {newer} is newer than this harness"):
        store.load_run(tmp_path / "future.json")
    assert [e.run_id for e in history.refresh(tmp_path)] == ["r1", "r2", "r3"]


def v0_file(folder: Path) -> Path:
    """A results file as a (simulated) version 0 wrote it: `cpu` where v1 says `cpu_model`."""
    data = json.loads(store.run_to_json(make_run("old", "2025-12-31T00:00:00+00:00", COMMIT_A)))
    data["schema_version"] = 0
    data["machine"]["cpu"] = data["machine"].pop("cpu_model")
    path = folder / "old.json"
    path.write_text(json.dumps(data))
    return path


def test_older_schema_version_is_migrated(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "SCHEMA_VERSION", 1)  # as when version 1 was current
    applied = []

    def v0_to_v1(data: dict) -> dict:
        applied.append(data["run_id"])
        machine = {**data["machine"], "cpu_model": data["machine"]["cpu"]}
        del machine["cpu"]
        return {**data, "machine": machine, "schema_version": 1}

    path = v0_file(tmp_path)
    with pytest.raises(HarnessError, match="schema_version 0 has no migration to 1"):
        store.load_run(path)
    monkeypatch.setattr(store, "MIGRATIONS", {0: v0_to_v1})
    loaded = store.load_run(path)
    assert applied == ["old"]
    assert loaded.machine.cpu_model == "Test CPU @ 3.0GHz"
    assert loaded.schema_version == 1
    (entry,) = history.refresh(tmp_path)  # the index reads migrated files too
    assert (entry.run_id, entry.git_commit) == ("old", COMMIT_A)


def test_migration_chain_to_a_newer_current_version(tmp_path, monkeypatch):
    """With SCHEMA_VERSION bumped to 2, a v0 file goes through 0 -> 1 -> 2, in order."""
    order = []

    def step(version: int):
        def migrate(data: dict) -> dict:
            order.append(version)
            machine = dict(data["machine"])
            if "cpu" in machine:
                machine["cpu_model"] = machine.pop("cpu")
            return {**data, "machine": machine, "schema_version": version + 1}

        return migrate

    monkeypatch.setattr(store, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(store, "MIGRATIONS", {0: step(0), 1: step(1)})
    loaded = store.load_run(v0_file(tmp_path))
    assert order == [0, 1]
    assert loaded.schema_version == 2
