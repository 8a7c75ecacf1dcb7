"""The fakes a stage is tested with instead of toolchains and processes: an executor with scripted
outcomes (measure.Executor), a builder that builds nothing (runner.BuildStep), and a prepared input.
"""

from __future__ import annotations

from builders import build_record, outcome

from harness.model import InputRecord

INPUT = InputRecord(
    generator="json_docs",
    seed=1,
    params={"depth": 12},
    path="/cache/inputs/json_docs-quick.bin",
    size_bytes=123,
    sha256="ef" * 32,
)


class FakeExecutor:
    """Implements measure.Executor: scripted outcomes per binary, every call recorded."""

    def __init__(self, script=None):
        # binary path -> list of outcomes, consumed in call order; absent or empty -> ok outcome
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.calls = []

    def run(self, argv, *, env, cpus, timeout_seconds, sample_interval_seconds):
        self.calls.append(
            {
                "argv": list(argv),
                "env": dict(env),
                "cpus": cpus,
                "timeout": timeout_seconds,
                "interval": sample_interval_seconds,
            }
        )
        queue = self.script.get(argv[0])
        return queue.pop(0) if queue else outcome()

    def binaries(self):
        return [call["argv"][0] for call in self.calls]


class FakeBuilder:
    def __init__(self, failing=()):
        self.failing = set(failing)
        self.built = []

    def build(self, wl, impl):
        self.built.append((wl.name, impl.key))
        if impl.key in self.failing:
            return build_record(
                impl.lang, impl.variant, wl.name, ok=False, error="build failed (exit 1)"
            )
        return build_record(impl.lang, impl.variant, wl.name)


def builds_for(wl, failing=()):
    return {i.key: FakeBuilder(failing).build(wl, i) for i in wl.implementations}
