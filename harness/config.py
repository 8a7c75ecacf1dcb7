"""Load and validate workload manifests (`workloads/<name>.toml`) into model objects.

Every error names the manifest file and the offending field, so a typo is a one-line fix. Unknown
keys are refused at every level (with the nearest known key for a near miss): a misspelt `seed`
or a `flags` nobody reads would otherwise change nothing while looking like it did. The hosts
inventory (`--hosts FILE`, docs/hosts.md) is read here by the same rules.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import socket
import string
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from harness.errors import HarnessError
from harness.model import (
    CPUS_AXIS,
    DEFAULT_VARIANT,
    LANGS,
    BackendSpec,
    HostSpec,
    Implementation,
    InputSpec,
    Inventory,
    ParamValue,
    PublishedFigure,
    RequestStream,
    ServerSpec,
    Workload,
)

SIZES = ("full", "quick")
CATEGORIES = ("parsing", "compression", "crypto", "allocation", "concurrency", "server")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
RESERVED_PLACEHOLDERS = {"input", "port"}
TOP_KEYS = (
    "name",
    "category",
    "kind",
    "description",
    "throughput",
    "args",
    "input",
    "params",
    "implementations",
    "server",
    "sweep",
    "cpu_features",
    "cpus",
    "published",
    "backends",
)
BACKEND_KEYS = ("lang", "path", "library", "args", "transport", "protocol", "cpus")
# What a back end's {listen} becomes: 127.0.0.1:PORT, or unix:/path in the system's temporary
# folder; {port} is PORT alone (TCP only), for a server that takes --port like every front.
BACKEND_PLACEHOLDERS = {"listen", "port"}
PUBLISHED_KEYS = ("source", "url", "metric", "go", "rust", "params", "differs")
PUBLISHED_METRICS = ("peak_rss_bytes", "wall_seconds", "work_seconds", "cpu_seconds")
CPU_FLAG_PATTERN = re.compile(r"^[a-z0-9_]+$")  # as /proc/cpuinfo spells them: sha_ni, avx512f
# Go runtime settings a sweep may vary (harness/measure/sweep.py); they apply to Go implementations only.
RUNTIME_SETTINGS = ("GOGC", "GOMEMLIMIT", "GOMAXPROCS")
INPUT_KEYS = ("generator", "seed", "file", "command", "sources")
INPUT_SOURCES = ("generator", "file", "command")
IMPLEMENTATION_KEYS = (
    "lang",
    "variant",
    "path",
    "library",
    "build",
    "binary",
    "links",
    "limits",
    "backend",
)
SERVER_KEYS = ("health", "requests", "checks", "rates", "min_gc_cycles", "backend", "direct_phases")
REQUEST_KEYS = (
    "name",
    "method",
    "path",
    "share",
    "expect_status",
    "content_type",
    "body",
    "body_from",
    "rand_regex",
    "body_input",
)


def reject_unknown_keys(table: Mapping, known: Sequence[str], where: str) -> None:
    """Refuse a key `known` does not list, naming it (`where` names the file and the table) and
    the nearest known key when there is one; shared by every TOML reader of the harness."""
    for key in table:
        if key not in known:
            # 0.7, not difflib's 0.6: at 0.6 'flags' is a near miss of 'lang'
            near = difflib.get_close_matches(key, known, n=1, cutoff=0.7) or [
                k for k in known if k.startswith(key) or key.startswith(k)
            ]
            hint = f"did you mean '{near[0]}'?" if near else f"known: {', '.join(known)}"
            raise HarnessError(f"{where}: unknown field '{key}' ({hint})")


def _field(data: dict, key: str, kind: type | tuple[type, ...], where: str, default=None):
    if key not in data:
        if default is not None:
            return default
        raise HarnessError(f"{where}: missing field '{key}'")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise HarnessError(f"{where}: field '{key}' must be {expected}, got {value!r}")
    return value


def _optional(data: dict, key: str, kind: type, where: str):
    """An optional field: absent is None, present must be of `kind`."""
    if key not in data:
        return None
    return _field(data, key, kind, where)


def _choice(data: dict, key: str, choices: Sequence[str], where: str, default=None) -> str:
    value = _field(data, key, str, where, default)
    if value not in choices:
        raise HarnessError(
            f"{where}: field '{key}' must be one of {', '.join(choices)}; got {value!r}"
        )
    return value


def _placeholders(args: Iterable[str], where: str, field: str = "args") -> set[str]:
    names: set[str] = set()
    for arg in args:
        try:
            parsed = list(string.Formatter().parse(arg))
        except ValueError as exc:
            raise HarnessError(
                f"{where}: field '{field}' has a malformed placeholder in {arg!r}"
            ) from exc
        names.update(name for _, name, _, _ in parsed if name is not None)  # "{}" is ""
    return names


def _parse_server(table: dict, params: dict[str, dict[str, ParamValue]], where: str) -> ServerSpec:
    at = f"{where} [server]"
    reject_unknown_keys(table, SERVER_KEYS, at)
    health = _field(table, "health", str, at)
    streams = []
    for index, item in enumerate(_field(table, "requests", list, at)):
        sat = f"{where} [[server.requests]] #{index + 1}"
        if not isinstance(item, dict):
            raise HarnessError(f"{sat}: must be a table")
        reject_unknown_keys(item, REQUEST_KEYS, sat)
        share = _field(item, "share", (int, float), sat)
        if not 0 < share <= 1:
            raise HarnessError(f"{sat}: field 'share' must be in (0, 1], got {share!r}")
        stream = RequestStream(
            name=_field(item, "name", str, sat),
            method=_choice(item, "method", ("GET", "POST", "PUT", "DELETE"), sat),
            path=_field(item, "path", str, sat),
            share=float(share),
            expect_status=_field(item, "expect_status", int, sat),
            content_type=_optional(item, "content_type", str, sat),
            body=_optional(item, "body", str, sat),
            body_from=_optional(item, "body_from", str, sat),
            rand_regex=bool(_optional(item, "rand_regex", bool, sat)),
            body_input=bool(_optional(item, "body_input", bool, sat)),
        )
        if stream.body_input and (stream.body is not None or stream.body_from):
            raise HarnessError(
                f"{sat}: give one of 'body', 'body_from' and 'body_input', not several"
            )
        for text in (stream.path, stream.body_from or ""):
            unknown = _placeholders([text], sat) - set(params["full"])
            if unknown:
                raise HarnessError(f"{sat}: uses undefined placeholder(s) {sorted(unknown)}")
        streams.append(stream)
    if not streams:
        raise HarnessError(f"{at}: needs at least one [[server.requests]]")
    total = sum(s.share for s in streams)
    if abs(total - 1) > 1e-6:
        raise HarnessError(
            f"{at}: the shares of [[server.requests]] must add up to 1, got {total:g}"
        )
    checks = _field(table, "checks", list, at, default=[])
    if not all(isinstance(c, str) and c.startswith("/") for c in checks):
        raise HarnessError(f"{at}: field 'checks' must be a list of paths starting with '/'")
    for check in checks:
        unknown = _placeholders([check], at) - set(params["full"])
        if unknown:
            raise HarnessError(
                f"{at}: field 'checks' uses undefined placeholder(s) {sorted(unknown)}"
            )
    min_gc_cycles = _field(table, "min_gc_cycles", int, at, default=0)
    if min_gc_cycles < 0:
        raise HarnessError(f"{at}: field 'min_gc_cycles' must be 0 or more, got {min_gc_cycles}")
    return ServerSpec(
        health=health,
        requests=tuple(streams),
        checks=tuple(checks),
        min_gc_cycles=min_gc_cycles,
        backend=_optional(table, "backend", str, at),
        direct_phases=bool(_optional(table, "direct_phases", bool, at)),
        rates_rps=_parse_rates(
            _field(table, "rates", dict, at, default={}), f"{where} [server.rates]"
        ),
    )


def _parse_backends(
    data: dict, params: dict[str, dict[str, ParamValue]], where: str
) -> tuple[BackendSpec, ...]:
    """[backends.NAME] tables: the processes a server's implementations may call."""
    table = _field(data, "backends", dict, where, default={})
    backends = []
    for name, item in table.items():
        at = f"{where} [backends.{name}]"
        if not NAME_PATTERN.match(name):
            raise HarnessError(f"{at}: a back end's name must match [a-z0-9-]+")
        if not isinstance(item, dict):
            raise HarnessError(f"{at}: must be a table")
        reject_unknown_keys(item, BACKEND_KEYS, at)
        path_value = _field(item, "path", str, at)
        if not NAME_PATTERN.match(path_value):
            raise HarnessError(
                f"{at}: field 'path' must be a folder name [a-z0-9-]+, got {path_value!r}"
            )
        args = _field(item, "args", list, at)
        if not all(isinstance(a, str) for a in args):
            raise HarnessError(f"{at}: field 'args' must be a list of strings")
        unknown = _placeholders(args, at) - set(params["full"]) - BACKEND_PLACEHOLDERS
        if unknown:
            raise HarnessError(
                f"{at}: field 'args' uses undefined placeholder(s) {sorted(unknown)}"
            )
        transport = _choice(item, "transport", ("tcp", "unix"), at, default="tcp")
        named = _placeholders(args, at) & BACKEND_PLACEHOLDERS
        if not named or (transport == "unix" and "port" in named):
            raise HarnessError(
                f"{at}: field 'args' must say where it listens with {{listen}}"
                + (" (a unix socket has no {port})" if transport == "unix" else " or {port}")
            )
        backends.append(
            BackendSpec(
                name=name,
                implementation=Implementation(
                    lang=_choice(item, "lang", LANGS, at),
                    variant=f"backend-{name}",
                    path=path_value,
                    library=_field(item, "library", str, at),
                ),
                args=tuple(args),
                transport=transport,
                protocol=_field(item, "protocol", str, at),
                cpus=_choice(item, "cpus", ("server", "apart"), at, default="server"),
            )
        )
    return tuple(backends)


