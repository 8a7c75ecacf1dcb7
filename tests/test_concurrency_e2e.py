"""End to end: a quick run of the concurrency workloads with the real Go and Rust binaries. Each is
measured at every CPU count of this machine (cpus = "each"), both runtimes are told the same N,
and what the live programs did is read back; the report's Concurrency section and the brief's
chart show them. Marked e2e."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_e2e import harness

from harness.measure.cpus import counts_up_to
from harness.store.results import load_run

ROOT = Path(__file__).resolve().parent
CONCURRENT = ("pipeline", "many-tasks", "ring")
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("workspace_build")]


@pytest.fixture(scope="module")
def concurrency_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("concurrency")
    common = ("--results-dir", str(out / "results"), "--cache-dir", str(ROOT.parent / ".cache"))
    done = harness(
        *common,
        "run",
        "--size",
        "quick",
        "--workloads",
        ",".join(CONCURRENT),
        "--repetitions",
        "3",
        cwd=out,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = harness(*common, "report", "latest", "--reports-dir", str(out / "reports"), cwd=out)
    assert report.returncode == 0, report.stderr
    return load_run(out / "results" / "latest.json"), out


def test_every_pair_agrees_at_every_cpu_count(concurrency_run):
    run, _ = concurrency_run
    counts = counts_up_to(len(os.sched_getaffinity(0)))
    expected = {f"{name}@cpus={n}" for name in CONCURRENT for n in counts}
    assert {w.name for w in run.workloads} == expected
    for workload in run.workloads:
        assert workload.status == "ok", (workload.name, workload.error)
        assert workload.reference_checksum
    for name in CONCURRENT:  # the same answer whatever the CPU count
        assert len({w.reference_checksum for w in run.workloads if w.sweep.workload == name}) == 1


def test_both_runtimes_got_n_and_the_live_processes_show_it(concurrency_run):
    run, _ = concurrency_run
    for workload in run.workloads:
        n = int(workload.sweep.value)
        assert len(workload.cpus) == n
        for impl in workload.implementations:
            if impl.status != "ok":
                assert impl.status == "skipped", (workload.name, impl.key, impl.error)
                continue
            for rep in impl.repetitions:
                assert rep.cpus == workload.cpus
                if "workers" in rep.extra:
                    assert rep.extra["workers"] == n, (workload.name, impl.key)
                if rep.allowed_cpus is not None:  # sampled while it ran
                    assert rep.allowed_cpus == workload.cpus
                    assert rep.threads >= 1
        pooled = [
            r for i in workload.implementations for r in i.repetitions if "workers" in r.extra
        ]
        assert pooled, f"{workload.name}: no program reported its workers"


def test_the_report_has_the_concurrency_section_and_the_brief_the_new_pairs(concurrency_run):
    _, out = concurrency_run
    page = out / "reports" / "latest.html"
    html = page.read_text()
    section = html[html.index('<section id="concurrency">') :]
    section = section[: section.index("</section>")]
    for name in CONCURRENT:
        assert f'id="concurrency-{name}"' in section
    assert "speedup" in section and "efficiency" in section
    brief = html[html.index('id="brief"') : html.index('<section id="summary">')]
    for name in CONCURRENT:
        assert f"{name}@cpus=1" in brief
