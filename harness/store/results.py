"""Versioned JSON results: one file per run, written atomically after every workload.

The file is the `Run` dataclass as JSON plus `schema_version`. Readers migrate older versions
forward and refuse newer ones.

What gets written, and when: a run's file first appears once it has measured one workload, and
`latest.json` only ever moves to a run with at least one workload result. A run that stops before
measuring anything (Ctrl-C during the first build, a manifest whose input generator does not
exist) writes nothing: it has no figures to keep, and an empty run as `latest` made the gate
compare nothing and pass. A run stopped after some workloads (Ctrl-C, SIGTERM, or an error) is
saved with status `interrupted` and what it measured; `compare` refuses it unless told otherwise.

History of the format:

- 1: first version.
- 2: the recorded order and adaptive rounds: RunConfig.order / seed / stopping, Repetition.position /
  predecessor / started_at_seconds, WorkloadResult.rounds, Run.session_id. Version-1 files read as
  order "given" with no positions (they were run in the manifest's order every round).
- 3: noise readings: Run.system (the machine's settings at the start) and WorkloadResult.cpu_window
  (/proc/stat and the harness's CPU time around the measured rounds). Older files read as None:
  no noise figures, never an error.
- 4: server phases count every request and share one time base. ServerPhase.request_counts (by
  outcome: expected and unexpected status, timeouts, deadline aborts, other errors, unsent) and
  loadgen_wall_seconds; answered requests of any status and unsent ones (at a lower bound) are in
  the latency histogram; duration_seconds, server CPU and GC cycles cover the load generator's own
  span, and server_peak_rss_bytes is the phase's own peak. ImplementationResult.transport (what
  the running server's TCP transport did). Older files read with request_counts and
  loadgen_wall_seconds None and no transport; their phases keep the old meanings (expected-status
  latencies only, the harness's time around the load generator, the peak since the server
  started). RunConfig.reverse (every round's order backwards; false in older files).
- 5: replicated server phases. ServerPhase.replicate (1..k, each replicate on a fresh server;
  None for the selection pass), ServerSettings.replicates / replicate_probe_seconds / rates_rps,
  WorkloadResult.rates_source (how the offered rates were chosen). Older files read with
  replicate None everywhere: each rate's one phase counts as a single replicate.
- 6: WorkloadResult.origin (the manifest a workload came from, its git commit and whether the tree
  was dirty); ServerPhase.steal_share (the hypervisor's CPU steal over the phase, which sets a
  disturbed replicate aside) and ServerSettings.extra_replicates; WorkloadResult.sweep (a
  `harness sweep` point: workload, axis, value). Older files read with no origin, no steal
  reading (no replicate set aside), no extra replicates and no sweep.
- 7: what the builds and the CPU were. Machine.cpu_flags (every flag /proc/cpuinfo lists);
  WorkloadResult.cpu_features (the CPU flags the manifest says its verdict depends on);
  BuildRecord.environment and environment_changes (the settings that shape a build as the
  toolchain saw them, and those that differ from its defaults). Older files read with cpu_flags
  None ("not recorded"), no cpu_features, and an empty environment: their `flags` text is what
  they claimed, unverified.
  Also the go+rust hybrid: Implementation status "skipped" is used (a hybrid not built because cgo
  is unavailable, BuildRecord.skip_reason); BuildRecord.toolchains (every toolchain a build ran),
  links (a hybrid's Rust staticlib crate), step_seconds (a hybrid's cargo and go build steps) and
  needed_libraries (the binary's DT_NEEDED shared libraries; () = static). Older files read with
  no toolchains, links, steps or skip reason, and needed_libraries None (not read).
  Also ServerPhase.gc_cycles_required (how many Go GC cycles a fixed-rate phase had to contain to be
  quoted: the manifest's `[server] min_gc_cycles`). Older files read with None: no requirement,
  so their phases count as they did.
- 8: budgets before power. StoppingRule.max_seconds is per program of a round (budget_per
  "program"; a workload's budget is that times its programs) and applies only after the minimum
  of rounds; StoppingRule.budget_given (the user chose it). RoundsRecord.min_rounds,
  budget_seconds and warmup_round_seconds. Older files read with budget_per "workload" (their
  max_seconds was the whole workload's, and could stop it before the minimum), budget_given false
  and the new RoundsRecord fields None.
- 9: CPUs as a measured axis (issue 27). Repetition.cpus (the CPUs the program was given),
  allowed_cpus and threads (what its live process showed: its CPU affinity, the most threads at
  once); WorkloadResult.cpus and shares_cpus_with_harness; an implementation beyond its
  manifest `limits` is "skipped"; WorkloadResult.published (others' figures from the manifest).
  Servers: ServerSettings.parallelism follows the server's CPUs (always 1 before), with
  gc_phase_margin and gc_phase_cap_seconds; ServerPhase.server_cpus, loadgen_cpus and
  shared_cpus (read back per phase); WorkloadResult.phase_sizing (phase lengths chosen from the
  Go probe's GC rate). Older files read with those None / false / 0: they ran on the run's
  --pin with one server worker, not read back.
  WorkloadResult.race_checks (each Go program of a concurrent workload race-built and run once
  at quick size: clean, race, not run, failed) and unsafe_counts (the `unsafe` in each Rust
  implementation's own source). Older files read with none: not checked.
- 10: servers measured across machines (issue 29): Run.topology, ServerPhase.load_hosts and
  hosts_overhead_seconds, ServerSettings.listen_address. Older files ran on one machine.
- 11: servers beside a back end (issue 30): ImplementationResult.backend (the back end's program,
  build, protocol, transport and CPU policy) and direct_phases (each rate sent straight to the
  back end in the same replicate); ServerPhase.backend_user_seconds, backend_sys_seconds,
  backend_peak_rss_bytes and backend_cpus. Older files had no back ends.
- 12: WorkloadResult.timing (the wall seconds of a workload's builds, checks, input and
  measuring in the run). Older files read with None: not timed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import tempfile
import types
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from harness.errors import HarnessError
from harness.model import ProfileRun, Run


def _budget_per_workload(data: dict) -> dict:
    """7 -> 8: a stopping rule's max_seconds was the whole workload's budget then."""
    config = data.get("config") or {}
    stopping = config.get("stopping")
    if isinstance(stopping, dict):
        config = {**config, "stopping": {**stopping, "budget_per": "workload"}}
    return {**data, "config": config, "schema_version": 8}


SCHEMA_VERSION = 12
MIGRATIONS: dict[int, typing.Callable[[dict], dict]] = {  # from version N to N+1
    1: lambda data: {**data, "schema_version": 2},  # every new field has a default
    2: lambda data: {**data, "schema_version": 3},  # likewise
    3: lambda data: {**data, "schema_version": 4},  # likewise
    4: lambda data: {**data, "schema_version": 5},  # likewise
    5: lambda data: {**data, "schema_version": 6},  # likewise (WorkloadResult.origin)
    6: lambda data: {
        **data,
        "schema_version": 7,
    },  # likewise (cpu_flags, build environment, hybrids, gc_cycles_required)
    7: lambda data: _budget_per_workload(data),
    8: lambda data: {**data, "schema_version": 9},  # every new field has a default
    9: lambda data: {**data, "schema_version": 10},  # likewise (topology, load hosts, listen address)
    10: lambda data: {**data, "schema_version": 11},  # likewise (back ends, direct phases)
    11: lambda data: {**data, "schema_version": 12},  # likewise (WorkloadResult.timing)
}
LATEST_NAME = "latest.json"
# `harness profile`'s files (model.ProfileRun), versioned on their own: results/profiles/<run-id>.json
# beside the run they profile. History: 1: first version.
PROFILE_SCHEMA_VERSION = 1
PROFILES_DIR = "profiles"


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def new_run_id(now: datetime | None = None) -> str:
    """Sortable by time; the random suffix keeps two runs in the same second apart."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def run_to_json(run: Run) -> str:
    return json.dumps(dataclasses.asdict(run), indent=1, allow_nan=False) + "\n"


