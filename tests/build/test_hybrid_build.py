"""The go+rust hybrid without cgo: the real builder skips it with a reason (CGO_ENABLED=0, or no
C compiler) and the runner marks it skipped while the rest of the workload runs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from builders import build_record, run_config, workload
from fakes import INPUT, FakeExecutor

from harness import config
from harness.build.builder import Builder, needed_libraries, staticlib_name
from harness.measure.runner import run_batch_workload

ROOT = Path(__file__).resolve().parents[2]
SHA256 = config.load_workloads(ROOT / "workloads")["sha256"]


def test_the_real_manifests_declare_go_rust_hybrids():
    hybrid = SHA256.implementation("go/cgo-rust")
    assert hybrid.links == "sha256-ffi" and hybrid.label == "go+rust"
    calls = config.load_workloads(ROOT / "workloads")["sha256-calls"]
    assert [i.key for i in calls.implementations if i.links] == ["go/cgo-rust"]


def test_with_cgo_enabled_0_the_hybrid_is_skipped_not_built(tmp_path, monkeypatch):
    monkeypatch.setenv("CGO_ENABLED", "0")
    record = Builder(tmp_path).build(SHA256, SHA256.implementation("go/cgo-rust"))
    assert not record.ok and record.binary_path is None
    assert (
        record.skip_reason
        == "the go+rust hybrid needs cgo, and CGO_ENABLED=0 is set in the environment"
    )
    assert record.error == f"skipped: {record.skip_reason}"
    assert record.links == "sha256-ffi"
    assert not (tmp_path / "bin").exists()  # nothing was built or cached


def test_without_a_c_compiler_the_hybrid_is_skipped(tmp_path, monkeypatch):
    monkeypatch.delenv("CGO_ENABLED", raising=False)
    monkeypatch.setenv("CC", "no-such-cc-for-the-hybrid-test")
    record = Builder(tmp_path).build(SHA256, SHA256.implementation("go/cgo-rust"))
    assert not record.ok
    assert "no C compiler" in record.skip_reason
    assert "no-such-cc-for-the-hybrid-test" in record.skip_reason
    assert not (tmp_path / "bin").exists()


def test_a_skipped_hybrid_is_marked_skipped_and_the_rest_runs():
    wl = workload(impls=(("go", "default"), ("rust", "default"), ("go", "cgo-rust")))
    reason = "the go+rust hybrid needs cgo, and CGO_ENABLED=0 is set in the environment"
    skipped = replace(
        build_record("go", "cgo-rust", wl.name, ok=False, error=f"skipped: {reason}"),
        skip_reason=reason,
        links="sha256-ffi",
    )
    builds = {
        "go/default": build_record("go", "default", wl.name),
        "rust/default": build_record("rust", "default", wl.name),
        "go/cgo-rust": skipped,
    }
    executor = FakeExecutor()
    notes: list[str] = []

    def note(message):
        if isinstance(message, str):  # RoundProgress values feed the live display
            notes.append(message)

    result = run_batch_workload(wl, builds, INPUT, run_config(), executor, note)
    assert result.status == "ok"
    statuses = {r.key: r.status for r in result.implementations}
    assert statuses == {"go/default": "ok", "rust/default": "ok", "go/cgo-rust": "skipped"}
    assert result.result_for("go/cgo-rust").error == f"skipped: {reason}"
    assert "/bin/go-cgo-rust" not in executor.binaries()
    assert any("go/cgo-rust: skipped: the go+rust hybrid needs cgo" in n for n in notes)


def test_a_failed_hybrid_build_is_still_build_failed():
    wl = workload(impls=(("go", "default"), ("rust", "default"), ("go", "cgo-rust")))
    builds = {
        "go/default": build_record("go", "default", wl.name),
        "rust/default": build_record("rust", "default", wl.name),
        "go/cgo-rust": build_record("go", "cgo-rust", wl.name, ok=False, error="build failed"),
    }
    result = run_batch_workload(wl, builds, INPUT, run_config(), FakeExecutor())
    assert result.result_for("go/cgo-rust").status == "build_failed"


def test_staticlib_name_follows_cargo():
    assert staticlib_name("sha256-ffi") == "libsha256_ffi.a"


@pytest.mark.skipif(not Path("/bin/true").exists(), reason="needs /bin/true")
def test_needed_libraries_reads_the_dynamic_section():
    libraries = needed_libraries(Path("/bin/true"))
    if libraries is None:
        pytest.skip("readelf not installed")
    assert any(lib.startswith("libc.so") for lib in libraries)
    assert needed_libraries(Path(__file__)) is None  # not an ELF file: readelf fails
