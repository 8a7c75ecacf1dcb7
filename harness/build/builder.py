"""Build each implementation with the public toolchains, time it, size it, and cache the binary.

The cache key is a hash of the language's source tree (<workloads dir>/go or <workloads dir>/rust,
which includes go.mod, go.sum, Cargo.toml and Cargo.lock), the toolchain version and the build
command, so an unchanged program is never rebuilt and a changed one always is. A cached record
keeps the build time of the build that produced it and says `cached=True`. Each workload builds in
the folder its manifest sits in (Workload.root), so workloads kept outside this repository build
with their own Go module and Cargo workspace.

An implementation may name its own build (`build` and `binary` in the manifest): the command runs
without a shell in the manifest's folder, the record keeps it, and the binary it leaves is copied
into the cache under the same kind of key.

A go+rust hybrid (`links` in the manifest) is built in two steps: cargo builds the Rust staticlib
crate, then `go build` links it through cgo (CGO_ENABLED=1, the library named in CGO_LDFLAGS under a
name carrying its content hash, because Go's build cache does not watch C libraries). Its cache key
covers both language trees and both toolchains plus the C compiler; its record keeps both steps'
times, every toolchain it ran and the shared libraries the binary needs (cgo links libc
dynamically, where a CGO_ENABLED=0 Go binary is static). Without cgo (CGO_ENABLED=0 set, or no C
compiler) a hybrid is not built: its record says why (`skip_reason`) and the run goes on without it.

Build times here come from a shared module cache / target folder, so dependencies another workload
already compiled are not compiled again: they are "warm dependency" builds, not clean builds. With
`profile=True` the builder also measures the clean and incremental build times and source lines
(harness/build/operations.py) and keeps them in the cached record, so they are measured once per hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from harness.build import environment as buildenv
from harness.build import operations as buildprofile
from harness.build import toolchains
from harness.errors import HarnessError
from harness.model import BuildRecord, Implementation, Lang, Workload
from harness.store.results import from_plain, write_atomic

GO_ENV = {"CGO_ENABLED": "0"}  # static binaries, the Go deployment norm; recorded in the flags
CGO_ENV = {"CGO_ENABLED": "1"}  # a go+rust hybrid: cgo links the Rust static library
GO_BUILD_FLAGS = ("-trimpath",)
CARGO_BUILD_FLAGS = ("--release", "--locked")
IGNORED_PARTS = {"target", "__pycache__", ".git"}


# cargo's words when Cargo.lock lacks a crate of the workspace (e.g. a new one) under --locked
_STALE_LOCK = ("cannot update the lock file", "needs to be updated but --locked was passed")


def language_root(workloads_dir: Path, lang: str) -> Path:
    return workloads_dir / lang


def staticlib_name(crate: str) -> str:
    """The file cargo writes for a staticlib crate: lib<crate, dashes as underscores>.a."""
    return f"lib{crate.replace('-', '_')}.a"


def cgo_unavailable(env: Mapping[str, str]) -> str | None:
    """Why cgo cannot build here (CGO_ENABLED=0 set, or no C compiler), or None when it can.
    `go env CC` names the compiler cgo would run (gcc unless CC says otherwise)."""
    if env.get("CGO_ENABLED") == "0":
        return "CGO_ENABLED=0 is set in the environment"
    compiler = c_compiler(env)
    if compiler is None:
        cc = env.get("CC") or "gcc"
        return f"no C compiler: `{cc}` (go env CC) is not on PATH"
    return None


def c_compiler(env: Mapping[str, str]) -> str | None:
    """The C compiler cgo would run, as an absolute path; None when it is not on PATH."""
    done = subprocess.run(
        ["go", "env", "CC"], env=dict(env), capture_output=True, text=True, check=False
    )
    words = shlex.split(done.stdout.strip() or env.get("CC") or "gcc")
    return shutil.which(words[0], path=env.get("PATH")) if words else None


def c_compiler_version(compiler: str) -> str:
    """The compiler's first `--version` line (e.g. "gcc (Debian 14.2.0-19) 14.2.0")."""
    done = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    return lines[0] if lines else compiler