def _check_backends(workload: Workload, where: str) -> None:
    """Every back end named exists; {backend} in the front's args needs one for every front;
    direct phases need an HTTP back end on TCP that the load generator can reach."""
    names = {b.name for b in workload.backends}
    if workload.backends and workload.kind != "server":
        raise HarnessError(f"{where}: [backends] are for kind = 'server' workloads")
    server = workload.server
    wanted = [(f"{where} [server]", server.backend)] if server and server.backend else []
    wanted += [
        (f"{where} [[implementations]] {i.key}", i.backend)
        for i in workload.implementations
        if i.backend
    ]
    for at, name in wanted:
        if name not in names:
            known = ", ".join(sorted(names)) or "none declared"
            raise HarnessError(
                f"{at}: field 'backend' names {name!r}, not a [backends] table ({known})"
            )
    if "{backend}" in "".join(workload.args):
        lacking = [i.key for i in workload.implementations if workload.backend_of(i) is None]
        if lacking:
            raise HarnessError(
                f"{where}: field 'args' uses {{backend}} but {', '.join(lacking)} has no back end"
            )
    if server and server.direct_phases:
        for impl in workload.implementations:
            backend = workload.backend_of(impl)
            if backend is None or backend.transport != "tcp" or backend.protocol != "http":
                raise HarnessError(
                    f"{where} [server]: direct_phases needs every implementation to have an "
                    f"HTTP back end on TCP (the load generator sends to it); {impl.key} has "
                    + (
                        "none"
                        if backend is None
                        else f"{backend.protocol} over {backend.transport}"
                    )
                )


