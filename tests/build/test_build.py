"""build.py: cargo tree parsing on canned text; (e2e) dependency counts of real workloads and the
build profile cached in the build record."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from harness import config
from harness.build import operations as buildprofile
from harness.build.builder import (
    VARIANT_NOT_PROFILED,
    Builder,
    _dependency_count,
    third_party_crates,
)
from harness.model import BuildRecord, Implementation

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ROOT / "workloads"

# `cargo tree -p json-simd-json -e normal --prefix none`, trimmed, plus a git source and a second
# version of one crate, as cargo prints them.
CARGO_TREE = """\
json-simd-json v0.1.0 (/work/main/workloads/rust/crates/json-simd-json)
json v0.1.0 (/work/main/workloads/rust/crates/json)
serde v1.0.229
serde_derive v1.0.229 (proc-macro)
proc-macro2 v1.0.107
proc-macro2 v1.0.107 (*)
serde_json v1.0.154
itoa v1.0.19
simd-json v0.17.3
hashbrown v0.16.1
hashbrown v0.14.5
value-trait v0.12.3 (https://github.com/simd-lite/value-trait#0a1b2c3d)
itoa v1.0.19
json v0.1.0 (/work/main/workloads/rust/crates/json) (*)

[build-dependencies]
"""


def test_third_party_crates_skip_path_packages_and_keep_versions_apart():
    assert third_party_crates(CARGO_TREE) == {
        ("serde", "1.0.229"),
        ("serde_derive", "1.0.229"),  # filtered by `-e no-proc-macro` in the real command
        ("proc-macro2", "1.0.107"),
        ("serde_json", "1.0.154"),
        ("itoa", "1.0.19"),
        ("simd-json", "0.17.3"),
        ("hashbrown", "0.16.1"),
        ("hashbrown", "0.14.5"),
        ("value-trait", "0.12.3"),
    }


def test_third_party_crates_of_a_lone_crate_is_empty():
    assert third_party_crates("binarytrees v0.1.0 (/w/crates/binarytrees)\n") == set()
    assert third_party_crates("") == set()


def _impl(lang: str, path: str) -> Implementation:
    return Implementation(lang=lang, variant="x", path=path, library="")


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("go") is None, reason="needs go")
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("binarytrees", 0),
        ("json", 0),  # json/model is the workload's own package, not a dependency
        ("gzip-klauspost", 1),
        # sonic, sonic/loader, gopkg, base64x, cpuid/v2, golang-asm, x/arch
        ("json-sonic", 7),
    ],
)
def test_go_dependency_count(path, expected):
    assert _dependency_count(_impl("go", path), WORKLOADS / "go") == expected


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("binarytrees", 0),
        ("binarytrees-bumpalo", 1),
        # The binarytrees library is a path crate, not counted; the allocator crates are (their C
        # sources build through `cc`, a build dependency, not linked).
        ("binarytrees-mimalloc", 2),  # mimalloc, libmimalloc-sys
        ("binarytrees-jemalloc", 3),  # tikv-jemallocator, tikv-jemalloc-sys, libc
        ("gzip-zlib-rs", 2),  # flate2, zlib-rs
        # serde, serde_core, serde_json, itoa, memchr, zmij: serde_derive and its syn/quote/
        # proc-macro2/unicode-ident run at build time and are not linked.
        ("json", 6),
    ],
)
def test_rust_dependency_count(path, expected):
    assert _dependency_count(_impl("rust", path), WORKLOADS / "rust") == expected


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_rust_path_dependency_is_not_third_party():
    with_lib = _dependency_count(_impl("rust", "json-simd-json"), WORKLOADS / "rust")
    lib = _dependency_count(_impl("rust", "json"), WORKLOADS / "rust")
    assert with_lib is not None and lib is not None
    # json-simd-json links the json library's crates plus simd-json's; the json crate is not one.
    assert with_lib > lib


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("go") is None, reason="needs go")
def test_profile_is_measured_once_and_kept_in_the_cached_record(tmp_path, monkeypatch):
    workload = config.load_workloads(WORKLOADS)["binarytrees"]
    impl = next(i for i in workload.implementations if i.lang == "go")

    plain = Builder(tmp_path).build(workload, impl)
    assert plain.ok and plain.clean_build_seconds is None and plain.source_lines is None

    profiled = Builder(tmp_path, profile=True).build(workload, impl)
    assert profiled.cached  # the binary was reused; only the profile was added
    assert profiled.profile_error is None
    assert profiled.clean_build_seconds is not None and profiled.clean_build_seconds > 0
    assert profiled.incremental_build_seconds is not None
    assert profiled.source_files == ("binarytrees/main.go",)
    assert profiled.source_lines is not None and profiled.source_lines > 0
    stored = json.loads(Path(profiled.binary_path).with_suffix(".json").read_text())
    assert stored["clean_build_seconds"] == profiled.clean_build_seconds

    def must_not_run(*_args, **_kwargs):
        raise AssertionError("the cached profile was measured again")

    monkeypatch.setattr(buildprofile, "measure", must_not_run)
    again = Builder(tmp_path, profile=True).build(workload, impl)
    assert again.cached and again.clean_build_seconds == profiled.clean_build_seconds
    assert list((tmp_path / "build-profile").iterdir()) == []


def test_profile_failure_is_recorded_not_raised(tmp_path, monkeypatch):
    workload = config.load_workloads(WORKLOADS)["binarytrees"]
    impl = next(i for i in workload.implementations if i.lang == "go")
    builder = Builder(tmp_path, profile=True)

    def failing(*_args, **_kwargs):
        raise buildprofile.ProfileError("no crates offline")

    monkeypatch.setattr(buildprofile, "measure", failing)
    record = BuildRecord(
        workload="binarytrees",
        lang="go",
        variant="default",
        ok=True,
        toolchain="go",
        command=("go",),
        flags="",
        source_hash="0",
    )
    result = builder._with_profile(workload, impl, record)
    assert result.profile_error == "no crates offline" and result.clean_build_seconds is None


def test_a_flavoured_build_is_another_binary_and_never_a_go_one(tmp_path):
    # The profile's Rust build (frame pointers, line tables) goes through the one Builder: another
    # source hash than the timed build's, so neither is ever taken for the other; Go is not touched.
    from harness.profile.recording import PROFILING_BUILD

    workload = config.load_workloads(WORKLOADS)["binarytrees"]
    go, rust = (
        next(i for i in workload.implementations if i.lang == lang and i.variant == "default")
        for lang in ("go", "rust")
    )
    timed, flavoured = Builder(tmp_path), Builder(tmp_path, flavour=PROFILING_BUILD)
    assert flavoured.source_hash_of(workload, rust) != timed.source_hash_of(workload, rust)
    assert flavoured.source_hash_of(workload, go) == timed.source_hash_of(workload, go)
    assert "force-frame-pointers" in PROFILING_BUILD.describe()


def test_the_profile_measures_default_pairs_and_variants_only_when_asked(tmp_path, monkeypatch):
    """A full run profiles each workload's default pair (what the report's Go/Rust build
    comparison and the decision matrix read); a labelled variant says it was not profiled, and
    `--build-profile-variants` profiles it too."""
    workload = config.load_workloads(WORKLOADS)["binarytrees"]
    default = next(i for i in workload.implementations if i.lang == "go")
    variant = replace(default, variant="labelled")
    measured = []

    def fake_measure(lang, root, package, *_args, **_kwargs):
        measured.append(package)
        return buildprofile.BuildProfile(1.0, 0.5, 10, ("binarytrees/main.go",), "main.go")

    monkeypatch.setattr(buildprofile, "measure", fake_measure)
    skipped = Builder(tmp_path, profile=True).build(workload, variant)
    assert skipped.ok and measured == []
    assert skipped.clean_build_seconds is None and skipped.profile_error == VARIANT_NOT_PROFILED
    cached = json.loads(Path(skipped.binary_path).with_suffix(".json").read_text())
    assert cached["profile_error"] is None  # not stored: a later run may profile it
    again = Builder(tmp_path, profile=True).build(workload, variant)
    assert again.cached and again.profile_error == VARIANT_NOT_PROFILED and measured == []

    asked = Builder(tmp_path, profile=True, profile_variants=True).build(workload, variant)
    assert measured == ["binarytrees"] and asked.clean_build_seconds == 1.0
    assert Builder(tmp_path, profile=True).build(workload, default).clean_build_seconds == 1.0