def source_dir(workloads_dir: Path, impl: Implementation) -> Path:
    root = language_root(workloads_dir, impl.lang)
    return root / impl.path if impl.lang == "go" else root / "crates" / impl.path


def _hash_tree(digest, root: Path, base: Path, skip: Path | None = None) -> None:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if IGNORED_PARTS.intersection(path.relative_to(base).parts) or path == skip:
            continue
        digest.update(str(path.relative_to(base)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")


def source_hash(
    workloads_dir: Path,
    impl: Implementation,
    toolchain: str,
    command: tuple[str, ...],
    environment: Mapping[str, str] | None = None,
) -> str:
    """`toolchain` is every toolchain line the build depends on (a hybrid's: Go, rustc, CC);
    `environment` is the build's settings (harness/build/environment.py): a binary built with other
    RUSTFLAGS or GOAMD64 is another binary, never a cache hit."""
    root = language_root(workloads_dir, impl.lang)
    digest = hashlib.sha256()
    digest.update(f"{toolchain}\0{' '.join(command)}\0{sorted(GO_ENV.items())}\0".encode())
    if environment:
        digest.update(json.dumps(sorted(environment.items())).encode() + b"\0")
    if impl.links is not None:  # the Go tree and the Rust workspace both end up in the binary
        digest.update(f"links {impl.links}\0".encode())
        _hash_tree(digest, workloads_dir / "go", workloads_dir)
        _hash_tree(digest, workloads_dir / "rust", workloads_dir)
        return digest.hexdigest()
    # The whole language tree, not just the implementation's folder: variants share code with their
    # defaults (a Go model package, a Rust path dependency or a shared main.rs), and a missed
    # dependency would silently measure a stale binary. Unrelated edits cost a rebuild, never a lie.
    if impl.build is None:
        _hash_tree(digest, root, root)
    else:  # an own build may read anything in the folder (a Makefile, a shared package)
        _hash_tree(digest, workloads_dir, workloads_dir, skip=workloads_dir / str(impl.binary))
    return digest.hexdigest()


def rust_profile_flags(workspace_toml: Path) -> str:
    """The release profile as declared in the workspace, so results say what was compiled how."""
    try:
        profile = tomllib.loads(workspace_toml.read_text())["profile"]["release"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "cargo build --release (profile.release not declared: Cargo defaults)"
    settings = " ".join(f"{k}={v}" for k, v in profile.items())
    return f"cargo build {' '.join(CARGO_BUILD_FLAGS)}; profile.release: {settings}"


def cargo_target_dir(workspace: Path) -> Path:
    """Where cargo leaves the workspace's binaries: CARGO_TARGET_DIR when set (relative to the
    workspace, as cargo reads it), else the workspace's target/."""
    configured = os.environ.get("CARGO_TARGET_DIR")
    return workspace / configured if configured else workspace / "target"


def build_command(
    impl: Implementation, output: Path, extra_go_flags: tuple[str, ...] = ()
) -> tuple[str, ...]:
    if impl.build is not None:
        return impl.build
    if impl.lang == "go":
        flags = (*GO_BUILD_FLAGS, *extra_go_flags)
        return ("go", "build", *flags, "-o", os.fspath(output), f"./{impl.path}")
    return ("cargo", "build", *CARGO_BUILD_FLAGS, "-p", impl.path)


def missing_project(workloads_dir: Path, impl: Implementation) -> str | None:
    """What a workloads folder lacks for this implementation, in words; None when nothing."""
    root = language_root(workloads_dir, impl.lang)
    project = root / ("go.mod" if impl.lang == "go" else "Cargo.toml")
    if impl.build is None and not project.is_file():
        what = "a Go module" if impl.lang == "go" else "a Cargo workspace"
        return (
            f"{project} not found: {workloads_dir} needs {what} there (`harness new` creates one)"
        )
    if not source_dir(workloads_dir, impl).is_dir():
        return f"source folder {source_dir(workloads_dir, impl)} not found"
    if impl.links is not None:
        crate = language_root(workloads_dir, "rust") / "crates" / impl.links
        if not (crate / "Cargo.toml").is_file():
            return f"field 'links' of {impl.key}: Rust crate {crate} not found"
    return None


def build_failure(
    workload: Workload, impl: Implementation, exit_code: int, log_path: Path, root: Path
) -> str:
    """Why the build failed, with what to do when the log says it: a stale Cargo.lock is the
    usual first failure of a new crate, and cargo's own message hides the fix."""
    message = f"build failed (exit {exit_code}); log: {log_path}"
    if impl.build is not None:
        return f"{workload.manifest_path}: field 'build' of {impl.key}: {message}"
    if impl.lang == "rust":
        log = log_path.read_text(errors="replace")
        if any(words in log for words in _STALE_LOCK):
            return (
                f"{root / 'Cargo.lock'} is out of date (a crate of the workspace is missing from "
                f"it): run `cargo update -w` in {root}, then commit Cargo.lock; {message}"
            )
    return message


def _stripped_size(binary: Path) -> int | None:
    if shutil.which("strip") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stripped"
        done = subprocess.run(
            ["strip", "--strip-all", "-o", os.fspath(out), os.fspath(binary)],
            capture_output=True,
            check=False,
        )
        return out.stat().st_size if done.returncode == 0 else None


def needed_libraries(binary: Path) -> tuple[str, ...] | None:
    """The shared libraries an ELF binary needs at run time (its DT_NEEDED entries, as `readelf
    --dynamic` lists them): () for a static binary, None when readelf is missing or fails."""
    if shutil.which("readelf") is None:
        return None
    done = subprocess.run(
        ["readelf", "--dynamic", "--wide", os.fspath(binary)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return None
    return tuple(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", done.stdout))


def _hybrid_dependency_count(impl: Implementation, workloads_dir: Path) -> int | None:
    """A hybrid links both: the Go modules of its program (evaluated with cgo on) plus the
    third-party crates of its Rust staticlib."""
    go = _dependency_count(impl, workloads_dir / "go", CGO_ENV)
    rust = _dependency_count(
        replace(impl, lang="rust", path=str(impl.links), links=None), workloads_dir / "rust"
    )
    return None if go is None or rust is None else go + rust


def _dependency_count(
    impl: Implementation, root: Path, go_env: Mapping[str, str] = GO_ENV
) -> int | None:
    """Third-party packages linked into the binary: Go modules, Rust crates (name + version).

    Go: modules other than the main one that own a package in `go list -deps`, evaluated with the
    build's own environment (CGO_ENABLED=0 changes which files and packages are compiled in).
    Rust: `cargo tree -e normal,no-proc-macro`: build-script and proc-macro crates run at build time
    but are not linked, and path dependencies (the workspace's own crates) are not third-party.
    """
    if impl.lang == "go":
        argv = [
            "go",
            "list",
            "-deps",
            "-f",
            "{{with .Module}}{{if not .Main}}{{.Path}}{{end}}{{end}}",
            f"./{impl.path}",
        ]
        env = {**os.environ, **go_env}
    else:
        argv = [
            "cargo",
            "tree",
            "--offline",
            "--locked",
            "-p",
            impl.path,
            "-e",
            "normal,no-proc-macro",
            "--prefix",
            "none",
        ]
        env = dict(os.environ)
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    if impl.lang == "go":
        return len({line.strip() for line in done.stdout.splitlines() if line.strip()})
    return len(third_party_crates(done.stdout))


# `name vVERSION` then optional parenthesised notes: a path "(/abs/dir)" for a path dependency,
# "(proc-macro)", "(*)" for an already listed subtree, a git URL or "(registry `…`)" for a source.
_CARGO_TREE_LINE = re.compile(r"^(?P<name>[A-Za-z0-9_-]+) v(?P<version>\S+)(?P<notes>.*)$")
_LOCAL_SOURCE = re.compile(r"\((?:/|[A-Za-z]:[\\/])")


def third_party_crates(tree_output: str) -> set[tuple[str, str]]:
    """(name, version) of every non-path package in `cargo tree --prefix none` output.

    Two versions of one crate are two packages compiled and audited, so they count twice.
    """
    crates = set()
    for line in tree_output.splitlines():
        match = _CARGO_TREE_LINE.match(line.strip())
        if match and not _LOCAL_SOURCE.search(match["notes"]):
            crates.add((match["name"], match["version"]))
    return crates


def _timed(command: tuple[str, ...], cwd: Path, env: Mapping[str, str], log) -> tuple[int, float]:
    """Run one build step (no shell) with its output in the log: exit status and wall seconds."""
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=dict(env), check=False
        )
    except OSError as exc:
        raise HarnessError(f"cannot run {command[0]}: {exc.strerror}") from exc
    return done.returncode, time.perf_counter() - start


@dataclass(frozen=True)
class BuildFlavour:
    """Settings a build adds to the defaults, for binaries apart from the timed ones (the CPU
    profile's Rust build: frame pointers and line tables; the race check's Go build: `-race`).
    Its binaries carry the flavour's name, a cargo build gets a target folder of its own (so the
    timed binaries are never rebuilt with it), and its source hash differs from the timed build's.
    A flavour that needs cgo (`go build -race` does) is not built without it: the record says why
    (`skip_reason`), as for a go+rust hybrid."""

    name: str
    env: Mapping[str, str]
    target: str = ""  # the cargo target folder, under the cache folder (Rust flavours)
    lang: Lang = "rust"  # the language whose builds it changes
    flags: tuple[str, ...] = ()  # added to `go build` after the harness's own (Go flavours)
    needs_cgo: bool = False

    def describe(self) -> str:
        settings = "; ".join(
            [
                *(f"{k}={v}" for k, v in self.env.items()),
                *(["flags " + " ".join(self.flags)] if self.flags else []),
            ]
        )
        where = f"; CARGO_TARGET_DIR={self.target}" if self.lang == "rust" else ""
        return f"{self.name} build: {settings}{where} (apart from the timed binary)"


@dataclass(frozen=True)
class _Plan:
    """What a build will do, worked out before it runs (and without running it)."""

    toolchain: toolchains.Toolchain
    workloads_dir: Path
    root: Path
    stem: str  # the binary's name before its hash
    digest: str
    env: Mapping[str, str]
    environment: buildenv.BuildEnvironment
    flavour: BuildFlavour | None
    tools: tuple[str, ...]  # every toolchain the build runs (a cgo flavour's C compiler too)


VARIANT_NOT_PROFILED = (
    "a labelled variant or back end: clean and incremental builds not measured (the default pairs "
    "are; `harness run --build-profile-variants` measures every program)"
)


class Builder:
    """Builds implementations into `cache_dir/bin`, reusing a binary whose source hash matches.

    `profile=True` adds the build profile (clean and incremental build time, source lines) to each
    default implementation's record; it costs a clean build each, so it is measured once per source
    hash and stored in the cached record (a cached record without it gets it on the next profiled
    build). The labelled variants and back ends are profiled only with `profile_variants`: the
    report's Go/Rust build comparison and the decision matrix read the default pairs', and a clean
    build of every variant (half the programs, each compiling its dependencies again) was most of
    a first full run's build profile.
    """

    def __init__(
        self,
        cache_dir: Path,
        profile: bool = False,
        flavour: BuildFlavour | None = None,
        profile_variants: bool = False,
    ):
        self.cache_dir = cache_dir.resolve()  # absolute: the toolchains run in other folders
        self.bin_dir = self.cache_dir / "bin"
        self.log_dir = self.cache_dir / "logs"
        self.scratch_dir = self.cache_dir / "build-profile"
        self.profile = profile
        self.profile_variants = profile_variants
        self.flavour = flavour

    def _profiled(self, impl: Implementation) -> bool:
        return self.profile and (impl.is_default or self.profile_variants)

    def _flavoured(self, impl: Implementation) -> BuildFlavour | None:
        """The flavour applies to the harness's own builds of its language (not a manifest's own
        build, nor a go+rust hybrid's two-step build)."""
        if self.flavour is None or impl.lang != self.flavour.lang or impl.build is not None:
            return None
        return None if impl.links is not None else self.flavour

    def source_hash_of(self, workload: Workload, impl: Implementation) -> str:
        """The source hash this builder's build of `impl` has (and a run's record of it states),
        without building: e.g. whether a profile built another flavour of the same sources."""
        return self._plan(workload, impl).digest

    def _plan(self, workload: Workload, impl: Implementation) -> _Plan:
        toolchain = toolchains.require(impl.lang)
        workloads_dir = workload.root.resolve()
        root = language_root(workloads_dir, impl.lang)
        flavour = self._flavoured(impl)
        stem = f"{impl.lang}-{flavour.name}-{impl.path}" if flavour else f"{impl.lang}-{impl.path}"
        command = build_command(impl, self.bin_dir / stem, flavour.flags if flavour else ())
        forced = GO_ENV if impl.lang == "go" and impl.build is None else {}
        if flavour is not None and flavour.lang == "go":
            forced = {**forced, **flavour.env}
        elif flavour is not None:
            forced = {**flavour.env, "CARGO_TARGET_DIR": os.fspath(self.cache_dir / flavour.target)}
        env = {**os.environ, **forced}
        environment = buildenv.of(impl.lang, env, root if root.is_dir() else workloads_dir, forced)
        hashed = command if flavour is None else (*command, flavour.name)
        tools: tuple[str, ...] = (toolchain.version,)
        if flavour is not None and flavour.needs_cgo:  # the C compiler links the binary too
            compiler = None if cgo_unavailable(os.environ) else c_compiler(os.environ)
            tools += (c_compiler_version(compiler) if compiler else "no C compiler",)
        digest = source_hash(workloads_dir, impl, "\0".join(tools), hashed, environment.settings)
        return _Plan(toolchain, workloads_dir, root, stem, digest, env, environment, flavour, tools)

    def build(self, workload: Workload, impl: Implementation) -> BuildRecord:
        if impl.links is not None:
            return self._build_hybrid(workload, impl)
        plan = self._plan(workload, impl)
        toolchain, workloads_dir, root, stem = (
            plan.toolchain,
            plan.workloads_dir,
            plan.root,
            plan.stem,
        )
        digest, env, environment, flavour = plan.digest, plan.env, plan.environment, plan.flavour
        binary = self.bin_dir / f"{stem}-{digest[:16]}"
        record_path = binary.with_suffix(".json")
        if impl.build is not None:
            flags = f"own build: {' '.join(impl.build)} (in {workloads_dir}), binary {impl.binary}"
        elif impl.lang == "go":
            go_flags = (*GO_BUILD_FLAGS, *(flavour.flags if flavour else ()))
            go_env = {**GO_ENV, **(flavour.env if flavour else {})}
            flags = (
                f"go build {' '.join(go_flags)}; "
                + " ".join(f"{k}={v}" for k, v in go_env.items())
                + f"; {buildenv.describe('go', environment)}"
                + (f"; {flavour.describe()}" if flavour else "")
            )
        else:
            flags = (
                f"{rust_profile_flags(root / 'Cargo.toml')}; "
                + buildenv.describe("rust", environment)
                + (f"; {flavour.describe()}" if flavour else "")
            )
        if binary.exists() and record_path.exists():
            cached = from_plain(BuildRecord, json.loads(record_path.read_text()))
            if self._profiled(impl) and cached.ok and cached.clean_build_seconds is None:
                cached = self._with_profile(workload, impl, cached)
                write_atomic(record_path, json.dumps(asdict(cached), indent=1).encode())
            elif (
                self.profile
                and cached.ok
                and cached.clean_build_seconds is None
                and not cached.profile_error
            ):
                cached = replace(cached, profile_error=VARIANT_NOT_PROFILED)
            return replace(cached, workload=workload.name, variant=impl.variant, cached=True)

        log_name = f"{workload.name}-{impl.lang}-{impl.variant}"
        log_path = self.log_dir / (
            f"{log_name}.{flavour.name}.log" if flavour else f"{log_name}.log"
        )
        command = build_command(impl, binary, flavour.flags if flavour else ())
        base = BuildRecord(
            workload=workload.name,
            lang=impl.lang,
            variant=impl.variant,
            ok=False,
            toolchain=toolchain.version,
            command=command,
            flags=flags,
            source_hash=digest,
            log_path=os.fspath(log_path),
            environment=environment.settings,
            environment_changes=environment.changes,
        )
        missing = missing_project(workloads_dir, impl)
        if missing:
            return replace(base, error=missing)
        unavailable = cgo_unavailable(os.environ) if flavour and flavour.needs_cgo else None
        if unavailable:
            reason = f"the {flavour.name} build needs cgo, and {unavailable}"
            return replace(base, skip_reason=reason, error=f"skipped: {reason}")
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        cwd = workloads_dir if impl.build is not None else root
        start = time.perf_counter()
        with log_path.open("wb") as log:
            try:
                done = subprocess.run(
                    command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env, check=False
                )
            except OSError as exc:
                if impl.build is None:
                    raise HarnessError(f"cannot run {command[0]}: {exc.strerror}") from exc
                done = subprocess.CompletedProcess(command, 127)
                log.write(f"cannot run {command[0]}: {exc.strerror}\n".encode())
        build_seconds = time.perf_counter() - start
        if done.returncode != 0:
            return replace(
                base,
                build_seconds=build_seconds,
                error=build_failure(workload, impl, done.returncode, log_path, root),
            )
        if impl.build is not None:
            built = workloads_dir / str(impl.binary)
            if not built.is_file():
                return replace(
                    base,
                    build_seconds=build_seconds,
                    error=f"{workload.manifest_path}: the build command of {impl.key} succeeded "
                    f"but field 'binary' ({built}) is not a file; log: {log_path}",
                )
            shutil.copy2(built, binary)
        elif impl.lang == "rust":
            target = self.cache_dir / flavour.target if flavour else cargo_target_dir(root)
            shutil.copy2(target / "release" / impl.path, binary)
        record = replace(
            base,
            ok=True,
            binary_path=os.fspath(binary.resolve()),
            build_seconds=build_seconds,
            binary_bytes=binary.stat().st_size,
            stripped_bytes=_stripped_size(binary),
            dependency_count=_dependency_count(
                impl, root, {**GO_ENV, **(flavour.env if flavour else {})}
            ),
            toolchains=plan.tools,
            needed_libraries=needed_libraries(binary),
        )
        if self._profiled(impl):
            record = self._with_profile(workload, impl, record)
        write_atomic(record_path, json.dumps(asdict(record), indent=1).encode())
        if self.profile and record.clean_build_seconds is None and record.profile_error is None:
            record = replace(record, profile_error=VARIANT_NOT_PROFILED)  # said, not cached
        return record

    def _build_hybrid(self, workload: Workload, impl: Implementation) -> BuildRecord:
        """A go+rust hybrid: cargo builds the staticlib crate `impl.links`, then `go build` links
        it through cgo. Without cgo nothing is built and the record says why (`skip_reason`)."""
        assert impl.links is not None
        go, rust = toolchains.require("go"), toolchains.require("rust")
        workloads_dir = workload.root.resolve()
        go_root, rust_root = (language_root(workloads_dir, lang) for lang in ("go", "rust"))
        stem = f"go-{impl.path}"
        lib_command = ("cargo", "build", *CARGO_BUILD_FLAGS, "-p", impl.links)
        # Both toolchains' settings as they saw them (harness/build/environment.py); CGO_LDFLAGS is the
        # harness's own (the library's path), set after cargo has built it.
        go_settings = buildenv.of("go", {**os.environ, **CGO_ENV}, go_root, CGO_ENV)
        rust_settings = buildenv.of("rust", os.environ, rust_root)
        flags = (
            f"{' '.join(lib_command)} (staticlib; "
            f"{rust_profile_flags(rust_root / 'Cargo.toml').partition('; ')[2]}; "
            f"{buildenv.describe('rust', rust_settings)}), then go build "
            f"{' '.join(GO_BUILD_FLAGS)} with CGO_ENABLED=1 and the library in CGO_LDFLAGS; "
            f"{buildenv.describe('go', go_settings)}"
        )
        environment = {**rust_settings.settings, **go_settings.settings}
        base = BuildRecord(
            workload=workload.name,
            lang=impl.lang,
            variant=impl.variant,
            ok=False,
            toolchain=go.version,
            command=build_command(impl, self.bin_dir / stem),
            flags=flags,
            source_hash="",
            links=impl.links,
            environment=environment,
            environment_changes=rust_settings.changes + go_settings.changes,
        )
        unavailable = cgo_unavailable(os.environ)
        compiler = None if unavailable else c_compiler(os.environ)
        if unavailable or compiler is None:
            reason = f"the go+rust hybrid needs cgo, and {unavailable or 'no C compiler was found'}"
            return replace(base, skip_reason=reason, error=f"skipped: {reason}")
        tools = (go.version, rust.version, c_compiler_version(compiler))
        digest = source_hash(workloads_dir, impl, "\0".join(tools), base.command, environment)
        binary = self.bin_dir / f"{stem}-{digest[:16]}"
        record_path = binary.with_suffix(".json")
        if binary.exists() and record_path.exists():
            cached = from_plain(BuildRecord, json.loads(record_path.read_text()))
            if self.profile:
                cached = self._with_profile(workload, impl, cached)
            return replace(
                cached,
                workload=workload.name,
                variant=impl.variant,
                cached=True,
            )
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{workload.name}-{impl.lang}-{impl.variant}.log"
        base = replace(
            base,
            command=build_command(impl, binary),
            source_hash=digest,
            toolchains=tools,
            log_path=os.fspath(log_path),
        )
        missing = missing_project(workloads_dir, impl)
        if missing:
            return replace(base, error=missing)
        steps: dict[str, float] = {}
        with log_path.open("wb") as log:
            code, steps["cargo build (staticlib)"] = _timed(lib_command, rust_root, os.environ, log)
            if code == 0:
                built = cargo_target_dir(rust_root) / "release" / staticlib_name(impl.links)
                library = self.bin_dir / (
                    f"{built.stem}-{hashlib.sha256(built.read_bytes()).hexdigest()[:16]}.a"
                )
                shutil.copy2(built, library)
                env = {**os.environ, **CGO_ENV, "CGO_LDFLAGS": f"-O2 -g {library}"}
                code, steps["go build (cgo)"] = _timed(base.command, go_root, env, log)
        base = replace(base, build_seconds=sum(steps.values()), step_seconds=steps)
        if code != 0:
            return replace(base, error=build_failure(workload, impl, code, log_path, rust_root))
        record = replace(
            base,
            ok=True,
            binary_path=os.fspath(binary.resolve()),
            binary_bytes=binary.stat().st_size,
            stripped_bytes=_stripped_size(binary),
            dependency_count=_hybrid_dependency_count(impl, workloads_dir),
            needed_libraries=needed_libraries(binary),
        )
        record = self._with_profile(workload, impl, record) if self.profile else record
        write_atomic(record_path, json.dumps(asdict(record), indent=1).encode())
        return record

    def _with_profile(
        self, workload: Workload, impl: Implementation, record: BuildRecord
    ) -> BuildRecord:
        """The record plus its build profile, or plus the reason it could not be measured."""
        if impl.links is not None:
            return replace(
                record,
                profile_error="go+rust hybrid: clean and incremental builds not measured (the "
                "profile builds one language tree; the two build steps' times are in the record)",
            )
        if impl.build is not None:
            return replace(
                record, profile_error="own build command: clean and incremental builds not measured"
            )
        log_path = self.log_dir / f"{workload.name}-{impl.lang}-{impl.variant}.profile.log"
        try:
            profile = buildprofile.measure(
                impl.lang,
                language_root(workload.root.resolve(), impl.lang),
                impl.path,
                lambda output: build_command(impl, output),
                {**os.environ, **(GO_ENV if impl.lang == "go" else {})},
                self.scratch_dir,
                log_path,
                IGNORED_PARTS,
            )
        except (HarnessError, OSError) as exc:
            return replace(record, profile_error=str(exc))
        return replace(
            record,
            clean_build_seconds=profile.clean_build_seconds,
            incremental_build_seconds=profile.incremental_build_seconds,
            source_lines=profile.source_lines,
            source_files=profile.source_files,
            profile_error=None,
        )
