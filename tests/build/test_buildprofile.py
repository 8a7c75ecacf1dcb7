"""Build profile: the source-line counter and dep-info parser on canned text, clean-up of the scratch
copy on failure and on Ctrl-C, and (e2e) real clean + incremental builds in a scratch copy."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from harness.build import operations as buildprofile
from harness.build.builder import GO_ENV, IGNORED_PARTS, build_command
from harness.build.operations import ProfileError, count_code_lines, measure, parse_dep_info
from harness.model import Implementation

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ROOT / "workloads"

GO_SOURCE = """\
// Package main is a doc comment: not code.
package main

import "fmt" // trailing comment, the line is code

/* a block comment
   over two lines */

func main() {
\turl := "http://example.com/*not a comment*/"
\traw := `line one
// inside a raw string: code

still raw`
\tq := '"' // a rune holding a quote does not open a string
\tfmt.Println(url, raw, q) /* block */ ; x := 1 / 2
}
"""

RUST_SOURCE = r"""//! Crate doc comment.
/// Item doc comment.
fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
    /* outer /* nested */ still a comment */
    let q = '"'; // a char holding a quote
    let e = '\''; let s = "a // b /* c";
    let r = r#"raw "quoted" // text
/* still the raw string */"#;
    let b = b'x'; let bs = br"\d+";
    if a.len() > b.len() { a } else { b }
}
/*
fn commented_out() {}
*/
"""


def test_go_lines_skip_blank_and_comments_but_not_literals():
    # package, import, func, url, raw (3 non-blank lines: `raw := ...`, `// inside`, `still raw`),
    # q, Println, closing brace.
    assert count_code_lines(GO_SOURCE, "go") == 10


def test_rust_lines_handle_nested_comments_lifetimes_chars_and_raw_strings():
    # fn, let q, let e, let r, the raw string's second line, let b, if, closing brace.
    assert count_code_lines(RUST_SOURCE, "rust") == 8


def test_empty_and_comment_only_files_have_no_code():
    assert count_code_lines("", "go") == 0
    assert count_code_lines("\n\n   \n// only\n/* a\n b */\n", "go") == 0
    assert count_code_lines("/* /* */ fn f() {} */\n", "rust") == 0  # nested: all comment
    assert count_code_lines("/* /* */ x := 1\n", "go") == 1  # Go block comments do not nest


def test_unterminated_literal_counts_to_end_of_file():
    assert count_code_lines('s := "abc\n', "go") == 1
    assert count_code_lines("x := `a\n\nb", "go") == 2


def test_parse_dep_info_reads_first_rule_with_escaped_spaces():
    text = (
        "/t/release/gzip-zlib-rs: /w/crates/gzip-zlib-rs/../gzip/src/main.rs "
        "/w/my\\ dir/lib.rs \\\n /w/other.rs\n\n/w/other.rs:\n"
    )
    assert parse_dep_info(text) == [
        "/w/crates/gzip-zlib-rs/../gzip/src/main.rs",
        "/w/my dir/lib.rs",
        "/w/other.rs",
    ]
    assert parse_dep_info("") == []
    assert parse_dep_info("/t/release/x:\n") == []


def test_profile_command_and_env():
    assert buildprofile._profile_command("go", ("go", "build", "-trimpath", "./x")) == (
        "go",
        "build",
        "-v",
        "-trimpath",
        "./x",
    )
    assert buildprofile._profile_command("rust", ("cargo", "build", "-p", "x"))[-1] == "--offline"
    base = {"PATH": "/bin", "RUSTC_WRAPPER": "sccache", "GOCACHEPROG": "prog", "GOCACHE": "/warm"}
    go_env = buildprofile._profile_env("go", base, Path("/scratch/gocache"))
    assert go_env["GOCACHE"] == "/scratch/gocache" and go_env["GOPROXY"] == "off"
    assert "GOCACHEPROG" not in go_env and go_env["PATH"] == "/bin"
    rust_env = buildprofile._profile_env("rust", base, Path("/scratch/target"))
    assert rust_env["CARGO_TARGET_DIR"] == "/scratch/target" and "RUSTC_WRAPPER" not in rust_env


def test_recompiled_reads_go_verbose_and_cargo_output():
    assert buildprofile._recompiled("go", "fmt\ngorust/workloads/json\n", "gorust/workloads/json")
    assert not buildprofile._recompiled(
        "go", "gorust/workloads/json/model\n", "gorust/workloads/json"
    )
    cargo = "   Compiling json v0.1.0 (/w/crates/json)\n    Finished `release` profile\n"
    assert buildprofile._recompiled("rust", cargo, "json")
    assert not buildprofile._recompiled("rust", cargo, "json-simd-json")


def _fake_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "lang"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "main.rs").write_text("fn main() {}\n")
    (tree / "target").mkdir()
    (tree / "target" / "huge.bin").write_bytes(b"x")
    return tree


def test_failed_build_raises_and_removes_the_scratch_copy(tmp_path):
    tree = _fake_tree(tmp_path)
    scratch = tmp_path / "scratch"
    log = tmp_path / "profile.log"
    with pytest.raises(ProfileError, match="failed"):
        measure("rust", tree, "pkg", lambda _out: ("false",), os.environ, scratch, log)
    assert list(scratch.iterdir()) == []
    assert "$ false --offline  (exit 1" in log.read_text()
    assert (tree / "pkg" / "main.rs").read_text() == "fn main() {}\n"


def test_interrupt_kills_the_build_and_removes_the_scratch_copy(tmp_path, monkeypatch):
    tree = _fake_tree(tmp_path)
    scratch = tmp_path / "scratch"
    started: list[subprocess.Popen] = []

    def interrupted(self, *args, **kwargs):
        started.append(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(subprocess.Popen, "communicate", interrupted)
    command = ("sh", "-c", "sleep 300")
    with pytest.raises(KeyboardInterrupt):
        measure("rust", tree, "pkg", lambda _out: command, os.environ, scratch, tmp_path / "l")
    assert started and started[0].returncode == -signal.SIGKILL
    assert list(scratch.iterdir()) == []


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if IGNORED_PARTS.intersection(path.relative_to(root).parts):
            continue
        digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


def _measure_real(impl: Implementation, tmp_path: Path) -> buildprofile.BuildProfile:
    root = WORKLOADS / impl.lang
    env = {**os.environ, **(GO_ENV if impl.lang == "go" else {})}
    return measure(
        impl.lang,
        root,
        impl.path,
        lambda out: build_command(impl, out),
        env,
        tmp_path / "scratch",
        tmp_path / "profile.log",
        IGNORED_PARTS,
    )


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("go") is None, reason="needs go")
def test_real_go_profile_leaves_the_repo_alone(tmp_path):
    impl = Implementation(lang="go", variant="default", path="binarytrees", library="stdlib")
    before = _tree_digest(WORKLOADS / "go")
    profile = _measure_real(impl, tmp_path)
    assert _tree_digest(WORKLOADS / "go") == before
    assert list((tmp_path / "scratch").iterdir()) == []
    assert profile.edited_file == "binarytrees/main.go"
    assert profile.source_files == ("binarytrees/main.go",)
    text = (WORKLOADS / "go" / "binarytrees" / "main.go").read_text()
    assert profile.source_lines == count_code_lines(text, "go") > 0
    assert profile.clean_build_seconds > 0 and profile.incremental_build_seconds > 0
    log = (tmp_path / "profile.log").read_text()
    # The fresh cache compiles the standard library; the incremental build only the edited package.
    assert "\nruntime\n" in log
    incremental = log.rsplit("$ go build", 1)[1]
    assert "gorust/workloads/binarytrees" in incremental and "\nruntime\n" not in incremental


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_real_rust_profile_compiles_dependencies_then_only_the_crate(tmp_path):
    impl = Implementation(
        lang="rust", variant="bumpalo", path="binarytrees-bumpalo", library="bumpalo"
    )
    before = _tree_digest(WORKLOADS / "rust")
    profile = _measure_real(impl, tmp_path)
    assert _tree_digest(WORKLOADS / "rust") == before
    assert list((tmp_path / "scratch").iterdir()) == []
    assert profile.edited_file == "crates/binarytrees-bumpalo/src/main.rs"
    assert profile.source_files == ("crates/binarytrees-bumpalo/src/main.rs",)
    log = (tmp_path / "profile.log").read_text()
    clean, incremental = log.split("$ cargo build")[1:]
    assert "Compiling bumpalo v" in clean
    assert "Compiling binarytrees-bumpalo v" in incremental and "bumpalo v3" not in incremental