def _parse_rates(table: dict, at: str) -> dict[str, tuple[float, ...]]:
    """size -> offered rates fixed in the manifest: positive numbers, each once."""
    reject_unknown_keys(table, ("full", "quick"), at)
    rates = {}
    for size, values in table.items():
        if (
            not isinstance(values, list)
            or not values
            or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values
            )
        ):
            raise HarnessError(
                f"{at}: field {size!r} must be a non-empty list of rates above 0 (requests/s), "
                f"got {values!r}"
            )
        if len(set(values)) != len(values):
            raise HarnessError(f"{at}: field {size!r} lists a rate twice: {values!r}")
        rates[size] = tuple(sorted(float(v) for v in values))
    return rates


def inside(root: Path, relative: str, at: str, field: str) -> str:
    """`relative`, checked to stay inside `root` (the manifest's folder): a manifest names only
    its own files, so copying its folder copies everything it needs."""
    if Path(relative).is_absolute() or not (root / relative).resolve().is_relative_to(
        root.resolve()
    ):
        raise HarnessError(
            f"{at}: field '{field}' must be a path inside {root} (the manifest's folder), "
            f"got {relative!r}"
        )
    return relative


def _string_list(table: dict, key: str, at: str) -> tuple[str, ...] | None:
    value = _optional(table, key, list, at)
    if value is None:
        return None
    if not value or not all(isinstance(v, str) and v for v in value):
        raise HarnessError(f"{at}: field '{key}' must be a non-empty list of non-empty strings")
    return tuple(value)


