"""An SQLite index over the results files, so runs can be found by commit, branch and machine.

The JSON files stay the source of truth: the index is rebuilt from them whenever a file is new,
changed (mtime or size) or gone, and can be deleted at any time. Writes happen in one transaction,
so a writer killed mid-way leaves the previous index intact; a concurrent writer holding the lock
is waited for (busy timeout), then reported as a clear error. A file that cannot be read as a run
(corrupt, cut short, from a newer harness) is kept in a table of its own with the reason, so
`harness history` can name it instead of leaving it out without a word.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.model import Run, measurement_conditions
from harness.store.results import LATEST_NAME, load_run

INDEX_NAME = "history.sqlite"
LOCK_TIMEOUT_SECONDS = 10.0
# Bumped whenever a column or a derived key changes: an index of another version is dropped and
# rebuilt from the files (otherwise rows of unchanged files would keep stale keys).
INDEX_VERSION = 3
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    file TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    status TEXT NOT NULL,
    git_commit TEXT,
    git_branch TEXT,
    git_dirty INTEGER,
    machine_id TEXT NOT NULL,
    toolchains TEXT NOT NULL,
    config_id TEXT NOT NULL,
    size TEXT NOT NULL,
    workloads TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_commit ON runs (git_commit);
CREATE TABLE IF NOT EXISTS unreadable (
    file TEXT PRIMARY KEY,
    mtime_ns INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    reason TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class RunEntry:
    run_id: str
    file: str
    started_at: str
    status: str
    git_commit: str | None
    git_branch: str | None
    git_dirty: bool | None
    machine_id: str
    toolchains: str
    config_id: str
    size: str
    workloads: str

    @property
    def comparability_key(self) -> tuple[str, str, str]:
        """Runs sharing this key were measured under the same conditions (model.measurement_conditions):
        `harness compare` accepts any two of them without --allow-mixed."""
        return (self.machine_id, self.toolchains, self.config_id)


@dataclass(frozen=True)
class UnreadableFile:
    file: str
    reason: str  # the one-line error load_run gave, naming the file


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _connect(results_dir: Path) -> sqlite3.Connection:
    results_dir.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(results_dir / INDEX_NAME, timeout=LOCK_TIMEOUT_SECONDS)
    connection.row_factory = sqlite3.Row
    return connection


def refresh(results_dir: Path) -> list[RunEntry]:
    """Bring the index in line with the results files and return every run, oldest first."""
    files = {p.name: p for p in results_dir.glob("*.json") if p.name != LATEST_NAME}
    try:
        with closing(_connect(results_dir)) as db, db:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time; others wait up to the timeout
            if db.execute("PRAGMA user_version").fetchone()[0] != INDEX_VERSION:
                db.execute("DROP TABLE IF EXISTS runs")
                db.execute("DROP TABLE IF EXISTS unreadable")
                db.execute(f"PRAGMA user_version = {INDEX_VERSION}")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            indexed = {
                row["file"]: row
                for table in ("runs", "unreadable")
                for row in db.execute(f"SELECT file, mtime_ns, size_bytes FROM {table}")
            }
            for name in set(indexed) - set(files):
                db.execute("DELETE FROM runs WHERE file = ?", (name,))
                db.execute("DELETE FROM unreadable WHERE file = ?", (name,))
            for name, path in files.items():
                stat = path.stat()
                row = indexed.get(name)
                if (
                    row
                    and row["mtime_ns"] == stat.st_mtime_ns
                    and row["size_bytes"] == stat.st_size
                ):
                    continue
                try:
                    run = load_run(path)
                except HarnessError as exc:
                    # not a results file we can read (any more): it must not keep an old row
                    db.execute("DELETE FROM runs WHERE file = ?", (name,))
                    db.execute(
                        "INSERT OR REPLACE INTO unreadable VALUES (?,?,?,?)",
                        (name, stat.st_mtime_ns, stat.st_size, str(exc)),
                    )
                    continue
                db.execute("DELETE FROM unreadable WHERE file = ?", (name,))
                conditions = measurement_conditions(run)
                m = run.machine
                db.execute(
                    "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        name,
                        run.run_id,
                        stat.st_mtime_ns,
                        stat.st_size,
                        run.started_at,
                        run.status,
                        m.git_commit,
                        m.git_branch,
                        None if m.git_dirty is None else int(m.git_dirty),
                        _digest(conditions["machine"]),
                        f"{m.go_version} | {m.rustc_version}",
                        _digest(
                            [conditions["input size"], conditions["CPU pinning"]]
                            # one-machine runs keep the key they had before schema 10
                            + ([conditions["load hosts"]] if run.topology else [])
                        ),
                        run.config.size,
                        ",".join(w.name for w in run.workloads),
                    ),
                )
            rows = db.execute("SELECT * FROM runs ORDER BY started_at, run_id").fetchall()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise HarnessError(
                f"{results_dir / INDEX_NAME}: history index is locked by another run "
                f"(waited {LOCK_TIMEOUT_SECONDS:g} s); try again when it finishes"
            ) from exc
        raise HarnessError(f"{results_dir / INDEX_NAME}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise HarnessError(
            f"{results_dir / INDEX_NAME}: corrupt history index ({exc}); "
            "delete it and it will be rebuilt from the results files"
        ) from exc
    return [
        RunEntry(
            run_id=r["run_id"],
            file=r["file"],
            started_at=r["started_at"],
            status=r["status"],
            git_commit=r["git_commit"],
            git_branch=r["git_branch"],
            git_dirty=None if r["git_dirty"] is None else bool(r["git_dirty"]),
            machine_id=r["machine_id"],
            toolchains=r["toolchains"],
            config_id=r["config_id"],
            size=r["size"],
            workloads=r["workloads"],
        )
        for r in rows
    ]


def unreadable(results_dir: Path) -> list[UnreadableFile]:
    """The files the last `refresh` could not read as runs, with the reason, by file name."""
    try:
        with closing(_connect(results_dir)) as db:
            rows = db.execute("SELECT file, reason FROM unreadable ORDER BY file").fetchall()
    except sqlite3.DatabaseError as exc:
        raise HarnessError(f"{results_dir / INDEX_NAME}: {exc}") from exc
    return [UnreadableFile(file=r["file"], reason=r["reason"]) for r in rows]


def resolve(spec: str, results_dir: Path) -> Path:
    """A results file path, 'latest', a run id, or a git commit (prefix) from the history: the
    newest complete run of that commit."""
    if spec == "latest":
        path = results_dir / LATEST_NAME
        if not path.exists():
            raise HarnessError(f"{path}: no latest results; run `harness run` first")
        return path
    if Path(spec).is_file():
        return Path(spec)
    if (results_dir / f"{spec}.json").is_file():
        return results_dir / f"{spec}.json"
    if len(spec) >= 4 and all(c in "0123456789abcdef" for c in spec.lower()):
        matches = [
            e
            for e in refresh(results_dir)
            if e.git_commit and e.git_commit.startswith(spec.lower()) and e.status == "complete"
        ]
        clean = [e for e in matches if e.git_dirty is False]  # a dirty tree is not that commit
        if clean or matches:
            return results_dir / (clean or matches)[-1].file
    raise HarnessError(f"{spec}: not a results file, run id or commit found in {results_dir}")


def entries_as_json(entries: list[RunEntry]) -> str:
    return json.dumps([asdict(e) for e in entries], indent=1) + "\n"


def recent_runs(results_dir: Path, size: str) -> Iterator[Run]:
    """Runs of `size` in the folder, newest first, read one at a time (a caller that has what it
    needs stops reading); a file that cannot be read any more is passed over."""
    if not results_dir.is_dir():
        return
    for entry in reversed(refresh(results_dir)):
        if entry.size != size:
            continue
        try:
            yield load_run(results_dir / entry.file)
        except HarnessError:
            continue
