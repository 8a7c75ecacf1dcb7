"""The fault suite: each fault a hostile user or a broken program can cause, through the real command
(`cli.main`, or `python tests/scripted.py` when a real process must be signalled), checking the
exit status, the message, what is on disk afterwards and that nothing the test started is left
running. docs/faults.md is the table of these faults and their outcomes.

Workloads here are shell scripts run through the real launcher and executor (tests/scripted.py);
only the loopback test builds a real (Go) server.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import scripted
from builders import run as built_run
from builders import small_run
from scripted import OK, add_workload, common_args, recorded_pids

from harness.cli import run as run_command
from harness.errors import HarnessError
from harness.measure import runner
from harness.measure.launcher import STDERR_TAIL_CHARS
from harness.store import results as store

ROOT = Path(__file__).resolve().parent.parent
RUN = ["run", "--size", "quick", "--repetitions", "1", "--warmups", "0", "--pin", "none"]
RUN += ["--timeout", "10", "--no-build-profile", "--sample-interval", "0"]


def hang(workloads: Path) -> str:
    """A script body that starts a child, records its pid and waits for it."""
    return f"sleep 300 &\necho $! >> '{workloads.resolve() / 'pids'}'\nwait"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One cache (the compiled launcher) for the whole suite."""
    return tmp_path_factory.mktemp("cache")


class Harness:
    """The CLI in this process (with the script builder) over one test's folders."""

    def __init__(self, tmp: Path, cache_dir: Path, monkeypatch, capsys):
        self.tmp = tmp
        self.workloads = tmp / "workloads"
        self.results = tmp / "results"
        self.cache_dir = cache_dir
        self._monkeypatch = monkeypatch
        self._capsys = capsys
        self.workloads.mkdir()

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        """(exit status, stdout, stderr) of one command."""
        self._capsys.readouterr()
        code = scripted.run_cli([*common_args(self.tmp, self.cache_dir), *argv], self._monkeypatch)
        out, err = self._capsys.readouterr()
        return code, out, err

    def spawn(self, *argv: str, stderr_path: Path) -> subprocess.Popen:
        """The same command as a real process of its own, to be signalled."""
        with stderr_path.open("wb") as stderr:
            return subprocess.Popen(
                scripted.subprocess_argv([*common_args(self.tmp, self.cache_dir), *argv]),
                env=scripted.environment(),
                cwd=self.tmp,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                preexec_fn=_reset_sigint,
            )

    def files(self) -> dict[str, bytes]:
        """Every file in the results folder (the history index aside), with its bytes."""
        if not self.results.exists():
            return {}
        return {
            p.name: p.read_bytes()
            for p in sorted(self.results.iterdir())
            if p.is_file() and p.name != "history.sqlite"
        }

    def latest(self):
        return store.load_run(self.results / "latest.json")