def _parse_input(table: dict, path: Path, at: str) -> InputSpec:
    reject_unknown_keys(table, INPUT_KEYS, at)
    given = [key for key in INPUT_SOURCES if key in table]
    if len(given) != 1:
        raise HarnessError(
            f"{at}: needs exactly one of 'generator', 'file' or 'command', got "
            f"{', '.join(repr(k) for k in given) or 'none'}"
        )
    root = path.parent
    generator = _optional(table, "generator", str, at)
    if generator is not None and not re.match(r"^[a-z_][a-z0-9_]*$", generator):
        raise HarnessError(f"{at}: field 'generator' must be a module name, got {generator!r}")
    file = _optional(table, "file", str, at)
    if file is not None:
        inside(root, file, at, "file")
    command = _string_list(table, "command", at)
    sources = _string_list(table, "sources", at) or ()
    if sources and command is None:
        raise HarnessError(f"{at}: field 'sources' lists what 'command' reads; there is no command")
    for source in sources:
        inside(root, source, at, "sources")
    return InputSpec(
        generator=generator,
        seed=_field(table, "seed", int, at, 1),
        file=file,
        command=command,
        sources=sources,
    )


def _parse_build(table: dict, root: Path, at: str) -> tuple[tuple[str, ...] | None, str | None]:
    """A team's own build: `build` (argv, no shell) and the `binary` it leaves, both or neither."""
    build = _string_list(table, "build", at)
    binary = _optional(table, "binary", str, at)
    if (build is None) != (binary is None):
        raise HarnessError(
            f"{at}: fields 'build' and 'binary' go together (the command, and the file it builds)"
        )
    if binary is not None:
        inside(root, binary, at, "binary")
    return build, binary


def _parse_links(
    table: dict, lang: str, variant: str, build: tuple[str, ...] | None, at: str
) -> str | None:
    """`links`: the Rust staticlib crate a go+rust hybrid links through cgo. Only a Go program
    can link one, only a labelled variant is a hybrid (the default pair stays pure), and the
    harness's own two-step build is what links it, so an own `build` cannot say `links`."""
    links = _optional(table, "links", str, at)
    if links is None:
        return None
    if not NAME_PATTERN.match(links):
        raise HarnessError(
            f"{at}: field 'links' must be a crate folder name [a-z0-9-]+, got {links!r}"
        )
    if lang != "go":
        raise HarnessError(
            f"{at}: field 'links' (a Rust staticlib linked through cgo) needs lang = 'go', got {lang!r}"
        )
    if variant == DEFAULT_VARIANT:
        raise HarnessError(
            f"{at}: field 'links' needs a labelled variant: the default pair is pure Go and pure Rust"
        )
    if build is not None:
        raise HarnessError(
            f"{at}: fields 'links' and 'build' exclude each other (links is built by the harness)"
        )
    return links


def _parse_limits(
    table: dict, params: Mapping[str, Mapping[str, ParamValue]], at: str
) -> tuple[tuple[str, float], ...]:
    """`limits = { tasks = 10000 }`: numeric parameters this implementation runs up to."""
    limits = table.get("limits", {})
    if not isinstance(limits, dict):
        raise HarnessError(f"{at}: field 'limits' must be a table of PARAM = largest value")
    parsed = []
    for name, bound in limits.items():
        if name not in params["full"] or isinstance(params["full"][name], str):
            raise HarnessError(f"{at}: field 'limits' names '{name}', not a numeric parameter")
        if isinstance(bound, bool) or not isinstance(bound, int | float) or bound <= 0:
            raise HarnessError(f"{at}: field 'limits' {name} must be a number above 0")
        parsed.append((name, float(bound)))
    return tuple(parsed)


def _parse_published(data: dict, params: Mapping[str, Mapping[str, ParamValue]], where: str):
    """[[published]]: someone else's figures for the same question, to set beside ours."""
    figures = []
    for index, table in enumerate(_field(data, "published", list, where, [])):
        at = f"{where} [[published]] #{index + 1}"
        if not isinstance(table, dict):
            raise HarnessError(f"{at}: must be a table")
        reject_unknown_keys(table, PUBLISHED_KEYS, at)
        given = _field(table, "params", dict, at, {})
        unknown = sorted(set(given) - set(params["full"]))
        if unknown:
            raise HarnessError(f"{at}: field 'params' names unknown parameter(s) {unknown}")
        figures.append(
            PublishedFigure(
                source=_field(table, "source", str, at),
                url=_field(table, "url", str, at),
                metric=_choice(table, "metric", PUBLISHED_METRICS, at),
                go=float(_field(table, "go", (int, float), at)),
                rust=float(_field(table, "rust", (int, float), at)),
                params=dict(sorted(given.items())),
                differs=_field(table, "differs", str, at, ""),
            )
        )
    return tuple(figures)


