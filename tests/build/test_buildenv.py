"""buildenv and the build record: the settings a build inherits are recorded as the toolchain saw
them, a change from the defaults is recorded (and warned about once per run,
tests/build/test_settings.py), and (e2e) a build under RUSTFLAGS or GOAMD64 is
recorded, rebuilt and really compiled with them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from builders import build_record, workload

from harness import config
from harness.build import environment as buildenv
from harness.build.builder import Builder
from harness.measure.runner import build_all
from harness.scaffold import pair as scaffold

CLEAN = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent-home"}


def test_cargo_config_files_are_found_nearest_first_then_cargo_home(tmp_path):
    workspace = tmp_path / "repo" / "workloads" / "rust"
    workspace.mkdir(parents=True)
    near = workspace / ".cargo" / "config.toml"
    far = tmp_path / "repo" / ".cargo" / "config"
    home = tmp_path / "home"
    for path in (near, far, home / "config.toml"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('[build]\nrustflags = ["-C", "target-cpu=native"]\n')
    env = {**CLEAN, "CARGO_HOME": str(home)}
    assert buildenv.cargo_config_files(workspace, env) == [near, far, home / "config.toml"]


def test_rust_environment_lists_what_cargo_reads(tmp_path):
    workspace = tmp_path / "ws"
    (workspace / ".cargo").mkdir(parents=True)
    (workspace / ".cargo" / "config.toml").write_text(
        '[build]\ntarget-dir = "elsewhere"\n[net]\noffline = true\n'
    )
    quiet = buildenv.of("rust", {**CLEAN, "CARGO_TARGET_DIR": "t"}, workspace)
    assert quiet.settings == {} and quiet.changes == ()  # where binaries go is not how
    assert buildenv.describe("rust", quiet).startswith("no RUSTFLAGS")

    (workspace / ".cargo" / "config.toml").write_text(
        '[target.x86_64-unknown-linux-gnu]\nrustflags = ["-C", "target-cpu=native"]\n'
    )
    env = {
        **CLEAN,
        "RUSTFLAGS": "-C target-cpu=native",
        "CARGO_PROFILE_RELEASE_LTO": "fat",
        "CARGO_ENCODED_RUSTFLAGS": "-Copt-level=2",
        "CARGO_HOME": str(tmp_path / "no-home"),
    }
    loud = buildenv.of("rust", env, workspace)
    config_key = f"cargo config {workspace / '.cargo' / 'config.toml'}"
    assert loud.settings == {
        "CARGO_ENCODED_RUSTFLAGS": "-Copt-level=2",
        "CARGO_PROFILE_RELEASE_LTO": "fat",
        "RUSTFLAGS": "-C target-cpu=native",
        config_key: '{"target": {"x86_64-unknown-linux-gnu": {"rustflags": ["-C", "target-cpu=native"]}}}',
    }
    assert "RUSTFLAGS='-C target-cpu=native'" in loud.changes
    assert "CARGO_PROFILE_RELEASE_LTO=fat" in buildenv.describe("rust", loud)


def test_build_all_leaves_the_warning_to_the_run_that_names_every_build():
    """Said once per run (tests/build/test_settings.py), not once per build here."""
    changed = build_record("rust")
    changed = type(changed)(**{**changed.__dict__, "environment_changes": ("RUSTFLAGS='-C x'",)})

    class Fixed:
        def build(self, _workload, impl):
            return changed if impl.lang == "rust" else build_record("go")

    lines: list[str] = []
    builds = build_all(workload(), Fixed(), lines.append)
    assert not [line for line in lines if line.startswith("warning:")]
    assert builds["rust/default"].environment_changes == ("RUSTFLAGS='-C x'",)


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("go") is None or shutil.which("cargo") is None, reason="toolchains")
def test_build_record_under_rustflags_and_goamd64_through_the_real_build(tmp_path, monkeypatch):
    """A scaffolded pair (no dependencies, so two builds each take seconds) built twice: with the
    environment as it is, then with RUSTFLAGS and GOAMD64 set. The second builds are new binaries
    (not cache hits), their records state the settings, and the settings reached the compilers."""
    for name in ("RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "GOAMD64", "GOFLAGS", "GOEXPERIMENT"):
        monkeypatch.delenv(name, raising=False)
    goenv = tmp_path / "go-env"  # the file `go env -w` writes; empty: this machine's is left out
    goenv.write_text("")
    monkeypatch.setenv("GOENV", str(goenv))
    scaffold.scaffold(tmp_path / "bench", "flags", "batch")
    pair = config.load_workloads(tmp_path / "bench")["flags"]
    builder = Builder(tmp_path / "cache")
    plain = {i.lang: builder.build(pair, i) for i in pair.implementations}
    monkeypatch.setenv("RUSTFLAGS", "-C strip=symbols")
    monkeypatch.setenv("GOAMD64", "v2")
    goenv.write_text("GOFLAGS=-buildvcs=false\n")  # as `go env -w GOFLAGS=...` leaves it
    flagged = {i.lang: builder.build(pair, i) for i in pair.implementations}
    for record in (*plain.values(), *flagged.values()):
        assert record.ok, record.error

    go, rust = plain["go"], plain["rust"]
    assert go.environment["GOAMD64"] == "v1" and go.environment_changes == ()
    assert "GOAMD64=v1" in go.flags and "toolchain defaults otherwise" in go.flags
    assert "RUSTFLAGS" not in rust.environment and "RUSTFLAGS" not in rust.flags.split("; no ")[0]
    if not rust.environment:  # no cargo config file on this machine either
        assert rust.flags.endswith("; no RUSTFLAGS, CARGO_* overrides, compiler wrappers or cargo config files")

    go2, rust2 = flagged["go"], flagged["rust"]
    assert not go2.cached and not rust2.cached
    assert go2.binary_path != go.binary_path and rust2.binary_path != rust.binary_path
    assert go2.environment["GOAMD64"] == "v2"
    assert go2.environment_changes == (
        "GOAMD64='v2' (default 'v1')",
        "GOFLAGS='-buildvcs=false' (default '')",
    )
    assert "GOAMD64=v2" in go2.flags and "GOFLAGS=-buildvcs=false" in go2.flags
    assert rust2.environment["RUSTFLAGS"] == "-C strip=symbols"
    assert "RUSTFLAGS=-C strip=symbols" in rust2.flags
    assert set(rust2.environment_changes) - set(rust.environment_changes) == {
        "RUSTFLAGS='-C strip=symbols'"
    }
    # ...and they were really used: Go stamps GOAMD64 into the binary; the stripped Rust one is
    # smaller than the one built with the workspace's strip = "none"
    stamped = subprocess.run(
        ["go", "version", "-m", go2.binary_path], capture_output=True, text=True, check=True
    ).stdout
    assert "GOAMD64=v2" in stamped
    assert rust2.binary_bytes is not None and rust.binary_bytes is not None
    assert rust2.binary_bytes < rust.binary_bytes
    assert Path(rust2.binary_path).with_suffix(".json").exists()


def test_report_lists_builds_with_changed_settings_in_the_methodology():
    from dataclasses import replace

    from builders import small_run

    from harness.report import html as report

    run = small_run()
    (w,) = run.workloads[:1]
    impls = tuple(
        replace(i, build=replace(i.build, environment_changes=("RUSTFLAGS='-C target-cpu=native'",)))
        if i.lang == "rust"
        else i
        for i in w.implementations
    )
    changed = replace(run, workloads=(replace(w, implementations=impls), *run.workloads[1:]))
    context = report.build_context(changed)
    assert context["methodology"]["build_changes"] == [
        f"RUSTFLAGS='-C target-cpu=native' ({w.name} rust/default)"
    ]
    html = report.render(context)
    assert "Build settings that can change generated code" in html
    assert "target-cpu=native" in html
    assert report.build_context(run)["methodology"]["build_changes"] == []