def _reset_sigint() -> None:
    # a test run from a background shell inherits SIGINT ignored; the child must feel it
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def harness(tmp_path, cache_dir, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # whatever a program writes by mistake lands here
    h = Harness(tmp_path, cache_dir, monkeypatch, capsys)
    yield h
    # nothing the test started is left: no child of this process, no process a script recorded
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (_children() or _alive(recorded_pids(h.workloads))):
        time.sleep(0.05)
    assert _children() == []
    assert _alive(recorded_pids(h.workloads)) == []


def _children() -> list[psutil.Process]:
    return [
        p
        for p in psutil.Process().children(recursive=True)
        if p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    ]


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            continue
    return alive


def one_line_error(err: str) -> str:
    """The single `harness: error:` line main prints, asserted to be the whole of stderr's end."""
    lines = [line for line in err.splitlines() if line.startswith("harness: ")]
    assert len(lines) == 1, err
    assert lines[0].startswith("harness: error: "), err
    return lines[0]


def wait_for_lines(path: Path, count: int, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().split()) >= count:
            return
        assert proc.poll() is None, f"harness exited early with {proc.returncode}"
        time.sleep(0.02)
    raise AssertionError(f"{path}: fewer than {count} lines after {seconds} s")


def finish(proc: subprocess.Popen, seconds: float = 30) -> int:
    try:
        return proc.wait(timeout=seconds)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- 1. no false green on empty or incomplete runs -----------------------------------------------


def test_sigint_before_anything_is_measured_writes_nothing_and_latest_stays(harness, tmp_path):
    store.save_run(small_run(), harness.results)
    before = harness.files()
    add_workload(harness.workloads, "slow", go=hang(harness.workloads))
    proc = harness.spawn(*RUN, "--workloads", "slow", stderr_path=tmp_path / "err")
    wait_for_lines(harness.workloads / "pids", 2, proc)  # the script and its child are running
    proc.send_signal(signal.SIGINT)
    assert finish(proc) == 130
    err = (tmp_path / "err").read_text()
    assert err.splitlines()[-1] == (
        "harness: interrupted before any workload was measured; nothing saved"
    )
    assert harness.files() == before  # no empty run, and latest.json still the measured one


def test_sigint_mid_run_saves_what_was_measured_and_compare_refuses_it(harness, tmp_path):
    add_workload(harness.workloads, "fast")
    add_workload(harness.workloads, "other")
    add_workload(harness.workloads, "slow", go=hang(harness.workloads))
    code, _, _ = harness(*RUN, "--workloads", "fast,other")
    assert code == 0
    base = harness.latest()
    proc = harness.spawn(*RUN, "--workloads", "fast,slow", stderr_path=tmp_path / "err")
    pids = harness.workloads / "pids"
    wait_for_lines(pids, len(recorded_pids(harness.workloads)) + 4, proc)  # fast x2, slow, child
    proc.send_signal(signal.SIGINT)
    assert finish(proc) == 130
    head = harness.latest()
    assert (head.status, [w.name for w in head.workloads]) == ("interrupted", ["fast"])
    saved = harness.results / f"{head.run_id}.json"
    assert (tmp_path / "err").read_text().splitlines()[-1] == (
        f"harness: interrupted; the 1 workload(s) measured so far are saved in {saved} "
        "(status interrupted)"
    )

    code, out, err = harness("compare", base.run_id, "latest")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert f"head run {head.run_id} is interrupted" in line
    assert "other: not in the head run" in line and "--allow-incomplete" in line

    code, out, _ = harness("compare", base.run_id, "latest", "--allow-incomplete")
    # what both have compares; with a quick run's 3 repetitions a side it could see nothing (3)
    assert code == 3
    assert f"INCOMPLETE: head run {head.run_id} is interrupted" in out
    assert "INCOMPLETE: other: not in the head run" in out


def test_compare_refuses_an_empty_interrupted_head(harness):
    base = small_run()
    store.save_run(base, harness.results)
    empty = built_run([], status="interrupted", run_id="20260102T000000Z-empty")
    store.save_run_file(empty, harness.results)
    for fmt in ("table", "json"):
        code, out, err = harness("compare", base.run_id, empty.run_id, "--format", fmt)
        assert (code, out) == (2, "")
        line = one_line_error(err)
        assert f"head run {empty.run_id} is interrupted" in line
        assert f"head run {empty.run_id} has no workload results" in line
    code, out, _ = harness("compare", base.run_id, empty.run_id, "--allow-incomplete")
    assert code == 0 and "INCOMPLETE: demo: not in the head run" in out


def harness_error_for(name: str, monkeypatch) -> None:
    """A HarnessError while preparing workload `name`'s input (an input that fails on its own
    fails only its workload: test_own_workloads.py), to see what a run stopped by one keeps."""
    real = runner.prepare_input

    def prepare(workload, size, cache_dir):
        if workload.name == name:
            raise HarnessError(f"{workload.name}: the input cache is unusable")
        return real(workload, size, cache_dir)

    monkeypatch.setattr(runner, "prepare_input", prepare)


def test_run_failing_before_measuring_writes_nothing(harness, monkeypatch):
    store.save_run(small_run(), harness.results)
    before = harness.files()
    add_workload(harness.workloads, "badgen")
    harness_error_for("badgen", monkeypatch)
    code, out, err = harness(*RUN, "--workloads", "badgen")
    assert (code, out) == (2, "")
    assert "badgen: the input cache is unusable" in one_line_error(err)
    assert harness.files() == before


def test_error_after_a_workload_saves_it_interrupted_and_says_where(harness, monkeypatch):
    add_workload(harness.workloads, "fast")
    add_workload(harness.workloads, "zbad")
    harness_error_for("zbad", monkeypatch)
    code, _, err = harness(*RUN, "--workloads", "fast,zbad")
    assert code == 2
    latest = harness.latest()
    assert (latest.status, [w.name for w in latest.workloads]) == ("interrupted", ["fast"])
    line = one_line_error(err)
    assert "zbad: the input cache is unusable" in line
    assert f"saved in {harness.results / latest.run_id}.json, status interrupted" in line


def test_a_missing_generator_fails_its_workload_and_the_run_goes_on(harness):
    add_workload(
        harness.workloads,
        "badgen",
        args=("{input}",),
        extra='\n[input]\ngenerator = "no_such_generator"\n',
    )
    add_workload(harness.workloads, "fine")
    code, _, _ = harness(*RUN, "--workloads", "badgen,fine")
    assert code == 1
    latest = harness.latest()
    assert latest.status == "complete"
    assert [(w.name, w.status) for w in latest.workloads] == [("badgen", "failed"), ("fine", "ok")]
    assert "generator 'no_such_generator' not found in" in latest.workloads[0].error


def test_sigint_while_printing_the_summary_of_a_complete_run_keeps_its_verdict(
    harness, monkeypatch
):
    add_workload(harness.workloads, "fast")

    def interrupted_summary(run):
        signal.raise_signal(signal.SIGINT)  # in this thread, as Ctrl-C's would be handled
        time.sleep(5)  # KeyboardInterrupt arrives here
        raise AssertionError("no KeyboardInterrupt")

    monkeypatch.setattr(run_command, "print_summary", interrupted_summary)  # as run calls it
    # Ctrl-C's handler, whatever the test was started with: a shell running make in the
    # background starts it with SIGINT ignored, and then no KeyboardInterrupt ever comes
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code, _, err = harness(*RUN, "--workloads", "fast")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 0  # what the complete run says, not 130
    assert "harness: summary interrupted; the run itself is complete" in err
    assert "harness: interrupted" not in err and "harness: error" not in err
    latest = harness.latest()
    assert latest.status == "complete"
    assert harness.files()[f"{latest.run_id}.json"] == harness.files()["latest.json"]


def test_sigint_during_the_final_save_is_held_until_it_is_written(harness, monkeypatch):
    add_workload(harness.workloads, "fast")
    real_save = runner.save_run

    def save(run, results_dir):
        if run.status == "complete":
            signal.raise_signal(signal.SIGINT)  # in this thread, as Ctrl-C's would be handled
            time.sleep(0.2)  # the handler runs meanwhile: it must only note the signal
        return real_save(run, results_dir)

    monkeypatch.setattr(runner, "save_run", save)
    code, _, err = harness(*RUN, "--workloads", "fast")
    assert code == 0
    assert "SIGINT held until the results file was written" in err
    latest = harness.latest()
    assert latest.status == "complete"
    assert harness.files()[f"{latest.run_id}.json"] == harness.files()["latest.json"]


def test_export_refuses_a_run_without_workloads(harness):
    empty = built_run([], status="interrupted", run_id="20260102T000000Z-empty")
    path = store.save_run_file(empty, harness.results)
    for spec in (empty.run_id, str(path)):
        code, out, err = harness("export", spec, "--format", "csv")
        assert (code, out) == (2, "")
        assert one_line_error(err).endswith(
            f"run {empty.run_id} (interrupted) has no workload results"
        )


# --- 2. refs that git would read as options ------------------------------------------------------


def _worktrees(repo: Path = ROOT) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "worktree", "list", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _commit_everything(folder: Path) -> None:
    """Make `folder` a git repository with one commit: `ab` takes its base from the repository
    that holds the workloads folder."""
    for argv in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "workloads"],
    ):
        subprocess.run(["git", "-C", str(folder), *argv], check=True, capture_output=True)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("--lock", "base '--lock' starts with '-', which git would read as an option"),
        ("-b", "base '-b' starts with '-'"),
        ("--output=/tmp/x", "base '--output=/tmp/x' starts with '-'"),
        ("no-such-ref-anywhere", "base 'no-such-ref-anywhere': not a commit"),
        ("HEAD^{tree}", "base 'HEAD^{tree}': not a commit"),
    ],
)
def test_ab_refuses_a_ref_git_would_read_as_an_option(harness, ref, message):
    add_workload(harness.workloads, "fast")
    _commit_everything(harness.tmp)
    before = _worktrees(harness.tmp)
    code, out, err = harness("ab", "--workloads", "fast", "--pin", "none", "--", ref)
    assert (code, out) == (2, "")
    assert message in one_line_error(err)
    assert _worktrees(harness.tmp) == before
    assert not (harness.results / "ab").exists()