def _parse_cpus(data: dict, where: str) -> bool:
    """`cpus = "each"`: measured at every CPU count (Workload.cpus_each); absent: the run's pin."""
    if "cpus" not in data:
        return False
    if data["cpus"] != "each":
        raise HarnessError(f"{where}: field 'cpus' must be \"each\", got {data['cpus']!r}")
    return True


def _parse_sweeps(
    table: object, params: Mapping[str, Mapping[str, ParamValue]], where: str
) -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """[sweep.full] / [sweep.quick]: NAME = [values...]; the first key is the axis, the others
    are linked to it and need as many values."""
    if not isinstance(table, dict):
        raise HarnessError(f"{where} [sweep]: must be a table")
    reject_unknown_keys(table, SIZES, f"{where} [sweep]")
    sweeps = {}
    for size, entries in table.items():
        at = f"{where} [sweep.{size}]"
        if not isinstance(entries, dict) or not entries:
            raise HarnessError(f"{at}: must be a table of NAME = [values]")
        pairs = []
        for key, values in entries.items():
            if not isinstance(values, list) or len(values) < 2:
                raise HarnessError(f"{at}: field '{key}' must be a list of at least 2 values")
            if any(isinstance(v, bool) or not isinstance(v, int | float | str) for v in values):
                raise HarnessError(f"{at}: field '{key}' must hold numbers or strings")
            if key not in params[size] and key not in (*RUNTIME_SETTINGS, CPUS_AXIS):
                known = ", ".join([*params[size], *RUNTIME_SETTINGS, CPUS_AXIS])
                raise HarnessError(
                    f"{at}: '{key}' is neither a parameter nor a runtime setting (known: {known})"
                )
            pairs.append((key, tuple(str(v) for v in values)))
        if any(len(v) != len(pairs[0][1]) for _, v in pairs):
            raise HarnessError(f"{at}: every field needs as many values as '{pairs[0][0]}'")
        sweeps[size] = tuple(pairs)
    return sweeps


