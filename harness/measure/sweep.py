"""Sweeps: one workload measured at several points of one axis, each point an ordinary workload of
the run (built once, Go and Rust interleaved and counterbalanced, checksums verified), so every
statistic of a run applies to each point.

An axis is a workload parameter (json `tweets`, binarytrees `depth`, kv-cache `entries`), a Go
runtime setting (GOGC, GOMEMLIMIT, GOMAXPROCS), which applies to the Go implementations only: Rust
runs unchanged at every point, as the reference the tuned Go is set beside, or `cpus`, which
gives both languages the same N CPUs (measure/cpus.py: the last N, both runtimes told N). Other settings may move
with the axis point by point (linked: kv-cache's `key_regex` must cover exactly its `entries`) or
stay fixed for the whole sweep (`--set GOGC=off` for a GOMEMLIMIT sweep).

Points are measured in a shuffled order (seeded by the run's seed, recorded per point), so drift
over the sweep's minutes does not fold into the curve as a trend along the axis.

Values are checked before anything is built: a GOGC Go would reject, a parameter the manifest does
not have, a number where the manifest has one. A value the input generator rejects fails its own
point (inputs.InputError), and the other points are measured.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Mapping, Sequence

from harness.config import RUNTIME_SETTINGS
from harness.errors import HarnessError
from harness.measure.cpus import last_cpus
from harness.measure.launcher import available_cpus
from harness.model import CPUS_AXIS, ParamValue, SweepPoint, Workload

# What Go accepts for its runtime settings (runtime/extern.go): GOGC is a percentage or "off";
# GOMEMLIMIT a byte count with an optional B/KiB/MiB/GiB/TiB suffix, or "off".
MEMORY_LIMIT = re.compile(r"^([0-9]+)(B|KiB|MiB|GiB|TiB)?$")
MEMORY_UNITS = {None: 1, "B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


@dataclasses.dataclass(frozen=True)
class Axis:
    """One sweep over a workload: the axis and its values, settings linked to it (same number of
    values) and settings fixed for every point."""

    name: str
    values: tuple[str, ...]
    linked: tuple[tuple[str, tuple[str, ...]], ...] = ()
    fixed: tuple[tuple[str, str], ...] = ()


def parse_assignment(text: str, option: str) -> tuple[str, tuple[str, ...]]:
    """'depth=10,12,14' -> ('depth', ('10', '12', '14')); one-line errors name the option."""
    name, sep, values = text.partition("=")
    name = name.strip()
    items = tuple(v.strip() for v in values.split(",")) if sep else ()
    if not name or not items or any(not v for v in items):
        raise HarnessError(f"{option}: expected NAME=V1,V2,... got {text!r}")
    return name, items


def axis_from_options(params: Sequence[str], sets: Sequence[str]) -> Axis:
    """--param (the first is the axis; further ones are linked to it) and --set NAME=VALUE."""
    if not params:
        raise HarnessError("--param: give the axis to sweep, e.g. --param depth=10,12,14,16")
    pairs = [parse_assignment(p, "--param") for p in params]
    name, values = pairs[0]
    if len(set(values)) != len(values):  # linked settings may repeat: GOMEMLIMIT=off,off,1GiB
        raise HarnessError(f"--param {name}: each value of the axis once, got {params[0]!r}")
    for other, linked in pairs[1:]:
        if len(linked) != len(values):
            raise HarnessError(
                f"--param {other}: {len(linked)} values, but the axis {name} has {len(values)} "
                "(a linked parameter needs one value per point)"
            )
    return with_fixed(Axis(name, values, tuple(pairs[1:])), sets)


def with_fixed(axis: Axis, sets: Sequence[str]) -> Axis:
    """`axis` with --set NAME=VALUE settings fixed at every point; a name may appear once."""
    fixed = []
    for text in sets:
        key, items = parse_assignment(text, "--set")
        if len(items) != 1:
            raise HarnessError(f"--set {key}: one value, got {len(items)}")
        fixed.append((key, items[0]))
    names = [axis.name, *(n for n, _ in axis.linked), *(k for k, _ in fixed)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise HarnessError(f"--param/--set: {', '.join(repeated)} given more than once")
    return dataclasses.replace(axis, fixed=tuple(fixed))


def manifest_axis(workload: Workload, size: str) -> Axis:
    pairs = workload.sweeps.get(size)
    if not pairs:
        raise HarnessError(
            f"{workload.manifest_path}: no [sweep.{size}] table; give the axis with --param"
        )
    (name, values), *linked = pairs
    return Axis(name, values, tuple(linked))


def check_runtime_value(name: str, value: str, where: str) -> None:
    """Refuse what Go would refuse (or silently ignore) for a runtime setting."""
    if name == "GOGC":
        if value != "off" and not (value.isdigit() and int(value) > 0):
            raise HarnessError(f"{where} GOGC: a percentage above 0 or 'off', got {value!r}")
    elif name == "GOMEMLIMIT":
        if value != "off" and not MEMORY_LIMIT.match(value):
            raise HarnessError(
                f"{where} GOMEMLIMIT: bytes with an optional B/KiB/MiB/GiB/TiB suffix or "
                f"'off', got {value!r}"
            )
    elif name == "GOMAXPROCS" and not (value.isdigit() and int(value) > 0):
        raise HarnessError(f"{where} GOMAXPROCS: a whole number above 0, got {value!r}")


def _param_value(workload: Workload, size: str, name: str, value: str, where: str) -> ParamValue:
    """The text of a parameter's value, typed like the manifest's own value for this size."""
    params = workload.params[size]
    if name not in params:
        known = ", ".join([*params, *RUNTIME_SETTINGS])
        raise HarnessError(
            f"{where}: {workload.name} has no parameter '{name}' "
            f"({workload.manifest_path} [params.{size}]; known: {known})"
        )
    current = params[name]
    try:
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
    except ValueError:
        kind = type(current).__name__
        raise HarnessError(
            f"{where} {name}: the manifest's value is a number ({kind}), got {value!r}"
        ) from None
    return value


def numeric(name: str, value: str) -> float | None:
    """A point's value as a number for a curve: GOMEMLIMIT in bytes; None for 'off' and text."""
    if name == "GOMEMLIMIT":
        found = MEMORY_LIMIT.match(value)
        return float(int(found[1]) * MEMORY_UNITS[found[2]]) if found else None
    try:
        return float(value)
    except ValueError:
        return None


