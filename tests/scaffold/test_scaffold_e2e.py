"""`harness new` to a report, outside this repository, as docs/own-workloads.md says: the guide's
commands run as written (with a temporary repository for `~/my-service`), the scaffold's work
replaced by a small algorithm on both sides, real Go and Rust builds, equal checksums, the report,
and the origin in the results. Then the mistake the guide warns about: a crate added by hand, not
in Cargo.lock, gets an error that says what to run."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.build import toolchains

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "own-workloads.md"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        toolchains.tool_version("go") is None or toolchains.tool_version("cargo") is None,
        reason="needs go and cargo",
    ),
]

# The replacement work: the sum of each line's bytes (newline excluded), one decimal per line.
GO_WORK = """func work(input []byte) (output []byte, items int) {
	for line := range bytes.Lines(input) {
		sum := 0
		for _, b := range bytes.TrimSuffix(line, []byte("\\n")) {
			sum += int(b)
		}
		output = strconv.AppendInt(output, int64(sum), 10)
		output = append(output, '\\n')
		items++
	}
	return output, items
}
"""
RUST_WORK = """fn work(input: &[u8]) -> (Vec<u8>, u64) {
    let mut output = Vec::new();
    let mut items = 0;
    for line in input.split_inclusive(|&b| b == b'\\n') {
        let body = line.strip_suffix(b"\\n").unwrap_or(line);
        let sum: u64 = body.iter().map(|&b| u64::from(b)).sum();
        output.extend_from_slice(sum.to_string().as_bytes());
        output.push(b'\\n');
        items += 1;
    }
    (output, items)
}
"""


def guide_commands() -> list[list[str]]:
    """The `$H ...` lines of the guide's command block, as argv without `$H`."""
    text = GUIDE.read_text()
    block = text[text.index("<!-- guide-commands -->") :]
    block = block[block.index("```sh") + 5 : block.index("```", block.index("```sh") + 5)]
    return [
        shlex.split(line, comments=True)[1:]
        for line in block.splitlines()
        if line.startswith("$H ")
    ]


def replace_function(path: Path, start: str, new: str, end: str) -> None:
    text = path.read_text()
    begin = text.index(start)
    stop = text.index(end, begin) + len(end)
    path.write_text(text[:begin] + new + text[stop:])