def parse_manifest(data: dict, path: Path) -> Workload:
    """Validate one manifest's parsed TOML; `path` is only used to name it in errors."""
    where = str(path)
    reject_unknown_keys(data, TOP_KEYS, f"{where} (top level)")
    name = _field(data, "name", str, where)
    if not NAME_PATTERN.match(name):
        raise HarnessError(f"{where}: field 'name' must match [a-z0-9-]+, got {name!r}")
    category = _choice(data, "category", CATEGORIES, where)
    kind = _choice(data, "kind", ("batch", "server"), where)
    description = _field(data, "description", str, where)
    throughput = _choice(data, "throughput", ("bytes", "items"), where, default="bytes")
    args = _field(data, "args", list, where)
    if not all(isinstance(a, str) for a in args):
        raise HarnessError(f"{where}: field 'args' must be a list of strings")

    input_spec = None
    if "input" in data:
        input_spec = _parse_input(_field(data, "input", dict, where), path, f"{where} [input]")

    params_table = _field(data, "params", dict, where)
    reject_unknown_keys(params_table, SIZES, f"{where} [params]")
    params: dict[str, dict[str, ParamValue]] = {}
    for size in SIZES:
        table = _field(params_table, size, dict, f"{where} [params]")
        for key, value in table.items():
            if not isinstance(value, int | float | str) or isinstance(value, bool):
                raise HarnessError(
                    f"{where} [params.{size}]: field '{key}' must be a number or string"
                )
        params[size] = dict(table)
    if set(params["full"]) != set(params["quick"]):
        raise HarnessError(
            f"{where}: [params.full] and [params.quick] must name the same parameters"
        )
    unknown = _placeholders(args, where) - set(params["full"]) - RESERVED_PLACEHOLDERS - {"backend"}
    if unknown:
        raise HarnessError(f"{where}: field 'args' uses undefined placeholder(s) {sorted(unknown)}")
    if "{input}" in "".join(args) and input_spec is None:
        raise HarnessError(f"{where}: field 'args' uses {{input}} but there is no [input] table")
    if input_spec is not None:
        for key, texts in (("file", [input_spec.file or ""]), ("command", input_spec.command)):
            unknown = _placeholders(texts or (), f"{where} [input]", key) - set(params["full"])
            if unknown - {"size"}:
                raise HarnessError(
                    f"{where} [input]: field '{key}' uses undefined placeholder(s) "
                    f"{sorted(unknown - {'size'})}"
                )

    impl_tables = _field(data, "implementations", list, where)
    implementations = []
    for index, table in enumerate(impl_tables):
        at = f"{where} [[implementations]] #{index + 1}"
        if not isinstance(table, dict):
            raise HarnessError(f"{at}: must be a table")
        reject_unknown_keys(table, IMPLEMENTATION_KEYS, at)
        variant = _field(table, "variant", str, at, DEFAULT_VARIANT)
        if not NAME_PATTERN.match(variant):
            raise HarnessError(f"{at}: field 'variant' must match [a-z0-9-]+, got {variant!r}")
        path_value = _field(table, "path", str, at)
        if not NAME_PATTERN.match(path_value):
            raise HarnessError(
                f"{at}: field 'path' must be a folder name [a-z0-9-]+, got {path_value!r}"
            )
        build, binary = _parse_build(table, path.parent, at)
        lang = _choice(table, "lang", LANGS, at)
        implementations.append(
            Implementation(
                lang=lang,
                variant=variant,
                path=path_value,
                library=_field(table, "library", str, at),
                build=build,
                binary=binary,
                links=_parse_links(table, lang, variant, build, at),
                limits=_parse_limits(table, params, at),
                backend=_optional(table, "backend", str, at),
            )
        )
    keys = [impl.key for impl in implementations]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise HarnessError(f"{where}: duplicate implementations {duplicates}")
    for lang in LANGS:
        if f"{lang}/{DEFAULT_VARIANT}" not in keys:
            raise HarnessError(f"{where}: needs one {lang} implementation with variant 'default'")

    if kind != "server" and "server" in data:
        raise HarnessError(f"{where}: a [server] table needs kind = 'server', got kind {kind!r}")
    server = (
        _parse_server(_field(data, "server", dict, where), params, where)
        if kind == "server"
        else None
    )

    sweeps = _parse_sweeps(data["sweep"], params, where) if "sweep" in data else {}
    cpu_features = _string_list(data, "cpu_features", where) or ()
    for flag in cpu_features:
        if not CPU_FLAG_PATTERN.match(flag):
            raise HarnessError(
                f"{where}: field 'cpu_features' names {flag!r}; CPU flags are spelled as in "
                "/proc/cpuinfo (lower case, e.g. 'sha_ni')"
            )

    workload = Workload(
        name=name,
        category=category,
        kind=kind,
        description=description,
        throughput=throughput,
        args=tuple(args),
        input=input_spec,
        params=params,
        implementations=tuple(implementations),
        manifest_path=where,
        server=server,
        sweeps=sweeps,
        cpu_features=cpu_features,
        cpus_each=_parse_cpus(data, where),
        published=_parse_published(data, params, where),
        backends=_parse_backends(data, params, where),
    )
    _check_backends(workload, where)
    return workload


