"""cpufeatures and the machine record: the CPU flags a verdict depends on, recorded and shown.

The sha256 pair runs SHA-NI code on both sides when the CPU has it and different fallbacks when
not, so its verdict is only quotable beside the flags of the machine that measured it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from builders import machine, small_run

from harness.measure import cpufeatures
from harness.measure import machine as machine_module
from harness.report import html as report

CPUINFO = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu sse2 ssse3 sse4_1 aes avx avx2 bmi2 avx512f avx512bw sha_ni pclmulqdq

processor\t: 1
flags\t\t: fpu sse2
"""


def test_flags_are_the_first_processors_sorted():
    flags = cpufeatures.parse_flags(CPUINFO)
    assert flags == tuple(
        sorted(["fpu", "sse2", "ssse3", "sse4_1", "aes", "avx", "avx2", "bmi2", "avx512f", "avx512bw", "sha_ni", "pclmulqdq"])
    )
    assert cpufeatures.parse_flags("processor\t: 0\n") is None


def test_relevant_flags_take_every_avx512_one():
    flags = cpufeatures.parse_flags(CPUINFO)
    assert cpufeatures.relevant(flags) == (
        "aes",
        "avx2",
        "avx512bw",
        "avx512f",
        "bmi2",
        "pclmulqdq",
        "sha_ni",
    )
    assert cpufeatures.describe(flags) == "aes avx2 avx512bw avx512f bmi2 pclmulqdq sha_ni"
    assert cpufeatures.describe(("avx2", "sse2")) == (
        "avx2; absent: aes avx512* bmi2 pclmulqdq sha_ni"
    )
    assert cpufeatures.describe(None).startswith("not recorded")


def test_caveat_reads_the_required_flags_against_the_machine():
    assert cpufeatures.caveat("json", (), ("sha_ni",)) is None
    present = cpufeatures.caveat("sha256", ("sha_ni",), ("avx2", "sha_ni"))
    absent = cpufeatures.caveat("sha256", ("sha_ni",), ("avx2",))
    unknown = cpufeatures.caveat("sha256", ("sha_ni",), None)
    assert present is not None and "sha_ni present" in present
    assert absent is not None and "sha_ni ABSENT" in absent
    assert unknown is not None and "not recorded for this run" in unknown


def test_machine_record_holds_this_machines_flags():
    recorded = machine_module.describe(Path("."), None).cpu_flags
    assert recorded == cpufeatures.parse_flags(Path("/proc/cpuinfo").read_text())
    assert recorded  # an x86-64 or arm64 Linux lists some


def _sha256_run(flags):
    run = small_run()
    workload = replace(run.workloads[0], name="sha256", category="crypto", cpu_features=("sha_ni",))
    return replace(run, machine=replace(machine(), cpu_flags=flags), workloads=(workload,))


def test_report_puts_the_caveat_beside_the_verdict_and_the_flags_in_the_methodology():
    context = report.build_context(_sha256_run(("avx2", "sha_ni")))
    (sentence,) = [s for g in context["summary"] for s in g["sentences"]]
    assert sentence.startswith("sha256:") and "Caveat: sha256: the verdict depends" in sentence
    assert "sha_ni present" in sentence
    (workload,) = context["workloads"]
    assert any("sha_ni present" in w for w in workload["warnings"])
    assert context["methodology"]["cpu_caveats"] == [cpufeatures.caveat("sha256", ("sha_ni",), ("avx2", "sha_ni"))]
    rows = dict(context["environment"])
    assert rows["CPU features the workloads' libraries select code by"] == (
        "avx2 sha_ni; absent: aes avx512* bmi2 pclmulqdq"
    )
    html = report.render(context)
    assert "Verdicts that depend on CPU features" in html and "sha_ni present" in html


def test_report_of_an_older_file_says_the_flags_were_not_recorded():
    context = report.build_context(_sha256_run(None))
    rows = dict(context["environment"])
    assert rows["CPU features the workloads' libraries select code by"].startswith("not recorded")
    assert "not recorded for this run" in context["methodology"]["cpu_caveats"][0]


def test_workload_without_cpu_features_gets_no_caveat():
    run = small_run()
    context = report.build_context(replace(run, machine=replace(machine(), cpu_flags=("sha_ni",))))
    assert context["methodology"]["cpu_caveats"] == []
    assert not any("Caveat" in s for g in context["summary"] for s in g["sentences"])