def save_run_file(run: Run, folder: Path) -> Path:
    """Write <folder>/<run-id>.json only (no latest.json): for runs kept aside, like A/B sides."""
    path = folder / f"{run.run_id}.json"
    write_atomic(path, run_to_json(run).encode())
    return path


def save_run(run: Run, results_dir: Path) -> Path:
    """Write results/<run-id>.json and refresh results/latest.json (a copy), which moves only to
    a run that measured something: an empty run never becomes `latest`."""
    data = run_to_json(run).encode()
    path = results_dir / f"{run.run_id}.json"
    write_atomic(path, data)
    if run.workloads:
        write_atomic(results_dir / LATEST_NAME, data)
    return path


def _read_versioned(path: Path, kind: str) -> dict[str, Any]:
    """The JSON object of a results or profile file (`kind`), or a one-line error naming the file:
    missing, unreadable, or without an integer schema_version."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise HarnessError(f"{path}: {kind} file not found") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HarnessError(f"{path}: not a readable {kind} file ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("schema_version"), int):
        raise HarnessError(f"{path}: not a {kind} file (no integer 'schema_version')")
    return data


def load_run(path: Path) -> Run:
    data = _read_versioned(path, "results")
    version = data["schema_version"]
    if version > SCHEMA_VERSION:
        raise HarnessError(
            f"{path}: schema_version {version} is newer than this harness understands "
            f"({SCHEMA_VERSION}); upgrade the harness"
        )
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise HarnessError(
                f"{path}: schema_version {version} has no migration to {SCHEMA_VERSION}"
            )
        data = MIGRATIONS[version](data)
        version = data["schema_version"]
    try:
        return from_plain(Run, data)
    except (TypeError, ValueError, KeyError) as exc:
        raise HarnessError(f"{path}: malformed results ({exc})") from exc


def profile_path(results_dir: Path, run_id: str) -> Path:
    """Where the profiles of run `run_id` live: a `profiles/` folder beside its results file."""
    return results_dir / PROFILES_DIR / f"{run_id}.json"


def save_profile(profile: ProfileRun, results_dir: Path) -> Path:
    path = profile_path(results_dir, profile.run_id)
    data = json.dumps(dataclasses.asdict(profile), indent=1, allow_nan=False) + "\n"
    write_atomic(path, data.encode())
    return path


def load_profile(path: Path) -> ProfileRun:
    """A profile file, or a one-line error naming it (unreadable, not a profile, too new)."""
    data = _read_versioned(path, "profile")
    if data["schema_version"] > PROFILE_SCHEMA_VERSION:
        raise HarnessError(
            f"{path}: profile schema_version {data['schema_version']} is newer than this harness "
            f"understands ({PROFILE_SCHEMA_VERSION}); upgrade the harness"
        )
    try:
        return from_plain(ProfileRun, data)
    except (TypeError, ValueError, KeyError) as exc:
        raise HarnessError(f"{path}: malformed profile ({exc})") from exc


def profile_json_schema() -> dict[str, Any]:
    """The JSON Schema of a profile file, derived from the model like results_json_schema."""
    definitions: dict[str, Any] = {}
    root = json_schema_for(ProfileRun, definitions)
    definitions["ProfileRun"]["properties"]["schema_version"] = {"const": PROFILE_SCHEMA_VERSION}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Go vs Rust harness CPU profiles, schema_version {PROFILE_SCHEMA_VERSION}",
        **root,
        "$defs": definitions,
    }


# --- plain JSON values <-> dataclasses, driven by the type hints ---------------------------------


def from_plain(kind: Any, value: Any) -> Any:
    """Rebuild a typed value from what json.loads returned; raises TypeError on a mismatch."""
    origin = get_origin(kind)
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise TypeError(f"{kind.__name__}: expected an object, got {type(value).__name__}")
        hints = get_type_hints(kind)
        names = {f.name for f in dataclasses.fields(kind) if f.init}
        return kind(**{k: from_plain(hints[k], v) for k, v in value.items() if k in names})
    if origin in (typing.Union, types.UnionType):
        options = get_args(kind)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return from_plain(option, value)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise TypeError("; ".join(errors))
    if origin is tuple:
        if not isinstance(value, list):
            raise TypeError(f"expected an array, got {type(value).__name__}")
        item = get_args(kind)[0]
        return tuple(from_plain(item, v) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        value_kind = get_args(kind)[1]
        return {k: from_plain(value_kind, v) for k, v in value.items()}
    if origin is Literal:
        if value not in get_args(kind):
            raise ValueError(f"{value!r} is not one of {get_args(kind)}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number, got {value!r}")
        return float(value)
    if kind in (int, str, bool):
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"expected {kind.__name__}, got {value!r}")
        return value
    if kind is object:
        return value
    raise TypeError(f"unsupported type {kind!r}")


def json_schema_for(kind: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) fragment for a type; dataclasses go to `$defs`."""
    origin = get_origin(kind)
    if dataclasses.is_dataclass(kind):
        name = kind.__name__
        if name not in definitions:
            definitions[name] = {}  # placeholder against recursion
            hints = get_type_hints(kind)
            fields = [f for f in dataclasses.fields(kind) if f.init]
            definitions[name] = {
                "type": "object",
                "properties": {f.name: json_schema_for(hints[f.name], definitions) for f in fields},
                "required": [f.name for f in fields],
            }
        return {"$ref": f"#/$defs/{name}"}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [json_schema_for(option, definitions) for option in get_args(kind)]}
    if origin is tuple:
        return {"type": "array", "items": json_schema_for(get_args(kind)[0], definitions)}
    if origin is dict:
        return {
            "type": "object",
            "additionalProperties": json_schema_for(get_args(kind)[1], definitions),
        }
    if origin is Literal:
        return {"enum": list(get_args(kind))}
    simple = {float: "number", int: "integer", str: "string", bool: "boolean", type(None): "null"}
    if kind in simple:
        return {"type": simple[kind]}
    if kind is object:
        return {}
    raise TypeError(f"unsupported type {kind!r}")


def results_json_schema() -> dict[str, Any]:
    """The JSON Schema of a results file, derived from the model so the two cannot drift."""
    definitions: dict[str, Any] = {}
    root = json_schema_for(Run, definitions)
    run_def = definitions["Run"]
    run_def["properties"]["schema_version"] = {"const": SCHEMA_VERSION}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Go vs Rust harness results, schema_version {SCHEMA_VERSION}",
        **root,
        "$defs": definitions,
    }