def read_toml(path: Path, what: str) -> dict:
    """A TOML file's table, or one line naming the file and saying what it should have been."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HarnessError(f"{path}: cannot read {what} ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise HarnessError(f"{path}: not valid TOML ({exc})") from exc


def load_manifest(path: Path) -> Workload:
    workload = parse_manifest(read_toml(path, "manifest"), path)
    if workload.name != path.stem:
        raise HarnessError(f"{path}: field 'name' is {workload.name!r} but the file is {path.name}")
    return workload


def load_workloads(*workloads_dirs: Path) -> dict[str, Workload]:
    """All manifests in the folders, keyed by name, in name order. A name declared in two
    folders is refused, naming both files: which one a run measured must never be a guess."""
    found: dict[str, Workload] = {}
    for workloads_dir in workloads_dirs:
        if not workloads_dir.is_dir():
            raise HarnessError(f"{workloads_dir}: workloads folder not found")
        for workload in map(load_manifest, sorted(workloads_dir.glob("*.toml"))):
            if workload.name in found:
                raise HarnessError(
                    f"{workload.manifest_path}: workload {workload.name!r} is also declared in "
                    f"{found[workload.name].manifest_path}; rename one (field 'name' and the file)"
                )
            found[workload.name] = workload
    return dict(sorted(found.items()))


def defaults_only(workload: Workload) -> Workload:
    """The workload with its Go and Rust defaults only, and only the back ends they call: the
    smoke run's selection and a sweep's (a labelled variant multiplies the time, and in a smoke
    run its builds: sonic-rs, jemalloc's C library, tonic for a service variant's back end)."""
    kept = tuple(i for i in workload.implementations if i.is_default)
    used = {b.name for i in kept if (b := workload.backend_of(i)) is not None}
    return replace(
        workload,
        implementations=kept,
        backends=tuple(b for b in workload.backends if b.name in used),
    )


def select(workloads: dict[str, Workload], names: Sequence[str] | None) -> list[Workload]:
    """The workloads named (all when `names` is empty); an unknown name lists the known ones."""
    if not names:
        return list(workloads.values())
    unknown = [n for n in names if n not in workloads]
    if unknown:
        raise HarnessError(
            f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(workloads) or '(none)'}"
        )
    return [workloads[n] for n in dict.fromkeys(names)]


# --- the hosts inventory (--hosts FILE): where servers and load run ------------------------------

INVENTORY_KEYS = ("server", "load")
INVENTORY_SERVER_KEYS = (
    "address",
    "cpus",
    # a server host of its own, reached over SSH (docs/hosts.md "The server on its own host")
    "name",
    "user",
    "port",
    "key_file",
    "known_hosts",
    "work_dir",
    "python",
)
REMOTE_SERVER_KEYS = ("name", "port", "key_file", "known_hosts", "work_dir", "python")
INVENTORY_LOAD_KEYS = (
    "name",
    "address",
    "user",
    "port",
    "key_file",
    "known_hosts",
    "cpus",
    "work_dir",
    "shares_server",
    "processes",
)
MAX_LOAD_PROCESSES = 64


def _ip_literal(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_local_address(address: str) -> bool:
    """Whether this machine owns `address` (a socket can bind it): loopback, or one of its
    interfaces' addresses."""
    ip = _ip_literal(address)
    if ip is None:
        return False
    if ip.is_loopback:
        return True
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((address, 0))
        except OSError:
            return False
    return True


def _inventory_cpus(table: dict, where: str) -> tuple[int, ...] | None:
    cpus = table.get("cpus")
    if cpus is None:
        return None
    if (
        not isinstance(cpus, list)
        or not cpus
        or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in cpus)
        or len(set(cpus)) != len(cpus)
    ):
        raise HarnessError(
            f"{where}: field 'cpus' must be a list of distinct CPU numbers, got {cpus!r}"
        )
    return tuple(cpus)


def _key_path(path: Path, table: dict, field: str, where: str, private: bool) -> str | None:
    """An SSH file of the inventory, relative to it: it must exist, and a private key must not be
    readable by others (ssh itself refuses such a key, with a message far from the cause)."""
    value = _optional(table, field, str, where)
    if value is None:
        return None
    resolved = (path.parent / value).resolve()
    if not resolved.is_file():
        raise HarnessError(f"{where}: field '{field}': {resolved} does not exist")
    mode = resolved.stat().st_mode & 0o777
    if private and mode & 0o077:
        raise HarnessError(
            f"{where}: field '{field}': {resolved} is readable by others (mode {mode:04o}); "
            f"chmod 600 it"
        )
    return os.fspath(resolved)


