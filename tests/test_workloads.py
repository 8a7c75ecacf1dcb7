"""Every batch workload: the real Go and Rust implementations (and variants) agree on the quick
input, and the verification catches a deliberately corrupted output. Builds real binaries (e2e)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from harness import config
from harness.build.builder import Builder
from harness.measure import launcher as measure
from harness.measure.inputs import prepare_input
from harness.measure.runner import run_batch_workload
from harness.model import RunConfig

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
BATCH = [w for w in config.load_workloads(ROOT / "workloads").values() if w.kind == "batch"]
# the binaries come from the suite's one shared build (tests/conftest.py)
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("workspace_build")]


def quick_config(workload) -> RunConfig:
    return RunConfig(
        size="quick",
        repetitions=1,
        warmups=0,
        timeout_seconds=120,
        cpu_affinity=None,
        sample_interval_seconds=0,
        workloads=(workload.name,),
    )


class CorruptingExecutor:
    """The real executor, except that one implementation's checksum is altered."""

    def __init__(self, inner, binary_to_corrupt: str):
        self.inner = inner
        self.binary = binary_to_corrupt

    def run(self, argv, **kwargs):
        outcome = self.inner.run(argv, **kwargs)
        if argv[0] != self.binary:
            return outcome
        lines = outcome.stdout.rstrip("\n").split("\n")
        result = json.loads(lines[-1])
        result["checksum"] = ("0" if result["checksum"][0] != "0" else "1") + result["checksum"][1:]
        return replace(outcome, stdout="\n".join([*lines[:-1], json.dumps(result)]) + "\n")


@pytest.fixture(scope="module")
def executor():
    return measure.SubprocessExecutor(measure.ensure_launcher(CACHE))


@pytest.mark.parametrize("workload", BATCH, ids=[w.name for w in BATCH])
def test_pair_outputs_agree_and_corruption_is_caught(workload, executor):
    builder = Builder(CACHE)
    builds = {impl.key: builder.build(workload, impl) for impl in workload.implementations}
    for key, record in builds.items():
        assert record.ok, f"{workload.name} {key}: {record.error}"
    input_record = prepare_input(workload, "quick", CACHE / "inputs")

    result = run_batch_workload(workload, builds, input_record, quick_config(workload), executor)
    assert result.status == "ok", result.error
    for impl in result.implementations:
        assert impl.status == "ok", f"{impl.key}: {impl.error}"
        (rep,) = impl.repetitions
        assert rep.checksum == result.reference_checksum
    items = {impl.repetitions[0].items for impl in result.implementations}
    assert len(items) == 1, f"implementations disagree on the work done: {items}"
    if workload.name == "gzip":  # every side decompressed the one shared reference stream
        assert input_record is not None
        for impl in result.implementations:
            extra = impl.repetitions[0].extra
            assert extra["reference_compressed_bytes"] == input_record.size_bytes, impl.key
            assert extra["compressed_bytes"] > 0, impl.key

    rust_binary = builds["rust/default"].binary_path
    corrupted = run_batch_workload(
        workload,
        builds,
        input_record,
        quick_config(workload),
        CorruptingExecutor(executor, rust_binary),
    )
    assert corrupted.status == "checksum_mismatch"
    assert corrupted.result_for("rust/default").status == "checksum_mismatch"
    assert "checksum mismatch" in corrupted.error


@pytest.mark.skipif(shutil.which("go") is None, reason="needs go")
def test_go_gzip_decompression_buffer_is_allocated_once():
    """workloads/docs/gzip.md "Asymmetries": Go's output buffer is never reallocated (the package
    test checks its capacity after decompressing), as Rust's Vec is not."""
    done = subprocess.run(
        ["go", "test", "-count=1", "./gzip/roundtrip/"],
        cwd=ROOT / "workloads" / "go",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(
    shutil.which("go") is None or shutil.which("cargo") is None, reason="needs go and cargo"
)
def test_pipeline_transform_vectors_agree_on_both_sides():
    """workloads/docs/pipeline.md: the Go and Rust transforms are one algorithm; both package tests
    check it against the same vectors (computed by a third, Python, transcription), and the Go one
    the record splitting, so a change on one side shows here before any checksum comparison."""
    go = subprocess.run(
        ["go", "test", "-count=1", "./pipeline/"],
        cwd=ROOT / "workloads" / "go",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert go.returncode == 0, go.stdout + go.stderr
    rust = subprocess.run(
        ["cargo", "test", "--release", "--locked", "-p", "pipeline-core"],
        cwd=ROOT / "workloads" / "rust",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert rust.returncode == 0, rust.stdout + rust.stderr
    assert "transform_matches_the_shared_vectors ... ok" in rust.stdout
def test_many_tasks_refuses_a_run_in_which_not_all_tasks_were_alive_at_once():
    """workloads/docs/many-tasks.md: each program fails unless the live counter's high-water mark
    is N, and the Go and Rust sides share the state, fold and checksum (the one-task checksum is
    pinned on both). The check never fails in a real run (the release makes it hold), so the
    programs' own tests drive it: the Go package test and many-tasks-core's unit tests."""
    for argv, folder, passed in (
        (
            ["go", "test", "-count=1", "-v", "./many-tasks/"],
            "go",
            ("--- PASS: TestOnlyAllTasksAliveAtOncePassTheCheck", "--- PASS: TestStateFold"),
        ),
        (
            ["cargo", "test", "--release", "--locked", "-p", "many-tasks-core"],
            "rust",
            ("only_all_tasks_alive_at_once_pass_the_check ... ok", "match_the_go_program ... ok"),
        ),
    ):
        done = subprocess.run(
            argv,
            cwd=ROOT / "workloads" / folder,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        for line in passed:
            assert line in done.stdout, done.stdout
