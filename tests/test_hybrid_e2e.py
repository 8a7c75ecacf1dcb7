"""End to end through the CLI: the go+rust hybrids build (cargo staticlib, then go build with
cgo), run beside the pure pair with equal checksums, and reach the report's Hybrid section; with
cgo off the hybrids are skipped with the reason and the rest of the run goes on. Quick size,
the repository's build cache (a warm run takes a few seconds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_e2e import ROOT

# the binaries come from the suite's one shared build (tests/conftest.py)
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("workspace_build")]
WORKLOADS = "sha256,sha256-calls"


def _harness(*args, cwd, env):
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _run(out, **env):
    common = ("--results-dir", str(out / "results"), "--cache-dir", str(ROOT / ".cache"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env}  # this checkout's harness
    done = _harness(
        *common,
        "run",
        "--size",
        "quick",
        "--workloads",
        WORKLOADS,
        "--repetitions",
        "3",
        cwd=out,
        env=env,
    )
    report = _harness(
        *common, "report", "latest", "--reports-dir", str(out / "reports"), cwd=out, env=env
    )
    data = json.loads((out / "results" / "latest.json").read_text())
    return done, report, data


def test_hybrid_builds_runs_with_equal_checksums_and_is_reported(tmp_path):
    done, report, data = _run(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert report.returncode == 0, report.stderr[-3000:]
    for workload in data["workloads"]:
        assert workload["status"] == "ok", workload["error"]
        impls = {i["lang"] + "/" + i["variant"]: i for i in workload["implementations"]}
        hybrid = impls["go/cgo-rust"]
        assert hybrid["status"] == "ok", hybrid["error"]
        for impl in impls.values():
            assert {r["checksum"] for r in impl["repetitions"]} == {workload["reference_checksum"]}
        build = hybrid["build"]
        assert build["links"] == "sha256-ffi"
        assert [t.split()[0] for t in build["toolchains"][:2]] == ["go", "rustc"]
        assert len(build["toolchains"]) == 3  # and the C compiler
        assert set(build["step_seconds"]) == {"cargo build (staticlib)", "go build (cgo)"}
        assert any(lib.startswith("libc.so") for lib in build["needed_libraries"])
        assert impls["go/default"]["build"]["needed_libraries"] in ([], None)  # CGO_ENABLED=0
    html = (tmp_path / "reports" / "latest.html").read_text()
    section = html[html.index('<section id="hybrid">') :]
    section = section[: section.index("</section>")]
    assert "A call from Go into Rust through cgo costs" in section
    assert "sha256-calls: CPU time per call by grain" in section  # every program reports it
    assert "large part" in section


def test_without_cgo_the_hybrids_are_skipped_and_the_rest_runs(tmp_path):
    # CGO_ENABLED=0 rather than a missing compiler here: ring's build script needs a C compiler
    # too (tests/build/test_hybrid_build.py covers the missing compiler through the real builder)
    done, report, data = _run(tmp_path, CGO_ENABLED="0")
    assert done.returncode == 0, done.stderr[-3000:]
    assert report.returncode == 0, report.stderr[-3000:]
    for workload in data["workloads"]:
        assert workload["status"] == "ok", workload["error"]
        for impl in workload["implementations"]:
            if impl["variant"] == "cgo-rust":
                assert impl["status"] == "skipped"
                assert "needs cgo, and CGO_ENABLED=0 is set" in impl["error"]
                assert impl["repetitions"] == []
            else:
                assert impl["status"] == "ok", impl["error"]
    assert "skipped: the go+rust hybrid needs cgo" in done.stdout + done.stderr
    html = (tmp_path / "reports" / "latest.html").read_text()
    assert "SKIPPED" in html and "CGO_ENABLED=0 is set in the environment" in html


@pytest.mark.parametrize("program", ["sha256-cgo", "sha256-calls-cgo", "json-cgo"])
def test_a_hybrid_built_without_cgo_exits_with_the_reason(tmp_path, program):
    """The !cgo twin of internal/rustsha256 keeps `go build ./...` working without cgo; the
    program it gives refuses to run, saying why, instead of hashing with nothing."""
    binary = tmp_path / program
    env = {**os.environ, "CGO_ENABLED": "0"}
    built = subprocess.run(
        ["go", "build", "-o", str(binary), f"./{program}"],
        cwd=ROOT / "workloads" / "go",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    done = subprocess.run([str(binary), "input"], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert "built without cgo (CGO_ENABLED=0)" in done.stderr
