"""machine_block: the machine a workload doc quotes comes from a results file, printed by
`harness machine`, and every doc's block is in exactly that format."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from builders import machine, small_run

from harness.report import machine_block
from harness.store.results import save_run

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "workloads" / "docs").glob("*.md"))


def _run():
    return replace(small_run(), machine=replace(machine(), cpu_flags=("avx2", "sha_ni", "sse2")))


def test_block_round_trips_through_its_parser():
    block = machine_block.render(_run())
    run_id, started, size, rows = machine_block.parse_block(block)
    assert (run_id, size) == (_run().run_id, "quick")
    assert machine_block.format_block(run_id, started, size, rows) == block
    assert dict(rows)["CPU features the workloads' libraries select code by"] == (
        "avx2 sha_ni; absent: aes avx512* bmi2 pclmulqdq"
    )
    assert machine_block.blocks_in(f"text\n\n{block}\nmore\n") == [block]


@pytest.mark.parametrize(
    "edit",
    [
        lambda b: b.replace("| machine | |", "| machine |"),
        lambda b: b.replace("Measured in run", "Measured on"),
        lambda b: b.replace(machine_block.END, "end"),
        lambda b: b.replace("| CPU | Test CPU", "CPU: Test CPU"),
        lambda b: b.replace("machine 20260101T000000Z-abcd", "machine 20270101T000000Z-abcd"),
    ],
)
def test_a_block_not_in_the_printed_format_is_refused(edit):
    with pytest.raises(ValueError):
        machine_block.parse_block(edit(machine_block.render(_run())))


def test_the_machine_command_prints_the_block(tmp_path):
    run = _run()
    save_run(run, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "harness", "--results-dir", str(tmp_path), "machine", run.run_id],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == machine_block.render(run)


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_docs_machine_block_is_in_the_printed_format(doc):
    for block in machine_block.blocks_in(doc.read_text()):
        run_id, started, size, rows = machine_block.parse_block(block)
        assert machine_block.format_block(run_id, started, size, rows) == block
        assert [name for name, _ in rows] == [name for name, _ in machine_block.machine_rows(_run())]


def test_sha256_doc_describes_its_machine_from_a_record():
    (block,) = machine_block.blocks_in((ROOT / "workloads" / "docs" / "sha256.md").read_text())
    rows = dict(machine_block.parse_block(block)[3])
    assert "sha_ni" in rows["CPU features the workloads' libraries select code by"].split(";")[0]


def _with_go_experiments(run, experiments):
    workloads = []
    for w in run.workloads:
        impls = tuple(
            replace(i, build=replace(i.build, environment={"experiments (toolchain)": experiments}))
            if i.lang == "go"
            else i
            for i in w.implementations
        )
        workloads.append(replace(w, implementations=impls))
    return replace(run, workloads=tuple(workloads))


def test_go_collector_is_read_from_the_build_records():
    run = _run()
    assert machine_block.go_collector(run).startswith("not recorded")
    green = _with_go_experiments(run, "dwarf5 greenteagc regabiargs")
    assert machine_block.go_collector(green).startswith("Green Tea")
    classic = _with_go_experiments(run, "dwarf5 regabiargs")
    assert "greenteagc off" in machine_block.go_collector(classic)