def test_ab_fails_a_workload_whose_input_cannot_be_made_and_saves_both_sides_of_the_rest(
    harness,
):
    # ab goes through the suite loop `harness run` uses: the bad generator fails its workload on
    # both sides, the next is measured, and base and head are saved after each workload.
    add_workload(
        harness.workloads,
        "badgen",
        args=("{input}",),
        extra='\n[input]\ngenerator = "no_such_generator"\n',
    )
    add_workload(harness.workloads, "fine")
    _commit_everything(harness.tmp)
    code, _, err = harness(
        "ab", "--workloads", "badgen,fine", "--pin", "none", "--min-rounds", "3", "HEAD"
    )
    assert code in (0, 1, 3), err
    sides = sorted((harness.results / "ab").glob("*.json"))
    assert [p.name.rsplit("-", 1)[1] for p in sides] == ["base.json", "head.json"]
    for path in sides:
        run = store.load_run(path)
        assert run.status == "complete"
        assert [(w.name, w.status) for w in run.workloads] == [("badgen", "failed"), ("fine", "ok")]
        assert "generator 'no_such_generator' not found in" in run.workloads[0].error


def test_ab_refuses_a_base_that_lacks_a_selected_workload(harness, monkeypatch, capsys):
    added = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "log",
            "--diff-filter=A",
            "--format=%H",
            "--",
            "workloads/sha256.toml",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if not added:
        pytest.skip("no history of workloads/sha256.toml (shallow clone?)")
    base = f"{added[-1]}~1"
    before = _worktrees()
    # the repository's own manifests (the only workloads folder): the base's come from its commit
    capsys.readouterr()
    code = scripted.run_cli(
        [
            "--workloads-dir",
            str(ROOT / "workloads"),
            "--results-dir",
            str(harness.results),
            "--cache-dir",
            str(harness.cache_dir),
            "ab",
            "--workloads",
            "sha256",
            "--pin",
            "none",
            base,
        ],
        monkeypatch,
    )
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert f"sha256: not in {base}, so not comparable; pass --allow-incomplete" in one_line_error(
        err
    )
    assert _worktrees() == before  # the base's worktree was removed again
    assert not (harness.results / "ab").exists()


