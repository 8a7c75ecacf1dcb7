"""Build and operations profile of one implementation: clean build, incremental build, own source size.

Why a separate module: these figures need builds with throw-away caches in a throw-away copy of the
language tree, and must never touch the repository or the shared caches that build.py uses.

- **Clean build**: the language tree (workloads/go or workloads/rust, without `target/`) is copied
  into a scratch folder and built there with build.py's own command and flags, with an empty GOCACHE
  (Go: the standard library packages the program uses are compiled too) or an empty
  CARGO_TARGET_DIR (Rust: every crate in the tree is compiled). Go modules and Rust crates must be
  downloaded already (`make` does it): GOPROXY=off and cargo `--offline` make a missing one a failure
  rather than a download timed as compilation. Compiler caching wrappers (GOCACHEPROG, RUSTC_WRAPPER)
  are removed, as they would make a clean build warm.
- **Incremental build**: a comment line is appended to the implementation's main source file (the
  Go file with `func main`, the Rust bin target's `src_path` from `cargo metadata`) in the copy, and
  the same command runs again with the same cache. An mtime bump would not do: Go keys its cache on
  content hashes, so `touch` rebuilds nothing. The output is checked to show that the edited package
  or crate really was recompiled (`go build -v` lists compiled packages; cargo prints `Compiling`).
  The Rust figure reflects the workspace's release profile (`incremental = false`: the whole leaf
  crate is recompiled, dependencies are not).
- **Source lines**: non-blank, non-comment lines of the .go / .rs files compiled into the binary from
  the repository itself: for Go the packages of the main module in `go list -deps` (e.g. json/model),
  for Rust the local files in cargo's dep-info for the binary (path dependencies such as the json
  library, a main.rs shared with another crate). Tests, generated inputs and third-party code are not
  counted.

Each figure is one run, wall time by `time.perf_counter` around the toolchain command.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.model import Lang

EDIT_LINE = "// harness build profile: incremental edit\n"
# Environment that would turn a clean build into a cached one.
CACHING_WRAPPERS = ("GOCACHEPROG", "RUSTC_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER")
DEFAULT_IGNORED_PARTS = frozenset({"target", "__pycache__", ".git"})


class ProfileError(HarnessError):
    """The profile could not be measured honestly; the build itself may still be fine."""


@dataclass(frozen=True)
class BuildProfile:
    clean_build_seconds: float
    incremental_build_seconds: float
    source_lines: int
    source_files: tuple[str, ...]  # relative to the language root
    edited_file: str  # relative to the language root


# --- source lines (pure) -------------------------------------------------------------------------

_IDENT = re.compile(r"\w")
_RUST_RAW_STRING = re.compile(r'[bc]?r(#*)"')
_RUST_PREFIXED = re.compile(r"[bc]['\"]")


def _quoted_end(text: str, start: int, quote: str) -> int:
    """Index after a quoted literal opened at `start`, honouring backslash escapes."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == quote:
            return i + 1
        else:
            i += 1
    return len(text)


def _char_end(text: str, start: int) -> int:
    """Index after a char/rune literal at `start`, or start + 1 for a Rust lifetime or label."""
    if start + 1 < len(text) and text[start + 1] == "\\":
        close = text.find("'", start + 3)
        newline = text.find("\n", start)
        if close >= 0 and (newline < 0 or close < newline):
            return close + 1
        return start + 1
    if start + 2 < len(text) and text[start + 2] == "'" and text[start + 1] != "\n":
        return start + 3
    return start + 1


def _literal_end(text: str, i: int, lang: Lang) -> int:
    """Index after the string or char literal starting at `i`, or i + 1 for any other code."""
    c = text[i]
    if lang == "rust" and c in "bcr" and (i == 0 or not _IDENT.match(text[i - 1])):
        raw = _RUST_RAW_STRING.match(text, i)
        if raw:
            closing = '"' + raw.group(1)
            end = text.find(closing, raw.end())
            return len(text) if end < 0 else end + len(closing)
        if _RUST_PREFIXED.match(text, i):
            return _literal_end(text, i + 1, lang)
    if c == '"':
        return _quoted_end(text, i, '"')
    if c == "'":
        return _char_end(text, i)
    if c == "`" and lang == "go":
        end = text.find("`", i + 1)
        return len(text) if end < 0 else end + 1
    return i + 1


def count_code_lines(text: str, lang: Lang) -> int:
    """Lines holding at least one non-blank character outside comments.

    Comments are `//` to end of line (doc comments included) and `/* */` blocks (nested in Rust).
    String, raw-string and char literals are skipped whole, so `"http://x"` is code, not a comment;
    a line inside a multi-line literal counts when it is not blank.
    """
    code_lines: set[int] = set()
    line, i, depth, n = 0, 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif depth:
            if text.startswith("*/", i):
                depth, i = depth - 1, i + 2
            elif lang == "rust" and text.startswith("/*", i):
                depth, i = depth + 1, i + 2
            else:
                i += 1
        elif c.isspace():
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
        else:
            end = _literal_end(text, i, lang)
            for offset, part in enumerate(text[i:end].split("\n")):
                if part.strip():
                    code_lines.add(line + offset)
            line += text.count("\n", i, end)
            i = end
    return len(code_lines)