def harness(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """This checkout's harness (PYTHONPATH: a worktree's tests must not run another's)."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *argv],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_guide_from_harness_new_to_a_report_outside_this_repository(tmp_path):
    service = tmp_path / "my-service"
    service.mkdir()
    git(service, "init", "-q")
    new, run, report = guide_commands()
    assert new[:2] == ["new", "word-count"] and "run" in run and report[0] == "report"

    made = harness(new, service)
    assert made.returncode == 0, made.stderr
    bench = service / "bench"
    assert "next: harness --workloads-dir bench run --workloads word-count --size quick" in (
        made.stdout
    )
    replace_function(bench / "go" / "word-count" / "main.go", "func work(", GO_WORK, "\n}\n")
    replace_function(
        bench / "rust" / "crates" / "word-count" / "src" / "main.rs", "fn work(", RUST_WORK, "\n}\n"
    )
    git(service, "add", ".")
    git(service, "commit", "-qm", "bench: word-count")

    measured = harness([*run, "--no-build-profile", "--repetitions", "3"], service)
    assert measured.returncode == 0, measured.stderr[-2000:]
    data = json.loads((service / "results" / "latest.json").read_text())
    (workload,) = data["workloads"]
    assert workload["status"] == "ok", workload["error"]
    checksums = {
        rep["checksum"] for impl in workload["implementations"] for rep in impl["repetitions"]
    }
    assert checksums == {workload["reference_checksum"]}  # both sides, every round
    lines = Path(workload["input"]["path"]).read_bytes().count(b"\n")
    assert all(
        rep["items"] == lines for impl in workload["implementations"] for rep in impl["repetitions"]
    )
    assert workload["origin"] == {
        "manifest": str((bench / "word-count.toml").resolve()),
        "git_commit": git(service, "rev-parse", "HEAD"),
        "git_dirty": False,
    }
    assert workload["input"]["generator"] == "word_count"

    rendered = harness(report, service)
    assert rendered.returncode == 0, rendered.stderr
    html = (service / "reports" / "latest.html").read_text()
    assert 'id="workload-word-count"' in html
    manifest_at = f"{(bench / 'word-count.toml').resolve()} at {git(service, 'rev-parse', 'HEAD')}"
    assert f'<th scope="row">Workload word-count</th><td>{manifest_at}</td>' in html

    # a crate added by hand, not in Cargo.lock: the build error says what to run
    crates = bench / "rust" / "crates"
    shutil.copytree(crates / "word-count", crates / "by-hand")
    manifest = crates / "by-hand" / "Cargo.toml"
    manifest.write_text(manifest.read_text().replace("word-count", "by-hand"))
    (bench / "go" / "by-hand").mkdir()
    shutil.copy2(bench / "go" / "word-count" / "main.go", bench / "go" / "by-hand" / "main.go")
    toml = (bench / "word-count.toml").read_text()
    (bench / "by-hand.toml").write_text(re.sub(r'"word-count"', '"by-hand"', toml))
    built = harness(["--workloads-dir", "bench", "build", "--workloads", "by-hand"], service)
    assert built.returncode == 1
    expected = (
        f"{bench.resolve() / 'rust' / 'Cargo.lock'} is out of date (a crate of the workspace is "
        f"missing from it): run `cargo update -w` in {bench.resolve() / 'rust'}"
    )
    assert "".join(expected.split()) in "".join(built.stderr.split())  # the console wraps lines


def lint(go_dir: Path, crate_dir: Path, workspace: Path, clippy: bool) -> None:
    """The scaffold is code we ship: gofmt, go vet, rustfmt (and clippy) as `make lint` asks."""
    unformatted = subprocess.run(
        ["gofmt", "-l", "."], cwd=go_dir, capture_output=True, text=True, check=True
    ).stdout
    assert unformatted == ""
    vet = subprocess.run(["go", "vet", "."], cwd=go_dir, capture_output=True, text=True)
    assert vet.returncode == 0, vet.stderr
    package = crate_dir.name
    fmt = subprocess.run(
        ["cargo", "fmt", "--check", "-p", package], cwd=workspace, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    if clippy:
        checked = subprocess.run(
            ["cargo", "clippy", "--locked", "-p", package, "--", "-D", "warnings"],
            cwd=workspace,
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stderr[-3000:]


def test_scaffolded_batch_pair_runs_right_away_and_is_lint_clean(tmp_path):
    made = harness(["new", "lint-me", "--dir", str(tmp_path / "bench")], tmp_path)
    assert made.returncode == 0, made.stderr
    bench = tmp_path / "bench"
    argv = ["--workloads-dir", str(bench), "run", "--workloads", "lint-me", "--size", "quick"]
    measured = harness([*argv, "--no-build-profile", "--repetitions", "2"], tmp_path)
    assert measured.returncode == 0, measured.stderr[-2000:]
    (workload,) = json.loads((tmp_path / "results" / "latest.json").read_text())["workloads"]
    assert workload["status"] == "ok" and workload["reference_checksum"]
    lint(bench / "go" / "lint-me", bench / "rust" / "crates" / "lint-me", bench / "rust", True)


def test_scaffolded_server_pair_runs_under_the_server_protocol(tmp_path, workspace_build):
    """The server scaffold builds and follows the server contract: both sides become ready, answer
    the checks with the same bytes, and are measured in quick mode. Its crate shares this
    repository's target folder (CARGO_TARGET_DIR), where the suite's shared build has compiled
    kv-cache: the new workspace's lock file pins the same axum and tokio, with the same features
    and release profile, so cargo reuses them and compiles only the new crate."""
    made = harness(["new", "echo-work", "--kind", "server", "--dir", "bench"], tmp_path)
    assert made.returncode == 0, made.stderr
    bench = tmp_path / "bench"
    lint(bench / "go" / "echo-work", bench / "rust" / "crates" / "echo-work", bench / "rust", False)
    argv = ["--workloads-dir", "bench", "run", "--workloads", "echo-work", "--size", "quick"]
    done = harness(
        [*argv, "--no-build-profile", "--replicates", "2"],
        tmp_path,
        CARGO_TARGET_DIR=str(workspace_build.target_dir),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (workload,) = json.loads((tmp_path / "results" / "latest.json").read_text())["workloads"]
    assert workload["status"] == "ok", workload["error"]
    for impl in workload["implementations"]:
        assert impl["status"] == "ok", impl["error"]
        measured = [p for p in impl["phases"] if p["replicate"] is not None]
        assert measured and all(p["ok"] for p in measured if p["offered_rps"] is not None)
        # The copied serve code brings the listen address (workloads/README.md's contract).
        bad = subprocess.run(
            [str(tmp_path / impl["build"]["binary_path"]), "--port", "0"],
            env={"HARNESS_LISTEN_ADDRESS": "server.example"},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert bad.returncode != 0
        assert bad.stderr.strip() == (
            'echo-work: HARNESS_LISTEN_ADDRESS="server.example" is not an IP address'
        )