# --- 4. typos in manifests -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "replace", "message"),
    [
        ("repetitions = 20\n", None, r"\(top level\): unknown field 'repetitions'"),
        (
            '\n[input]\ngenerator = "json_docs"\nsed = 3\n',
            None,
            r"\[input\]: unknown field 'sed' \(did you mean 'seed'\?\)",
        ),
        (
            "",
            ('library = "sh"\n', 'library = "sh"\nflags = "-O3"\n'),
            r"\[\[implementations\]\] #1: unknown field 'flags'",
        ),
    ],
)
def test_manifest_typos_are_refused_by_list_and_run(harness, extra, replace, message):
    text = scripted.manifest("typo")
    if extra.startswith("repetitions"):
        text = extra + text
    else:
        text += extra
    if replace:
        text = text.replace(*replace, 1)
    add_workload(harness.workloads, "typo", manifest_text=text)
    for command in (["list"], [*RUN, "--workloads", "typo"]):
        code, out, err = harness(*command)
        assert (code, out) == (2, "")
        line = one_line_error(err)
        assert str(harness.workloads / "typo.toml") in line
        assert re.search(message, line), line
    assert harness.files() == {}


def test_every_real_manifest_still_loads(harness):
    code, out, _ = harness("--workloads-dir", str(ROOT / "workloads"), "list")
    assert code == 0
    for manifest in (ROOT / "workloads").glob("*.toml"):
        assert manifest.stem in out


# --- 5. report and history -----------------------------------------------------------------------


