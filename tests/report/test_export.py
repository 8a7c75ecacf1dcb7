import csv
import io
import json
from dataclasses import replace

import pytest
from builders import (
    impl_result,
    repetition,
    replicated,
    run,
    server_phase,
    server_run,
    server_workload,
    small_run,
    workload_result,
)

from harness.analysis.bundle import analyse
from harness.model import SweepPoint
from harness.report.export import (
    EXPORTERS,
    export_benchstat,
    export_bmf,
    export_csv,
    export_markdown,
)

HEADER = (
    "workload,category,kind,lang,variant,phase,replicate,rep,metric,unit,value,"
    "sweep_workload,sweep_axis,sweep_value,sweep_numeric"
)
MIB = 1 << 20


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def value(table, lang, rep, metric):
    (row,) = [r for r in table if (r["lang"], r["rep"], r["metric"]) == (lang, str(rep), metric)]
    return row


def mismatch_workload():
    go = impl_result("go", reps=[repetition(wall=7.77)])
    rust = impl_result(
        "rust", reps=[repetition(checksum="ff")], status="checksum_mismatch", error="differs"
    )
    return workload_result(
        name="bad", impls=[go, rust], status="checksum_mismatch", error="differs"
    )


def test_csv_header_exact():
    assert export_csv(analyse(small_run())).splitlines()[0] == HEADER
    assert export_csv(analyse(run([]))) == HEADER + "\n"  # no workloads: the header alone


def test_csv_places_a_sweep_point_on_its_axis():
    base = small_run()
    point = SweepPoint(workload="demo", axis="GOGC", value="200", numeric=200.0)
    off = SweepPoint(workload="demo", axis="GOGC", value="off", numeric=None, position=1)
    (demo,) = base.workloads
    swept = replace(
        base,
        workloads=(
            replace(demo, name="demo@GOGC=200", sweep=point),
            replace(demo, name="demo@GOGC=off", sweep=off),
        ),
    )
    table = rows(export_csv(analyse(swept)))
    at_200 = [r for r in table if r["workload"] == "demo@GOGC=200"]
    at_off = [r for r in table if r["workload"] == "demo@GOGC=off"]
    assert at_200 and at_off
    assert {(r["sweep_workload"], r["sweep_axis"], r["sweep_value"]) for r in at_200} == {
        ("demo", "GOGC", "200")
    }
    assert {r["sweep_numeric"] for r in at_200} == {"200"}
    assert {(r["sweep_value"], r["sweep_numeric"]) for r in at_off} == {("off", "")}


def test_csv_values_hand_computed():
    table = rows(export_csv(analyse(small_run())))
    # Go: 5 basic + work, startup, throughput + 5 gc + 1 extra = 14 per rep; Rust: 8 per rep
    assert len(table) == 2 * 14 + 2 * 8
    first = value(table, "go", 1, "wall_seconds")
    assert first == {
        "workload": "demo",
        "category": "parsing",
        "kind": "batch",
        "lang": "go",
        "variant": "default",
        "phase": "",
        "replicate": "",
        "rep": "1",
        "metric": "wall_seconds",
        "unit": "s",
        "value": "1.1",
        **dict.fromkeys(("sweep_workload", "sweep_axis", "sweep_value", "sweep_numeric"), ""),
    }
    assert value(table, "go", 0, "wall_seconds")["value"] == "1"
    assert value(table, "go", 0, "user_seconds")["value"] == "0.8"
    assert value(table, "go", 0, "sys_seconds")["value"] == "0.2"
    assert value(table, "go", 0, "peak_rss_bytes")["value"] == str(50 * MIB)  # 52428800
    assert value(table, "go", 0, "peak_rss_bytes")["unit"] == "bytes"
    assert value(table, "rust", 1, "peak_rss_bytes")["value"] == str(20 * MIB)
    # two cycles per Go rep with pauses 1 ms and 3 ms
    assert value(table, "go", 0, "gc_count")["value"] == "2"
    assert float(value(table, "go", 0, "gc_pause_total_seconds")["value"]) == pytest.approx(0.004)
    assert value(table, "go", 0, "gc_pause_max_seconds")["value"] == "0.003"
    assert float(value(table, "go", 1, "throughput")["value"]) == pytest.approx(
        1_000_000 / 0.9, rel=1e-8
    )
    assert value(table, "go", 0, "extra_ratio")["value"] == "0.5"


def test_csv_rust_has_no_gc_rows():
    table = rows(export_csv(analyse(small_run())))
    assert [r for r in table if r["lang"] == "rust" and r["metric"].startswith("gc_")] == []
    assert [r for r in table if r["lang"] == "go" and r["metric"] == "gc_count"] != []


def test_csv_skips_mismatch_workloads_and_failed_implementations():
    base = small_run()
    demo = base.workloads[0]
    failed_variant = impl_result(
        "rust",
        "fast",
        reps=[repetition(rep=0, wall=3.0), repetition(rep=1, ok=False)],
        status="failed",
    )
    demo = replace(demo, implementations=(*demo.implementations, failed_variant))
    table = rows(export_csv(analyse(replace(base, workloads=(demo, mismatch_workload())))))
    assert {r["workload"] for r in table} == {"demo"}
    assert {(r["lang"], r["variant"]) for r in table} == {("go", "default"), ("rust", "default")}
    assert len(table) == 2 * 14 + 2 * 8


