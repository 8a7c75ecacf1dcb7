"""Generate workload inputs deterministically and cache them by what determines their bytes.

The cache key covers the generator's source, the seed and the parameters, so editing a generator
invalidates its inputs; the SHA-256 of every input is recorded in the results.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import random
from pathlib import Path

from harness.errors import HarnessError
from harness.model import InputRecord, ParamValue, Workload
from harness.store import write_atomic


def _generator_module(name: str, where: str):
    try:
        module = importlib.import_module(f"harness.generators.{name}")
    except ModuleNotFoundError as exc:
        raise HarnessError(
            f"{where}: input generator '{name}' not found in harness/generators/"
        ) from exc
    if not callable(getattr(module, "generate", None)):
        raise HarnessError(f"harness/generators/{name}.py: has no generate(rng, **params) function")
    return module


def _generator_params(module, params: dict[str, ParamValue]) -> dict[str, ParamValue]:
    """The subset of the workload's parameters that the generator accepts."""
    signature = inspect.signature(module.generate)
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return dict(params)
    return {k: v for k, v in params.items() if k in signature.parameters}


def prepare_input(workload: Workload, size: str, cache_dir: Path) -> InputRecord | None:
    """Return the cached input for this workload and size, generating it on first use."""
    if workload.input is None:
        return None
    spec = workload.input
    module = _generator_module(spec.generator, workload.manifest_path)
    params = _generator_params(module, workload.params[size])
    source = inspect.getsource(module).encode()
    key_material = json.dumps([spec.seed, params], sort_keys=True).encode() + source
    key = hashlib.sha256(key_material).hexdigest()[:16]
    path = cache_dir / f"{spec.generator}-{size}-{key}.bin"
    if not path.exists():
        data = module.generate(random.Random(spec.seed), **params)
        if not isinstance(data, bytes | bytearray):
            raise HarnessError(
                f"harness/generators/{spec.generator}.py: generate() must return bytes"
            )
        write_atomic(path, bytes(data))
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return InputRecord(
        generator=spec.generator,
        seed=spec.seed,
        params=params,
        path=os.fspath(path.resolve()),
        size_bytes=path.stat().st_size,
        sha256=digest.hexdigest(),
    )