def test_report_refuses_a_run_without_workloads_and_keeps_latest_html(harness):
    reports = harness.tmp / "reports"
    reports.mkdir()
    (reports / "latest.html").write_text("the last good report")
    empty = built_run([], status="complete", run_id="20260102T000000Z-empty")
    path = store.save_run_file(empty, harness.results)
    code, out, err = harness("report", str(path), "--reports-dir", str(reports))
    assert (code, out) == (2, "")
    assert one_line_error(err) == (
        f"harness: error: {path}: run {empty.run_id} (complete) has no workload results"
    )
    assert [p.name for p in reports.iterdir()] == ["latest.html"]
    assert (reports / "latest.html").read_text() == "the last good report"


def test_history_names_unreadable_files_with_the_reason(harness):
    good = small_run()
    store.save_run(good, harness.results)
    (harness.results / "corrupt.json").write_text('{"schema_version": 1, "run_id": ')
    future = json.loads(store.run_to_json(good))
    future["schema_version"] = store.SCHEMA_VERSION + 1
    (harness.results / "future.json").write_text(json.dumps(future))
    code, out, err = harness("history")
    assert code == 0 and good.run_id in out
    assert (
        f"unreadable, not listed: {harness.results / 'corrupt.json'}: not a readable results file"
        in out
    )
    assert (
        f"unreadable, not listed: {harness.results / 'future.json'}: schema_version "
        f"{store.SCHEMA_VERSION + 1} is newer than this harness understands" in out
    )
    code, out, err = harness("history", "--json")
    assert code == 0 and [e["run_id"] for e in json.loads(out)] == [good.run_id]
    assert err.count("harness: unreadable, not listed: ") == 2
    (harness.results / "corrupt.json").unlink()  # gone: no longer named
    code, out, _ = harness("history")
    assert "corrupt.json" not in out and "future.json" in out


# --- already handled before issue 10 -------------------------------------------------------------


def test_corrupt_results_file_is_a_one_line_error(harness):
    store.save_run(small_run(), harness.results)
    corrupt = harness.results / "corrupt.json"
    corrupt.write_bytes(b'{"schema_version": 1, "run_id": "x", \xff')
    for command in (
        ["compare", str(corrupt), "latest"],
        ["report", str(corrupt), "--reports-dir", str(harness.tmp / "reports")],
        ["export", str(corrupt)],
    ):
        code, out, err = harness(*command)
        assert (code, out) == (2, "")
        assert f"{corrupt}: not a readable results file" in one_line_error(err)
    assert not (harness.tmp / "reports").exists()


def test_future_schema_version_is_refused(harness):
    data = json.loads(store.run_to_json(small_run()))
    data["schema_version"] = store.SCHEMA_VERSION + 1
    future = harness.tmp / "future.json"
    future.write_text(json.dumps(data))
    for command in (["export", str(future)], ["report", str(future)]):
        code, out, err = harness(*command)
        assert (code, out) == (2, "")
        assert "is newer than this harness understands" in one_line_error(err)
        assert "upgrade the harness" in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('args = ["{n}"]', 'args = "{n}"'), "field 'args' must be list, got '{n}'"),
        (("n = 1", "n = true"), r"[params.quick]: field 'n' must be a number or string"),
        (('kind = "batch"', "kind = 3"), "field 'kind' must be str, got 3"),
        (('lang = "go"', 'lang = "java"'), "field 'lang' must be one of go, rust; got 'java'"),
    ],
)
def test_wrong_manifest_types_name_file_and_field(harness, change, message):
    add_workload(
        harness.workloads, "typed", manifest_text=scripted.manifest("typed").replace(*change, 1)
    )
    code, out, err = harness("list")
    assert (code, out) == (2, "")
    line = one_line_error(err)
    assert str(harness.workloads / "typed.toml") in line and message in line


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('name = "esc"', 'name = "../../etc/esc"'), "field 'name' must match [a-z0-9-]+"),
        (('path = "esc"', 'path = "../../../bin"'), "field 'path' must be a folder name"),
        (('lang = "rust"', 'lang = "rust"\nvariant = "../x"'), "field 'variant' must match"),
    ],
)
def test_name_and_path_escapes_are_refused(harness, change, message):
    text = scripted.manifest("esc").replace(*change, 1)
    add_workload(harness.workloads, "esc", manifest_text=text)
    code, out, err = harness(*RUN, "--workloads", "esc")
    assert (code, out) == (2, "")
    assert message in one_line_error(err)
    assert harness.files() == {}


