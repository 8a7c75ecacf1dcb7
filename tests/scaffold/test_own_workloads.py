"""A team's own workloads: manifests in other folders, inputs from files, commands or a generator
next to the manifest, an own build command, the origin recorded, and `harness new`'s files.

Everything here runs without compiling Go or Rust (the scripted builder or plain shell commands);
tests/scaffold/test_scaffold_e2e.py builds a scaffolded pair for real."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from scripted import OK, add_workload, manifest, run_cli

from harness import config
from harness.build import toolchains
from harness.build.builder import Builder
from harness.cli import main as cli
from harness.cli import options
from harness.cli.parser import parser
from harness.errors import HarnessError
from harness.measure.inputs import InputError, prepare_input
from harness.measure.runner import parse_result_line
from harness.scaffold import pair as scaffold
from harness.store.results import load_run


def written(folder: Path, name: str, extra: str, args=("{n}",)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(manifest(name, args=args, extra="") + extra)
    return path


def error_for(path: Path) -> str:
    with pytest.raises(HarnessError) as info:
        config.load_manifest(path)
    assert str(path) in str(info.value)
    return str(info.value)


# --- manifest fields ------------------------------------------------------------------------------


def test_input_needs_exactly_one_source(tmp_path):
    both = written(tmp_path, "w", '\n[input]\nfile = "a.bin"\ncommand = ["cat", "a.bin"]\n')
    assert "needs exactly one of 'generator', 'file' or 'command', got 'file', 'command'" in (
        error_for(both)
    )
    none = written(tmp_path, "v", "\n[input]\nseed = 3\n")
    assert "got none" in error_for(none)


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ('file = "../outside.bin"', "file"),
        ('file = "/etc/passwd"', "file"),
        ('command = ["python3", "gen.py"]\nsources = ["../gen.py"]', "sources"),
    ],
)
def test_input_paths_must_stay_in_the_manifests_folder(tmp_path, table, field):
    path = written(tmp_path, "w", f"\n[input]\n{table}\n")
    message = error_for(path)
    assert f"field '{field}' must be a path inside {tmp_path}" in message


def test_input_command_placeholders_must_be_parameters_or_size(tmp_path):
    fine = written(tmp_path, "w", '\n[input]\ncommand = ["gen", "{n}", "{size}"]\n')
    assert config.load_manifest(fine).input.command == ("gen", "{n}", "{size}")
    bad = written(tmp_path, "v", '\n[input]\ncommand = ["gen", "{lines}"]\n')
    assert "field 'command' uses undefined placeholder(s) ['lines']" in error_for(bad)


def test_own_build_needs_its_binary_inside_the_folder(tmp_path):
    text = manifest("w").replace(
        'library = "sh"\n', 'library = "sh"\nbuild = ["make"]\nbinary = "bin/w"\n', 1
    )
    (tmp_path / "w.toml").write_text(text)
    go = config.load_manifest(tmp_path / "w.toml").default_for("go")
    assert (go.build, go.binary) == (("make",), "bin/w")
    (tmp_path / "v.toml").write_text(
        manifest("v").replace('library = "sh"\n', 'library = "sh"\nbuild = ["make"]\n', 1)
    )
    assert "fields 'build' and 'binary' go together" in error_for(tmp_path / "v.toml")
    (tmp_path / "u.toml").write_text(
        manifest("u").replace(
            'library = "sh"\n', 'library = "sh"\nbuild = ["make"]\nbinary = "../u"\n', 1
        )
    )
    assert "field 'binary' must be a path inside" in error_for(tmp_path / "u.toml")


def test_a_name_declared_in_two_folders_is_refused_naming_both_files(tmp_path):
    first, second = written(tmp_path / "a", "w", ""), written(tmp_path / "b", "w", "")
    written(tmp_path / "b", "other", "")
    with pytest.raises(HarnessError) as info:
        config.load_workloads(tmp_path / "a", tmp_path / "b")
    assert str(info.value).startswith(f"{second}: workload 'w' is also declared in {first}")
    both = config.load_workloads(tmp_path / "a", tmp_path)
    assert list(both) == ["w"]  # a folder without manifests adds nothing


# --- inputs ---------------------------------------------------------------------------------------


def test_input_file_is_used_in_place_and_hashed(tmp_path):
    folder = tmp_path / "own"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "quick.txt").write_bytes(b"hello\n")
    workload = config.load_manifest(written(folder, "w", '\n[input]\nfile = "data/{size}.txt"\n'))
    record = prepare_input(workload, "quick", tmp_path / "cache")
    assert record.path == str((folder / "data" / "quick.txt").resolve())
    assert record.generator == "file data/quick.txt" and record.size_bytes == 6
    assert record.sha256 == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    with pytest.raises(InputError) as info:
        prepare_input(workload, "full", tmp_path / "cache")
    assert f"field 'file': {folder / 'data' / 'full.txt'} not found" in str(info.value)


def test_input_command_output_is_cached_by_argv_and_sources(tmp_path):
    folder = tmp_path / "own"
    folder.mkdir()
    script = folder / "gen.sh"
    script.write_text('echo run >> "$(dirname "$0")/runs"\nprintf "line %s\\n" $(seq 1 "$1")\n')
    workload = config.load_manifest(
        written(folder, "w", '\n[input]\ncommand = ["sh", "gen.sh", "{n}"]\n')
    )
    cache = tmp_path / "cache"
    first = prepare_input(workload, "full", cache)
    assert Path(first.path).read_bytes() == b"line 1\nline 2\n"
    assert first.generator == "command sh gen.sh 2"
    assert prepare_input(workload, "full", cache) == first  # cached: the command ran once
    assert (folder / "runs").read_text() == "run\n"
    script.write_text(script.read_text() + "echo extra\n")  # a named file changed: run again
    assert Path(prepare_input(workload, "full", cache).path).read_bytes().endswith(b"extra\n")
    assert (folder / "runs").read_text() == "run\nrun\n"


def test_a_failing_input_command_is_a_one_line_error_with_its_stderr(tmp_path):
    workload = config.load_manifest(
        written(tmp_path, "w", '\n[input]\ncommand = ["sh", "-c", "echo no data >&2; exit 3"]\n')
    )
    with pytest.raises(InputError) as info:
        prepare_input(workload, "quick", tmp_path / "cache")
    assert str(info.value) == f"{tmp_path / 'w.toml'} [input]: field 'command' exited 3: no data"


def test_a_generator_next_to_the_manifest_comes_before_the_harnesss(tmp_path):
    folder = tmp_path / "own"
    (folder / "generators").mkdir(parents=True)
    # the same name as one of the harness's generators: the team's own wins
    (folder / "generators" / "messages.py").write_text(
        "def generate(rng, n):\n    return bytes([65 + rng.randrange(26) for _ in range(n)])\n"
    )
    workload = config.load_manifest(
        written(folder, "w", '\n[input]\ngenerator = "messages"\nseed = 5\n')
    )
    record = prepare_input(workload, "full", tmp_path / "cache")
    assert record.size_bytes == 2 and record.params == {"n": 2}
    missing = config.load_manifest(written(folder, "v", '\n[input]\ngenerator = "nope"\n'))
    with pytest.raises(InputError) as info:
        prepare_input(missing, "full", tmp_path / "cache")
    assert (
        f"generator 'nope' not found in {folder / 'generators'}/ or harness/measure/generators/"
        in str(info.value)
    )


# --- runs -----------------------------------------------------------------------------------------


def test_a_workload_whose_input_fails_fails_alone_and_the_others_are_measured(
    tmp_path, monkeypatch
):
    folder = tmp_path / "workloads"
    add_workload(folder, "aaa-broken", extra='\n[input]\ncommand = ["sh", "-c", "exit 4"]\n')
    add_workload(folder, "bbb-fine", OK)
    code = run_cli(
        [
            "--workloads-dir",
            str(folder),
            "--results-dir",
            str(tmp_path / "results"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "run",
            "--size",
            "quick",
            "--repetitions",
            "2",
            "--warmups",
            "0",
            "--no-build-profile",
            "--pin",
            "none",
        ],
        monkeypatch,
    )
    assert code == 1  # a workload failed; the run is still complete
    run = load_run(tmp_path / "results" / "latest.json")
    broken, fine = run.workloads
    assert run.status == "complete"
    assert broken.status == "failed" and "field 'command' exited 4" in broken.error
    assert all(i.status == "failed" and not i.repetitions for i in broken.implementations)
    assert fine.status == "ok" and all(len(i.repetitions) == 2 for i in fine.implementations)


def test_results_record_where_each_workload_came_from(tmp_path, monkeypatch):
    own, other = tmp_path / "team" / "bench", tmp_path / "elsewhere"
    add_workload(own, "mine", OK)
    add_workload(other, "theirs", OK)
    subprocess.run(["git", "init", "-q", str(tmp_path / "team")], check=True)
    for args in (("add", "."), ("commit", "-qm", "bench")):
        subprocess.run(
            [
                "git",
                "-C",
                str(tmp_path / "team"),
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                *args,
            ],
            check=True,
        )
    (own / "go" / "mine" / "run").write_text((own / "go" / "mine" / "run").read_text() + "\n")
    argv = ["--workloads-dir", str(own), "--workloads-dir", str(other)]
    argv += ["--results-dir", str(tmp_path / "results"), "--cache-dir", str(tmp_path / "cache")]
    argv += ["run", "--size", "quick", "--repetitions", "1", "--warmups", "0"]
    assert run_cli([*argv, "--no-build-profile", "--pin", "none"], monkeypatch) == 0
    mine, theirs = load_run(tmp_path / "results" / "latest.json").workloads
    head = subprocess.run(
        ["git", "-C", str(tmp_path / "team"), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert mine.origin.manifest == str((own / "mine.toml").resolve())
    assert (mine.origin.git_commit, mine.origin.git_dirty) == (head, True)
    assert theirs.origin.manifest == str((other / "theirs.toml").resolve())
    assert (theirs.origin.git_commit, theirs.origin.git_dirty) == (None, None)


def test_workloads_folders_come_from_the_option_then_harness_toml_then_this_repository(tmp_path):
    args = parser().parse_args(["list"])
    assert options.workloads_dirs(args, cwd=tmp_path) == [options.ROOT / "workloads"]
    (tmp_path / "harness.toml").write_text('workloads_dirs = ["bench", "more"]\n')
    assert options.workloads_dirs(args, cwd=tmp_path) == [tmp_path / "bench", tmp_path / "more"]
    given = parser().parse_args(["--workloads-dir", "x", "list"])
    assert options.workloads_dirs(given, cwd=tmp_path) == [Path("x")]
    (tmp_path / "harness.toml").write_text('workload_dirs = ["bench"]\n')
    with pytest.raises(HarnessError, match=r"harness\.toml: unknown field 'workload_dirs'"):
        options.workloads_dirs(args, cwd=tmp_path)


def test_ab_takes_one_workloads_folder(tmp_path, capsys):
    argv = ["--workloads-dir", str(tmp_path / "a"), "--workloads-dir", str(tmp_path / "b")]
    assert cli.main([*argv, "ab", "main"]) == 2
    assert "harness ab compares one workloads folder against its base commit; got 2" in (
        capsys.readouterr().err
    )


def test_a_result_line_that_breaks_the_contract_is_quoted_in_the_error():
    with pytest.raises(ValueError) as info:
        parse_result_line('{"checksum": 12, "items": 1, "bytes": 1, "work_seconds": 0.1}\n')
    assert str(info.value) == (
        "result field 'checksum' missing or not str (printed: "
        '\'{"checksum": 12, "items": 1, "bytes": 1, "work_seconds": 0.1}\')'
    )


# --- own builds -----------------------------------------------------------------------------------


def own_build_workload(folder: Path, build: str, binary: str = "bin/w"):
    text = manifest("w").replace(
        'library = "sh"\n',
        f'library = "sh"\nbuild = {json.dumps(build.split())}\nbinary = "{binary}"\n',
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "w.toml").write_text(text)
    for lang in ("go", "rust"):
        (folder / lang / "w").mkdir(parents=True, exist_ok=True)
    return config.load_manifest(folder / "w.toml")


@pytest.mark.skipif(toolchains.tool_version("go") is None, reason="go not installed")
def test_an_own_build_command_runs_in_the_manifests_folder_and_is_recorded(tmp_path):
    folder = tmp_path / "own"
    workload = own_build_workload(folder, "sh build.sh")
    (folder / "build.sh").write_text("mkdir -p bin && printf '#!/bin/sh\\necho hi\\n' > bin/w\n")
    go = workload.default_for("go")
    record = Builder(tmp_path / "cache").build(workload, go)
    assert record.ok, record.error
    assert record.command == ("sh", "build.sh")
    assert record.flags == f"own build: sh build.sh (in {folder.resolve()}), binary bin/w"
    assert Path(record.binary_path).read_bytes() == (folder / "bin" / "w").read_bytes()
    assert Builder(tmp_path / "cache").build(workload, go).cached  # unchanged folder: cached
    (folder / "build.sh").write_text("exit 0\n")  # a changed build: built again, and no binary
    (folder / "bin" / "w").unlink()
    missing = Builder(tmp_path / "cache").build(workload, go)
    assert not missing.ok
    assert missing.error.startswith(
        f"{folder / 'w.toml'}: the build command of go/default succeeded but field 'binary' "
        f"({folder.resolve() / 'bin' / 'w'}) is not a file"
    )
    (folder / "build.sh").write_text("echo broken >&2; exit 5\n")
    failed = Builder(tmp_path / "cache").build(workload, go)
    assert failed.error.startswith(
        f"{folder / 'w.toml'}: field 'build' of go/default: build failed (exit 5); log: "
    )
    assert "broken" in Path(failed.log_path).read_text()


@pytest.mark.skipif(toolchains.tool_version("go") is None, reason="go not installed")
def test_a_folder_without_a_go_module_says_what_it_needs(tmp_path):
    workload = config.load_manifest(written(tmp_path / "own", "w", ""))
    (tmp_path / "own" / "go" / "w").mkdir(parents=True)
    record = Builder(tmp_path / "cache").build(workload, workload.default_for("go"))
    own = (tmp_path / "own").resolve()
    assert record.error == (
        f"{own / 'go' / 'go.mod'} not found: {own} needs a Go module there (`harness new` "
        "creates one)"
    )


# --- harness new ----------------------------------------------------------------------------------


def test_new_writes_a_pair_and_refuses_to_overwrite(tmp_path, monkeypatch):
    monkeypatch.setattr(toolchains, "tool_version", lambda tool: None)  # no cargo: no lock update
    made = scaffold.scaffold(tmp_path / "own", "word-count", "batch")
    names = {p.relative_to(tmp_path / "own").as_posix() for p in made.created}
    assert names == {
        "word-count.toml",
        "docs/word-count.md",
        "generators/word_count.py",
        "go/go.mod",
        "go/word-count/main.go",
        "rust/Cargo.toml",
        "rust/crates/word-count/Cargo.toml",
        "rust/crates/word-count/src/main.rs",
        ".gitignore",
    }
    workload = config.load_manifest(tmp_path / "own" / "word-count.toml")
    assert workload.input.generator == "word_count" and workload.kind == "batch"
    record = prepare_input(workload, "quick", tmp_path / "cache")  # the generator stub works
    assert record.size_bytes > 0 and record.params == {"lines": 20000}
    with pytest.raises(HarnessError, match=r"word-count\.toml already exists"):
        scaffold.scaffold(tmp_path / "own", "word-count", "batch")
    second = scaffold.scaffold(tmp_path / "own", "echo", "server")  # the folder's module is kept
    names = {p.relative_to(tmp_path / "own").as_posix() for p in second.created}
    assert "go/go.mod" not in names and "go/echo/serve.go" in names
    assert "rust/crates/echo/src/serve.rs" in names
    server = config.load_manifest(tmp_path / "own" / "echo.toml")
    assert server.kind == "server" and server.server.health == "/health"
    with pytest.raises(HarnessError, match=r"NAME must match \[a-z0-9-\]\+"):
        scaffold.scaffold(tmp_path / "own", "Bad_Name", "batch")
