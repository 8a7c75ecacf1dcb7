"""Which recorded build settings can change the generated code, and which cannot.

A build record keeps every setting that differs from the toolchain's defaults
(`BuildRecord.environment_changes`, harness/build/environment.py). Most are worth a warning, since
two sides built unlike each other would not be a fair comparison; a few change no generated code
(a `go env -w GOFLAGS=-buildvcs=false` left in the go env file), and a warning for each build of
those would teach a reader to ignore warnings. So each setting is classified here, and:

- one that changes no code is recorded as before and listed once in the report's methodology;
- one that can change code warns once per run, naming every build it touched, and is listed in
  the methodology beside those builds.

The tables below are the classification. A GOFLAGS value is split into its flags and each flag is
classified on its own. **Anything not in a no-code table counts as possibly code-changing**: an
unknown setting (a new toolchain variable, a cargo config file, a wrapper) is warned on rather
than trusted, so a missing entry costs a needless warning, never a silent difference.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.model import BuildRecord

# (why they change no generated code, the variable names or name prefixes) — environment variables.
NO_CODE_VARIABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "where modules, caches, downloads and binaries live, and how modules are fetched and "
        "verified: the same source (go.sum and Cargo.lock pin it) compiles to the same code",
        (
            "GOPROXY",
            "GOSUMDB",
            "GONOSUMDB",
            "GONOPROXY",
            "GOPRIVATE",
            "GOINSECURE",
            "GOVCS",
            "GOAUTH",
            "GOMODCACHE",
            "GOCACHE",
            "GOPATH",
            "GOENV",
            "GOTMPDIR",
            "GOCACHEPROG",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_TARGET_DIR",
        ),
    ),
    (
        "how cargo talks and reports (terminal output, network retries, registries, HTTP): "
        "nothing that reaches the compiler",
        ("CARGO_TERM_", "CARGO_NET_", "CARGO_HTTP_", "CARGO_REGISTRIES_", "CARGO_REGISTRY_"),
    ),
    ("how many jobs build at once: the same code, sooner", ("CARGO_BUILD_JOBS",)),
)
# (why, flag names) — flags inside GOFLAGS, "-name" or "-name=value".
NO_CODE_GOFLAGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "version-control stamping: it only adds or drops the vcs.* lines of the binary's build "
        "info, not a single instruction",
        ("-buildvcs",),
    ),
    (
        "module mode and module cache permissions: whether go.mod may be updated or vendor/ is "
        "read, never which versions are compiled (go.sum and vendor/modules.txt must agree)",
        ("-mod", "-modcacherw"),
    ),
    (
        "what the go command prints and how it schedules the work (-a rebuilds what it would "
        "build anyway)",
        ("-v", "-x", "-n", "-p", "-work", "-json", "-a"),
    ),
)
# Known to change code, kept as data so the docstrings can say why; anything absent from both
# tables is treated the same way (conservative). Names or name prefixes.
CODE_SETTINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "the target: instruction set level, architecture, operating system",
        ("GOAMD64", "GOARM", "GO386", "GOMIPS", "GOPPC64", "GORISCV64", "GOWASM", "GOARCH", "GOOS"),
    ),
    ("compiler and runtime experiments", ("GOEXPERIMENT",)),
    (
        "which compiler runs: a toolchain switch, a rustc or a wrapper in its place",
        ("GOTOOLCHAIN", "RUSTC", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER"),
    ),
    (
        "compiler, linker and C flags, profiles, per-target settings, cgo, incremental "
        "compilation (which changes how code is split into codegen units)",
        (
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_BUILD_",
            "CARGO_PROFILE_",
            "CARGO_TARGET_",
            "CARGO_INCREMENTAL",
            "CGO_",
            "CC",
            "CFLAGS",
            "CXX",
            "CXXFLAGS",
            "cargo config ",
        ),
    ),
)
CODE_GOFLAGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "compiler, assembler and linker flags, build tags, instrumentation, profile-guided "
        "optimisation, path trimming, build mode, another go.mod or an overlay",
        (
            "-gcflags",
            "-ldflags",
            "-asmflags",
            "-gccgoflags",
            "-tags",
            "-race",
            "-msan",
            "-asan",
            "-cover",
            "-covermode",
            "-coverpkg",
            "-pgo",
            "-trimpath",
            "-buildmode",
            "-compiler",
            "-linkshared",
            "-toolexec",
            "-overlay",
            "-modfile",
            "-installsuffix",
        ),
    ),
)
_DEFAULT = re.compile(r" \(default (?P<value>'.*'|\".*\")\)$")


def _matches(name: str, entries: tuple[str, ...]) -> bool:
    return any(name == e or (e.endswith(("_", " ")) and name.startswith(e)) for e in entries)


def _in(table: tuple[tuple[str, tuple[str, ...]], ...], name: str) -> bool:
    return any(_matches(name, entries) for _, entries in table)


def variable_changes_code(name: str) -> bool:
    """False only for a variable a no-code table lists; an unknown one may change code."""
    return not _in(NO_CODE_VARIABLES, name)


def goflag_changes_code(flag: str) -> bool:
    """`flag` is one GOFLAGS entry ("-buildvcs=false", "--tags=x"); unknown ones may change code."""
    name = "-" + flag.partition("=")[0].lstrip("-")
    return not _in(NO_CODE_GOFLAGS, name)


@dataclass(frozen=True)
class Setting:
    """One recorded change from the defaults as a reader sees it ("GOFLAGS=-buildvcs=false",
    "RUSTFLAGS='-C target-cpu=native'") and whether it can change the generated code."""

    text: str
    changes_code: bool


def _default_flags(change: str) -> set[str]:
    found = _DEFAULT.search(change)
    if found is None:
        return set()
    try:
        return set(str(ast.literal_eval(found["value"])).split())
    except (ValueError, SyntaxError):
        return set()


def classify(record: BuildRecord) -> tuple[Setting, ...]:
    """The record's environment_changes, classified; GOFLAGS split into the flags that differ
    from its default, one Setting each."""
    found: list[Setting] = []
    for change in record.environment_changes:
        name = change.partition("=")[0]
        value = record.environment.get(name)
        if name == "GOFLAGS" and value is not None:
            default = _default_flags(change)
            found += [
                Setting(f"GOFLAGS={flag}", goflag_changes_code(flag))
                for flag in value.split()  # the go command splits GOFLAGS on spaces
                if flag not in default
            ]
        else:
            found.append(Setting(change, variable_changes_code(name)))
    return tuple(found)


@dataclass(frozen=True)
class SettingUse:
    """One setting across a run: the builds it touched ("json go/default"), in build order."""

    setting: Setting
    builds: tuple[str, ...]
    of_all: str | None = None  # "all 14 Go builds" when it touched every build of a language


LANG_NAMES = {"go": "Go", "rust": "Rust"}


def build_label(record: BuildRecord) -> str:
    return f"{record.workload} {record.lang}/{record.variant}"


def across(records: Iterable[BuildRecord]) -> tuple[SettingUse, ...]:
    """Every recorded setting of these builds once, with the builds it touched; in the order
    they were first seen."""
    records = list(records)
    touched: dict[Setting, list[str]] = {}
    for record in records:
        for setting in classify(record):
            label = build_label(record)
            if label not in touched.setdefault(setting, []):
                touched[setting].append(label)
    by_lang: dict[str, set[str]] = {}
    for record in records:
        by_lang.setdefault(record.lang, set()).add(build_label(record))
    uses = []
    for setting, labels in touched.items():
        whole = next(
            (
                f"all {len(labels)} {LANG_NAMES.get(lang, lang)} builds"
                for lang, every in by_lang.items()
                if set(labels) == every and len(labels) > 1
            ),
            None,
        )
        uses.append(SettingUse(setting, tuple(labels), whole))
    return tuple(uses)


def builds_text(use: SettingUse) -> str:
    return use.of_all or ", ".join(use.builds)


def warnings(records: Iterable[BuildRecord]) -> tuple[str, ...]:
    """A run's warnings, said once: a line per setting that can change code, naming the builds
    it touched; none for a setting that changes no code."""
    return tuple(
        f"warning: setting that can change generated code: {u.setting.text} ({builds_text(u)}); "
        "recorded in the build records and the report's methodology"
        for u in across(records)
        if u.setting.changes_code
    )


def methodology_lines(records: Sequence[BuildRecord]) -> tuple[list[str], str | None]:
    """(one line per setting that can change code, with its builds; the one line that lists the
    settings that change no code, or None)."""
    uses = across(records)
    code = [f"{u.setting.text} ({builds_text(u)})" for u in uses if u.setting.changes_code]
    quiet = [f"{u.setting.text} ({builds_text(u)})" for u in uses if not u.setting.changes_code]
    return code, ("Build settings that change no code: " + "; ".join(quiet)) if quiet else None