def test_unknown_workload_name_is_refused(harness):
    add_workload(harness.workloads, "fast")
    code, _, err = harness(*RUN, "--workloads", "../fast")
    assert code == 2
    assert one_line_error(err) == "harness: error: unknown workload(s) ../fast; known: fast"


def test_shell_metacharacters_in_args_reach_the_program_literally(harness):
    args = ("$(touch pwned1)", "; touch pwned2", "`touch pwned3`", "{n} | touch pwned4", "*")
    record = harness.tmp / "argv"
    add_workload(
        harness.workloads, "meta", args=args, go=f"printf '%s\\n' \"$@\" > '{record}'\n{OK}"
    )
    code, _, _ = harness(*RUN, "--workloads", "meta")
    assert code == 0
    assert record.read_text().splitlines() == [a.replace("{n}", "1") for a in args]
    assert list(harness.tmp.glob("pwned*")) == [] and list(ROOT.glob("pwned*")) == []


def test_hostile_html_in_a_description_is_escaped_in_the_report(harness):
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    add_workload(harness.workloads, "html", description=hostile)
    assert harness(*RUN, "--workloads", "html")[0] == 0
    reports = harness.tmp / "reports"
    code, _, _ = harness("report", "latest", "--reports-dir", str(reports))
    assert code == 0
    html = (reports / "latest.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html and "<img src=x" not in html


def test_output_that_is_not_json_fails_the_implementation(harness):
    add_workload(harness.workloads, "noisy", go="echo 'hello, world'")
    code, out, _ = harness(*RUN, "--workloads", "noisy")
    assert code == 1
    result = harness.latest().workloads[0]
    assert result.status == "failed"
    go = result.result_for("go/default")
    assert go.status == "failed"
    assert go.error == "repetition 1 failed: last stdout line is not JSON: 'hello, world'"
    assert "noisy: FAILED: go/default: repetition 1 failed" in out
    assert harness.latest().status == "complete"  # the run finished; the workload failed


def test_checksum_mismatch_fails_the_pair_and_shows_no_figures(harness):
    wrong = OK.replace("00000000deadbeef", "badbadbadbadbad0")
    add_workload(harness.workloads, "differ", rust=wrong)
    code, out, _ = harness(*RUN, "--workloads", "differ")
    assert code == 1
    result = harness.latest().workloads[0]
    assert result.status == "checksum_mismatch"
    assert "rust/default printed badbadbadbadbad0" in result.error
    assert "differ: CHECKSUM_MISMATCH: checksum mismatch" in out
    assert "wall Go/Rust" not in out


def test_crash_is_reported_with_its_signal(harness):
    add_workload(harness.workloads, "crash", rust="echo 'fatal: boom' >&2\nkill -SEGV $$")
    code, _, _ = harness(*RUN, "--workloads", "crash")
    assert code == 1
    rust = harness.latest().workloads[0].result_for("rust/default")
    assert rust.status == "failed"
    assert rust.error == "repetition 1 failed: killed by SIGSEGV: fatal: boom"


def test_hang_with_a_sigterm_ignoring_child_is_killed_at_the_timeout(harness):
    pids = harness.workloads.resolve() / "pids"
    body = f"trap '' TERM\nsleep 300 &\necho $! >> '{pids}'\nsleep 300"
    add_workload(harness.workloads, "stuck", go=body, rust=OK)
    started = time.monotonic()
    code, _, _ = harness(*[a if a != "10" else "1" for a in RUN], "--workloads", "stuck")
    assert time.monotonic() - started < 30  # not a speed check: it did not wait for sleep 300
    assert code == 1
    go = harness.latest().workloads[0].result_for("go/default")
    assert go.error == "repetition 1 failed: timed out after 1 s (process group killed)"
    assert len(recorded_pids(harness.workloads)) == 3  # script, its child, rust's script
    # the fixture checks that the script and its SIGTERM-ignoring child are gone


def test_fifty_megabytes_of_stderr_keep_only_a_tail(harness):
    body = "head -c 50000000 /dev/zero | tr '\\0' x >&2\necho >&2\necho 'fatal: out of cheese' >&2\nexit 3"
    add_workload(harness.workloads, "loud", go=body)
    code, _, _ = harness(*RUN, "--workloads", "loud")
    assert code == 1
    go = harness.latest().workloads[0].result_for("go/default")
    assert go.error == "repetition 1 failed: exit status 3: fatal: out of cheese"
    (rep,) = go.repetitions
    assert len(rep.stderr_tail) <= STDERR_TAIL_CHARS
    assert rep.stderr_tail.endswith("fatal: out of cheese")
    assert (harness.results / "latest.json").stat().st_size < 100_000


def test_two_runs_at_once_both_saved_whole(harness, tmp_path):
    add_workload(harness.workloads, "nap", go=f"sleep 0.5\n{OK}")
    procs = [
        harness.spawn(*RUN, "--workloads", "nap", stderr_path=tmp_path / f"err{i}")
        for i in range(2)
    ]
    assert [finish(p, 60) for p in procs] == [0, 0], [
        (tmp_path / f"err{i}").read_text()[-2000:] for i in range(2)
    ]
    files = harness.files()
    run_files = sorted(name for name in files if name != "latest.json")
    assert len(run_files) == 2 and not any(name.startswith(".") for name in files)
    runs = [store.load_run(harness.results / name) for name in run_files]
    assert {r.status for r in runs} == {"complete"}
    assert files["latest.json"] in (files[run_files[0]], files[run_files[1]])
    code, out, _ = harness("history")
    assert code == 0 and all(r.run_id in out for r in runs)


def test_symlinked_latest_json_is_replaced_not_written_through(harness):
    outside = harness.tmp / "outside.json"
    outside.write_text("precious")
    harness.results.mkdir()
    (harness.results / "latest.json").symlink_to(outside)
    add_workload(harness.workloads, "fast")
    assert harness(*RUN, "--workloads", "fast")[0] == 0
    assert outside.read_text() == "precious"
    latest = harness.results / "latest.json"
    assert not latest.is_symlink()
    assert latest.read_bytes() == (harness.results / f"{harness.latest().run_id}.json").read_bytes()


@pytest.mark.e2e
def test_servers_listen_on_loopback_only_and_stop_with_the_run(harness, workspace_build):
    """The real Go http-json server (built and cached like any workload) started the way the
    harness starts servers: it listens on 127.0.0.1 only, and after stop no port or process
    remains."""
    from harness import config
    from harness.build.builder import Builder
    from harness.measure.launcher import ServerProcess, ensure_launcher
    from harness.measure.runner import argv_for
    from harness.servers.lifecycle import free_port

    workload = config.load_workloads(ROOT / "workloads")["http-json"]
    impl = workload.default_for("go")
    record = Builder(workspace_build.cache_dir).build(workload, impl)  # the shared build
    assert record.ok, record.error
    port = free_port()
    argv = argv_for(workload, record.binary_path, workload.params["quick"], None, port=port)
    launcher = ensure_launcher(ROOT / ".cache")
    with ServerProcess(
        launcher, argv, {}, None, harness.tmp / "server.out", harness.tmp / "server.err"
    ) as server:
        deadline = time.monotonic() + 30
        while not _listening("127.0.0.1", port) and time.monotonic() < deadline:
            assert server.exit_code() is None, (harness.tmp / "server.err").read_text()
            time.sleep(0.05)
        listeners = [
            c.laddr
            for c in psutil.Process(server.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert listeners and all(addr.ip == "127.0.0.1" for addr in listeners), listeners
        for address in _other_addresses():
            assert not _listening(address, port), address
        assert server.stop(grace_seconds=5) == 0  # a clean exit on SIGTERM
    assert not _listening("127.0.0.1", port)
    assert not psutil.pid_exists(server.pid) or psutil.Process(server.pid).status() == "zombie"


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def _other_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback (none in some containers)."""
    return [
        a.address
        for addrs in psutil.net_if_addrs().values()
        for a in addrs
        if a.family == socket.AF_INET and not a.address.startswith("127.")
    ]