# What follows `unsafe` names what it marks: `unsafe {` a block, `unsafe fn`, `unsafe impl`,
# `unsafe trait`, `unsafe extern` (a block of foreign items, Rust 2024), and `#[unsafe(...)]` an
# unsafe attribute (no_mangle, export_name, link_section in Rust 2024).
UNSAFE_KINDS = {"{": "block", "fn": "fn", "impl": "impl", "trait": "trait", "extern": "extern"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def count_unsafe(text: str) -> dict[str, int]:
    """How often Rust source uses the `unsafe` keyword, by what it marks (UNSAFE_KINDS, plus
    "attribute" and "other"), outside comments and string, raw-string and char literals.

    The same scan as count_code_lines: comments and literals are skipped whole, so
    `// unsafe { }` and `"unsafe"` count nothing, and an identifier containing the word
    (`not_unsafe`, `r#unsafe`) is not the keyword. An `unsafe fn` inside an `unsafe impl` counts
    once each; an `unsafe` inside a macro's tokens counts like any other."""
    counts: dict[str, int] = {}
    i, depth, n = 0, 0, len(text)
    while i < n:
        if depth:
            if text.startswith("*/", i):
                depth, i = depth - 1, i + 2
            elif text.startswith("/*", i):
                depth, i = depth + 1, i + 2
            else:
                i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
        elif (word := _WORD.match(text, i)) and not (i and text[i - 1] in "#'"):
            raw = _RUST_RAW_STRING.match(text, i) or _RUST_PREFIXED.match(text, i)
            if raw:  # r"..", br#".."#, b'x', c".." start like a word
                i = _literal_end(text, i, "rust")
                continue
            if word.group() == "unsafe":
                rest = text[word.end() :].lstrip()
                following = _WORD.match(rest)
                if rest.startswith("{"):
                    kind = "block"
                elif rest.startswith("(") and text[:i].rstrip().endswith("["):
                    kind = "attribute"
                else:
                    kind = UNSAFE_KINDS.get(following.group() if following else "", "other")
                counts[kind] = counts.get(kind, 0) + 1
            i = word.end()
        elif text[i] in "\"'":
            i = _literal_end(text, i, "rust")
        else:
            i += 1
    return counts


def parse_dep_info(text: str) -> list[str]:
    """Prerequisites of the first rule of a Makefile-style dep-info file (cargo's `<bin>.d`)."""
    text = text.replace("\\\n", " ")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    colon = re.search(r"(?<!\\):(?=\s|$)", first)
    if colon is None:
        return []
    tokens = re.split(r"(?<!\\)\s+", first[colon.end() :].strip())
    return [t.replace("\\ ", " ") for t in tokens if t]


# --- subprocess orchestration --------------------------------------------------------------------


def _run(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str], log: Path
) -> tuple[int, float, str]:
    """Run in its own process group; on any exception (Ctrl-C included) kill the group and reap."""
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    except OSError as exc:
        raise ProfileError(f"cannot run {argv[0]}: {exc.strerror}") from exc
    try:
        output, _ = proc.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    seconds = time.perf_counter() - start
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}  (exit {proc.returncode}, {seconds:.2f} s)\n{output}\n")
    return proc.returncode, seconds, output


def _checked(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str], log: Path
) -> tuple[float, str]:
    code, seconds, output = _run(argv, cwd, env, log)
    if code != 0:
        raise ProfileError(f"`{' '.join(argv)}` failed (exit {code}); log: {log}")
    return seconds, output


def _go_sources(tree: Path, package: str, env: Mapping[str, str], log: Path) -> tuple[Path, ...]:
    """The main module's .go files compiled into the binary, implementation package first."""
    template = (
        '{{if .Module}}{{if .Module.Main}}{{.Dir}}{{"\\t"}}{{join .GoFiles "\\t"}}'
        '{{"\\n"}}{{end}}{{end}}'
    )
    _, output = _checked(["go", "list", "-deps", "-f", template, f"./{package}"], tree, env, log)
    main_dir = (tree / package).resolve()
    files: list[Path] = []
    for row in output.splitlines():
        directory, *names = row.split("\t")
        paths = [Path(directory) / name for name in names if name]
        files = [*paths, *files] if Path(directory).resolve() == main_dir else [*files, *paths]
    return tuple(files)


def _go_main_file(tree: Path, package: str, sources: Sequence[Path]) -> Path:
    own = [p for p in sources if p.parent.resolve() == (tree / package).resolve()]
    for path in own:
        if path.name == "main.go":
            return path
    for path in own:
        if re.search(r"^func main\(\)", path.read_text(), re.MULTILINE):
            return path
    raise ProfileError(f"no Go file with func main in {package}")