def cpus_value(value: str, available: Sequence[int], where: str) -> tuple[int, ...]:
    """A point of the cpus axis: the last N available CPUs, for both languages alike."""
    if not value.isdigit():
        raise HarnessError(f"{where} {CPUS_AXIS}: a whole number of CPUs, got {value!r}")
    return last_cpus(int(value), available, f"{where} {CPUS_AXIS}")


def expand(
    workload: Workload,
    axis: Axis,
    size: str,
    seed: int,
    where: str,
    available: Sequence[int] | None = None,
) -> list[Workload]:
    """One copy of `workload` per point, in the order measured (shuffled by `seed`), each named
    '<name>@<axis>=<value>' with its parameters, Go environment or CPUs set and its SweepPoint.
    `available`: the CPUs a cpus axis takes from (default: this process's, read before the
    harness pins itself)."""
    settings = [(axis.name, axis.values), *axis.linked]
    cpu_set = tuple(available) if available is not None else available_cpus()
    for name, values in [*settings, *((k, (v,)) for k, v in axis.fixed)]:
        for value in values:
            if name == CPUS_AXIS:
                cpus_value(value, cpu_set, where)
            elif name in RUNTIME_SETTINGS:
                check_runtime_value(name, value, where)
            else:
                _param_value(workload, size, name, value, where)
    order = list(range(len(axis.values)))
    random.Random(f"{seed}:{workload.name}:{axis.name}").shuffle(order)
    points = []
    for run_order, position in enumerate(order):
        assigned = [(name, values[position]) for name, values in settings] + list(axis.fixed)
        params: dict[str, dict[str, ParamValue]] = {s: dict(p) for s, p in workload.params.items()}
        env = []
        cpus = workload.cpus
        for name, value in assigned:
            if name == CPUS_AXIS:
                cpus = cpus_value(value, cpu_set, where)
            elif name in RUNTIME_SETTINGS:
                env.append((name, value))
            else:
                params[size][name] = _param_value(workload, size, name, value, where)
        value = axis.values[position]
        point = SweepPoint(
            workload=workload.name,
            axis=axis.name,
            value=value,
            numeric=numeric(axis.name, value),
            linked=tuple((n, v[position]) for n, v in axis.linked),
            fixed=axis.fixed,
            position=position,
            run_order=run_order,
        )
        implementations = tuple(
            dataclasses.replace(impl, env=tuple(env)) if impl.lang == "go" else impl
            for impl in workload.implementations
        )
        points.append(
            dataclasses.replace(
                workload,
                name=f"{workload.name}@{axis.name}={value}",
                params=params,
                implementations=implementations,
                sweep_point=point,
                cpus=cpus,
            )
        )
    return points


def points_by_workload(points: Mapping[str, SweepPoint]) -> dict[tuple[str, str], list[str]]:
    """(workload, axis) -> the measured workloads' names in axis order."""
    grouped: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for name, point in points.items():
        grouped.setdefault((point.workload, point.axis), []).append((point.position, name))
    return {key: [n for _, n in sorted(found)] for key, found in grouped.items()}