def test_markdown_escapes_user_text():
    failing = workload_result(
        name="evil",
        impls=[impl_result("go"), impl_result("rust")],
        status="failed",
        error="go/default: exit status 1: bad | input <script>alert(1)</script>",
    )
    base = small_run()
    text = export_markdown(analyse(replace(
            base,
            workloads=(*base.workloads, failing),
            machine=replace(base.machine, cpu_model="CPU | <b>"),
        )))
    assert "<script>" not in text
    assert "<b>" not in text
    assert "bad \\| input &lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "CPU \\| &lt;b&gt;" in text
    (row,) = [line for line in text.splitlines() if line.startswith("| evil |")]
    # a table row keeps its 9 unescaped separators: 8 columns
    assert row.replace("\\|", "").count("|") == 9
    assert "**FAILED**" in row


def test_markdown_ok_row_has_medians():
    text = export_markdown(analyse(small_run()))
    (row,) = [line for line in text.splitlines() if line.startswith("| demo |")]
    # Go walls 1.0, 1.1 -> median 1.05 s; Rust 0.5, 0.6 -> 550 ms; RSS 50 MiB vs 20 MiB
    assert "| 1.05 s | 550 ms |" in row
    assert "| 50 MiB | 20 MiB |" in row
    assert "1.92×" in row  # median of the per-round ratios 1.0 / 0.5 and 1.1 / 0.6


def test_markdown_mismatch_row_has_no_numbers():
    text = export_markdown(analyse(run([mismatch_workload()])))
    (row,) = [line for line in text.splitlines() if line.startswith("| bad |")]
    assert "**CHECKSUM_MISMATCH**: differs" in row
    assert "7.77" not in text


def test_benchstat_lines():
    text = export_benchstat(analyse(small_run()))
    lines = [line for line in text.splitlines() if line.startswith("Benchmark")]
    assert (
        lines[0]
        == "BenchmarkDemo/lang=go/variant=default\t1\t1 sec/op\t1 cpu-sec/op\t52428800 peak-RSS-B\t0.004 gc-pause-sec/op"
    )
    assert (
        lines[3]
        == "BenchmarkDemo/lang=rust/variant=default\t1\t0.6 sec/op\t1 cpu-sec/op\t20971520 peak-RSS-B"
    )
    assert len(lines) == 4


def test_bmf_medians():
    document = json.loads(export_bmf(analyse(small_run())))
    assert set(document) == {"demo/go/default", "demo/rust/default"}
    assert document["demo/go/default"]["latency"]["value"] == pytest.approx(1.05e9)
    assert document["demo/rust/default"]["peak-rss-bytes"]["value"] == 20 * MIB
    assert json.loads(export_bmf(analyse(run([mismatch_workload()])))) == {}


def test_registry():
    assert EXPORTERS["csv"] is export_csv
    assert EXPORTERS["markdown"] is export_markdown


def replicated_server_run():
    """Two replicates per rate; Go's second replicate at 2000 req/s fell behind."""
    go = [
        server_phase(None, 5000),  # selection pass: no replicate number
        *replicated(1000, achieved=[1000, 1000], p99=[0.003, 0.005]),  # median 4 ms
        *replicated(2000, achieved=[2000, 1900]),
        *replicated(None, achieved=[5100, 4900]),
    ]
    rust = [
        server_phase(None, 9000),
        *replicated(1000, achieved=[1000, 1000], p99=[0.001, 0.002]),
        *replicated(2000, achieved=[2000, 2000]),
        *replicated(None, achieved=[9000, 9100]),
    ]
    return server_run([server_workload(go, rust)])


def test_csv_keeps_every_server_replicate_apart():
    table = rows(export_csv(analyse(replicated_server_run())))
    p99 = [
        (r["phase"], r["replicate"], r["value"])
        for r in table
        if r["lang"] == "go" and r["metric"] == "latency_p99_seconds"
    ]
    assert p99 == [
        ("saturation", "", "0.005"),  # the selection pass
        ("rate=1000", "1", "0.003"),
        ("rate=1000", "2", "0.005"),
        ("rate=2000", "1", "0.005"),
        ("rate=2000", "2", "0.005"),
        ("saturation", "1", "0.005"),
        ("saturation", "2", "0.005"),
    ]


def test_csv_numbers_an_old_files_rate_phases_as_replicate_1():
    old = server_run([server_workload([server_phase(None, 5000), server_phase(1000, 1000)], [])])
    table = rows(export_csv(analyse(old)))
    found = {(r["phase"], r["replicate"]) for r in table}
    assert found == {("saturation", ""), ("rate=1000", "1")}


def test_markdown_has_one_server_row_per_rate_with_medians():
    text = export_markdown(analyse(replicated_server_run()))
    lines = [line for line in text.splitlines() if line.startswith("| api |")]
    assert len(lines) == 2  # 1000 and 2000, not one row per replicate
    assert lines[0].startswith("| api | 1,000 | 2 | 4 ms | 1.5 ms |")
    assert "×" in lines[0]
    assert "| – |" in lines[1]  # no ratio at a rate with an unusable replicate
    assert "not usable: Go replicate 2: achieved 1,900 req/s &lt; 99 % of offered 2,000" in lines[1]