def _rust_main_file(tree: Path, crate: str, env: Mapping[str, str], log: Path) -> Path:
    argv = ["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"]
    code, _, output = _run(argv, tree, env, log)
    if code != 0:
        raise ProfileError(f"`{' '.join(argv)}` failed (exit {code}); log: {log}")
    # cargo may print warnings before the JSON on the combined stream: the JSON is the last line.
    metadata = json.loads(output.strip().splitlines()[-1])
    for package in metadata["packages"]:
        if package["name"] != crate:
            continue
        for target in package["targets"]:
            if "bin" in target["kind"] and target["name"] == crate:
                return Path(os.path.normpath(target["src_path"]))
    raise ProfileError(f"crate {crate} has no bin target named {crate}")


def rust_sources(tree: Path, target_dir: Path, crate: str) -> tuple[Path, ...]:
    """The repository's .rs files in cargo's dep-info for the binary (cargo lists local files only)."""
    dep_info = target_dir / "release" / f"{crate}.d"
    try:
        text = dep_info.read_text()
    except OSError as exc:
        raise ProfileError(f"cannot read cargo dep-info {dep_info}: {exc.strerror}") from exc
    root = tree.resolve()
    files = []
    for name in parse_dep_info(text):
        path = Path(name).resolve()
        if path.suffix == ".rs" and path.is_relative_to(root):
            files.append(path)
    return tuple(dict.fromkeys(files))


def _profile_env(lang: Lang, base_env: Mapping[str, str], cache: Path) -> dict[str, str]:
    env = {k: v for k, v in base_env.items() if k not in CACHING_WRAPPERS}
    if lang == "go":
        env.update(GOCACHE=os.fspath(cache), GOPROXY="off")
    else:
        env.update(CARGO_TARGET_DIR=os.fspath(cache))
    return env


def _profile_command(lang: Lang, command: Sequence[str]) -> tuple[str, ...]:
    """build.py's command plus `-v` (Go: lists what was compiled) or `--offline` (Rust)."""
    if lang == "go":
        return (command[0], command[1], "-v", *command[2:])
    return (*command, "--offline")


def _recompiled(lang: Lang, output: str, name: str) -> bool:
    if lang == "go":
        return name in {line.strip() for line in output.splitlines()}
    return re.search(rf"^\s*Compiling {re.escape(name)} v", output, re.MULTILINE) is not None


def measure(
    lang: Lang,
    language_root: Path,
    package: str,
    command_for: Callable[[Path], Sequence[str]],
    base_env: Mapping[str, str],
    scratch_parent: Path,
    log_path: Path,
    ignored_parts: Collection[str] = DEFAULT_IGNORED_PARTS,
) -> BuildProfile:
    """Clean build, incremental build and source lines of one implementation, in a scratch copy.

    `command_for(output)` is build.py's build command writing the binary to `output` (Rust ignores
    it). `scratch_parent` holds the temporary copy and caches; they are removed on return, on error
    and on Ctrl-C, after the toolchain's process group is dead.
    """
    scratch_parent.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(f"build profile of {lang} {package}\n")
    with tempfile.TemporaryDirectory(prefix=f"{lang}-{package}-", dir=scratch_parent) as scratch:
        scratch_dir = Path(scratch)
        tree = scratch_dir / "tree"
        cache = scratch_dir / ("gocache" if lang == "go" else "target")
        shutil.copytree(
            language_root,
            tree,
            symlinks=True,
            ignore=lambda _dir, names: [n for n in names if n in ignored_parts],
        )
        env = _profile_env(lang, base_env, cache)
        command = _profile_command(lang, command_for(scratch_dir / "bin" / package))

        clean_seconds, _ = _checked(command, tree, env, log_path)

        if lang == "go":
            sources = _go_sources(tree, package, env, log_path)
            main_file = _go_main_file(tree, package, sources)
            rebuilt_unit = f"{_go_module_path(tree)}/{package}"
        else:
            sources = rust_sources(tree, cache, package)
            main_file = _rust_main_file(tree, package, env, log_path)
            rebuilt_unit = package
        if not sources:
            raise ProfileError(f"no {lang} source files found for {package}; log: {log_path}")
        lines = sum(count_code_lines(path.read_text(), lang) for path in sources)

        text = main_file.read_text()
        main_file.write_text(text + ("" if text.endswith("\n") else "\n") + EDIT_LINE)
        incremental_seconds, output = _checked(command, tree, env, log_path)
        if not _recompiled(lang, output, rebuilt_unit):
            raise ProfileError(
                f"incremental build of {package} did not recompile {rebuilt_unit}; log: {log_path}"
            )
        root = tree.resolve()
        return BuildProfile(
            clean_build_seconds=clean_seconds,
            incremental_build_seconds=incremental_seconds,
            source_lines=lines,
            source_files=tuple(str(p.resolve().relative_to(root)) for p in sources),
            edited_file=str(main_file.resolve().relative_to(root)),
        )


def _go_module_path(tree: Path) -> str:
    for line in (tree / "go.mod").read_text().splitlines():
        if line.startswith("module "):
            return line.split()[1]
    raise ProfileError(f"{tree / 'go.mod'}: no module line")