def parse_inventory(data: dict, path: Path) -> Inventory:
    """An inventory table, checked before anything is built or copied: every error is one line
    naming the file and the field."""
    where = os.fspath(path)
    reject_unknown_keys(data, INVENTORY_KEYS, where)
    server = data.get("server")
    if not isinstance(server, dict):
        raise HarnessError(f"{where}: missing table [server] (the address load hosts reach)")
    at = f"{where} [server]"
    reject_unknown_keys(server, INVENTORY_SERVER_KEYS, at)
    address = _field(server, "address", str, at)
    ip = _ip_literal(address)
    if ip is None:
        raise HarnessError(f"{at}: field 'address' must be an IP address, got {address!r}")
    # The servers listen on it (HARNESS_LISTEN_ADDRESS) and load hosts dial it.
    if ip.is_unspecified:
        raise HarnessError(
            f"{at}: field 'address': {address} is a wildcard, not an address load hosts can reach; "
            "give the server host's own address"
        )
    server_host = _server_host(server, path, at, address)
    if server_host is None and not is_local_address(address):
        raise HarnessError(
            f"{at}: field 'address': {address} is not an address of this machine; for a server "
            "host of its own give its 'user' (the harness reaches it over SSH)"
        )
    server_cpus = _inventory_cpus(server, at)
    loads = data.get("load")
    if not isinstance(loads, list) or not loads or not all(isinstance(t, dict) for t in loads):
        raise HarnessError(f"{where}: needs at least one [[load]] table (a load host)")
    hosts: list[HostSpec] = []
    for index, table in enumerate(loads, 1):
        named = table.get("name")
        at = f"{where} [[load]] {named if isinstance(named, str) else f'#{index}'}"
        reject_unknown_keys(table, INVENTORY_LOAD_KEYS, at)
        name = _field(table, "name", str, at)
        if not NAME_PATTERN.match(name):
            raise HarnessError(f"{at}: field 'name' must be lowercase letters, digits and '-'")
        at = f"{where} [[load]] {name}"
        host = _ssh_fields(table, path, at, name, _field(table, "address", str, at))
        if not 1 <= host.processes <= MAX_LOAD_PROCESSES:
            raise HarnessError(
                f"{at}: field 'processes' must be 1-{MAX_LOAD_PROCESSES}, got {host.processes}"
            )
        if server_host is not None and name == server_host.name:
            raise HarnessError(f"{at}: field 'name': {name!r} is also the server host's name")
        for other in hosts:
            if other.name == host.name:
                raise HarnessError(f"{at}: field 'name': host {name!r} is listed twice")
            if (other.address, other.port) == (host.address, host.port):
                raise HarnessError(
                    f"{at}: field 'address': {host.address}:{host.port} is listed twice "
                    f"(also as {other.name})"
                )
        on_server = host.address == address or (
            server_host is None and is_local_address(host.address)
        )
        if on_server and not host.shares_server:
            raise HarnessError(
                f"{at}: field 'address': {host.address} is the server host; load from it competes "
                "with the server: set shares_server = true to say so, or use another host"
            )
        hosts.append(host)
    return Inventory(
        path=os.fspath(path.resolve()),
        server_address=address,
        server_cpus=server_cpus,
        load=tuple(hosts),
        server_host=server_host,
        server_python=_field(server, "python", str, at, "python3"),
    )


def _ssh_fields(table: dict, path: Path, at: str, name: str, address: str) -> HostSpec:
    """The SSH part of a host's table: user, port, keys, work_dir (checked)."""
    host = HostSpec(
        name=name,
        address=address,
        user=_field(table, "user", str, at),
        port=_field(table, "port", int, at, 22),
        key_file=_key_path(path, table, "key_file", at, private=True),
        known_hosts=_key_path(path, table, "known_hosts", at, private=False),
        cpus=_inventory_cpus(table, at),
        work_dir=_field(table, "work_dir", str, at, "/tmp/gorust-harness"),
        shares_server=_field(table, "shares_server", bool, at, False),
        processes=_field(table, "processes", int, at, 1),
    )
    if not 0 < host.port < 65536:
        raise HarnessError(f"{at}: field 'port' must be 1-65535, got {host.port}")
    if not host.work_dir.startswith("/"):
        raise HarnessError(
            f"{at}: field 'work_dir' must be an absolute path, got {host.work_dir!r}"
        )
    return host


def _server_host(table: dict, path: Path, at: str, address: str) -> HostSpec | None:
    """[server] with a 'user': a server host of its own, reached over SSH; None: this machine."""
    if "user" not in table:
        extra = [k for k in REMOTE_SERVER_KEYS if k in table]
        if extra:
            raise HarnessError(
                f"{at}: field '{extra[0]}' is for a server host of its own; give its 'user' "
                "too, or leave it out to run the servers on this machine"
            )
        return None
    if is_local_address(address):
        raise HarnessError(
            f"{at}: field 'address': {address} is this machine's; leave out 'user' to run the "
            "servers here, or give the server host's own address"
        )
    name = _field(table, "name", str, at, "server")
    if not NAME_PATTERN.match(name):
        raise HarnessError(f"{at}: field 'name' must be lowercase letters, digits and '-'")
    return _ssh_fields(table, path, at, name, address)


def load_inventory(path: Path) -> Inventory:
    return parse_inventory(read_toml(path, "hosts inventory"), path)
