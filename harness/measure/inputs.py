"""Prepare workload inputs deterministically and cache them by what determines their bytes.

Three sources, one per manifest ([input]):
- `generator`: a Python module with `generate(rng, **params) -> bytes`, looked up first in the
  manifest folder's `generators/` (a team's own) and then in harness/measure/generators/. The cache key
  covers the module's source, the seed and the parameters, so editing a generator invalidates its
  inputs;
- `file`: a file in the manifest's folder, used where it is (nothing to cache);
- `command`: a program in any language whose stdout is the input, run without a shell in the
  manifest's folder; cached by its argv (placeholders filled) and the content of every file it
  names or `sources` lists.

The SHA-256 of every input is recorded in the results. A source that fails raises InputError,
which fails that workload only.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import random
import subprocess
from pathlib import Path
from types import ModuleType

from harness.errors import HarnessError
from harness.measure.launcher import stderr_tail
from harness.model import InputRecord, InputSpec, ParamValue, Workload
from harness.store.results import write_atomic

COMMAND_TIMEOUT_SECONDS = 600


class InputError(HarnessError):
    """The workload's input could not be prepared: that workload fails, the others still run."""


def _generator_module(name: str, root: Path, where: str) -> tuple[ModuleType, str, bytes]:
    """The module, where it was found and its source: the manifest folder's generators/ first.
    A team's generator is compiled from its text, so nothing (no __pycache__) is written into
    their tree, whose git state the results record."""
    local = root / "generators" / f"{name}.py"
    if local.is_file():
        source = local.read_bytes()
        module = ModuleType(f"workload_generators.{name}")
        module.__file__ = os.fspath(local)
        try:
            exec(compile(source, os.fspath(local), "exec"), module.__dict__)
        except Exception as exc:  # the team's code: any error is theirs to read, in one line
            raise InputError(f"{local}: cannot import the generator ({exc!r})") from exc
        label = os.fspath(local)
    else:
        try:
            module = importlib.import_module(f"harness.measure.generators.{name}")
        except ModuleNotFoundError as exc:
            raise InputError(
                f"{where} [input]: generator '{name}' not found in {root / 'generators'}/ "
                "or harness/measure/generators/"
            ) from exc
        label = f"harness/measure/generators/{name}.py"
        source = inspect.getsource(module).encode()
    if not callable(getattr(module, "generate", None)):
        raise InputError(f"{label}: has no generate(rng, **params) function")
    return module, label, source


def _generator_params(module, params: dict[str, ParamValue]) -> dict[str, ParamValue]:
    """The subset of the workload's parameters that the generator accepts."""
    signature = inspect.signature(module.generate)
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return dict(params)
    return {k: v for k, v in params.items() if k in signature.parameters}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _filled(text: str, params: dict[str, ParamValue], size: str) -> str:
    return text.format_map({**params, "size": size})


def _record(generator: str, seed: int, params, path: Path) -> InputRecord:
    return InputRecord(
        generator=generator,
        seed=seed,
        params=dict(params),
        path=os.fspath(path.resolve()),
        size_bytes=path.stat().st_size,
        sha256=_sha256(path),
    )


def _shown(params: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def _from_generator(workload: Workload, spec: InputSpec, size: str, cache_dir: Path):
    assert spec.generator is not None
    module, label, source = _generator_module(spec.generator, workload.root, workload.manifest_path)
    params = _generator_params(module, workload.params[size])
    key_material = json.dumps([spec.seed, params], sort_keys=True).encode() + source
    key = hashlib.sha256(key_material).hexdigest()[:16]
    path = cache_dir / f"{spec.generator}-{size}-{key}.bin"
    if not path.exists():
        try:
            data = module.generate(random.Random(spec.seed), **params)
        except Exception as exc:  # a value it rejects (a sweep point's): that workload fails
            raise InputError(f"{label}: generate({_shown(params)}) failed: {exc!r}") from exc
        if not isinstance(data, bytes | bytearray):
            raise InputError(f"{label}: generate() must return bytes")
        write_atomic(path, bytes(data))
    return _record(spec.generator, spec.seed, params, path)


def _from_file(workload: Workload, spec: InputSpec, size: str) -> InputRecord:
    assert spec.file is not None
    relative = _filled(spec.file, workload.params[size], size)
    path = workload.root / relative
    if not path.is_file():
        raise InputError(f"{workload.manifest_path} [input]: field 'file': {path} not found")
    return _record(f"file {relative}", 0, workload.params[size], path)


def _from_command(workload: Workload, spec: InputSpec, size: str, cache_dir: Path) -> InputRecord:
    assert spec.command is not None
    root = workload.root
    argv = [_filled(arg, workload.params[size], size) for arg in spec.command]
    digest = hashlib.sha256(json.dumps(argv).encode())
    named = [root / a for a in argv[1:] if (root / a).is_file()]
    for source in sorted({*named, *(root / s for s in spec.sources)}):
        if not source.is_file():
            raise InputError(
                f"{workload.manifest_path} [input]: field 'sources': {source} not found"
            )
        digest.update(os.fspath(source.relative_to(root)).encode() + b"\0")
        digest.update(source.read_bytes() + b"\0")
    path = cache_dir / f"{workload.name}-command-{size}-{digest.hexdigest()[:16]}.bin"
    if not path.exists():
        try:
            done = subprocess.run(
                argv,
                cwd=root,
                capture_output=True,
                timeout=COMMAND_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InputError(
                f"{workload.manifest_path} [input]: field 'command' {argv[0]!r} could not run "
                f"({getattr(exc, 'strerror', None) or exc})"
            ) from exc
        if done.returncode != 0:
            tail = stderr_tail(done.stderr.decode(errors="replace")).strip()
            raise InputError(
                f"{workload.manifest_path} [input]: field 'command' exited "
                f"{done.returncode}: {tail or '(no stderr)'}"
            )
        write_atomic(path, done.stdout)
    return _record("command " + " ".join(argv), 0, workload.params[size], path)


def prepare_input(workload: Workload, size: str, cache_dir: Path) -> InputRecord | None:
    """Return the cached input for this workload and size, preparing it on first use."""
    spec = workload.input
    if spec is None:
        return None
    cache_dir.mkdir(parents=True, exist_ok=True)
    if spec.file is not None:
        return _from_file(workload, spec, size)
    if spec.command is not None:
        return _from_command(workload, spec, size, cache_dir)
    return _from_generator(workload, spec, size, cache_dir)
