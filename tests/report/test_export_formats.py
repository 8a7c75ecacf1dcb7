"""The benchstat and BMF exports checked against their formats' rules, with hand-computed values.

Go benchmark format (golang.org/design/14313-benchmark-format): configuration lines `key: value`
(key starts lower case, no spaces or upper case), then one line per measurement:
`BenchmarkName ITERATIONS VALUE UNIT [VALUE UNIT]...`, where the name is "Benchmark" followed by
end of name or a character that is not lower case. Bencher Metric Format (bencher.dev/docs/reference
/bencher-metric-format): {benchmark: {measure: {value, lower_value?, upper_value?}}}.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter

import pytest
from builders import impl_result, repetition, run, small_run, workload_result

from harness.analysis.bundle import analyse
from harness.report.export import export_benchstat, export_bmf

MIB = 1 << 20
CONFIG_LINE = re.compile(r"^[a-z][^\sA-Z:]*: ")
NAME = re.compile(r"^Benchmark(?:[^a-z\s]\S*)?$")


def parse_go_benchmarks(
    text: str,
) -> tuple[dict[str, str], list[tuple[str, int, dict[str, float]]]]:
    """A strict reader of the format: any line that is neither blank, configuration nor a
    well-formed benchmark line fails the test."""
    config: dict[str, str] = {}
    results = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if CONFIG_LINE.match(line):
            key, _, value = line.partition(": ")
            config[key] = value
            continue
        fields = line.split()
        assert NAME.match(fields[0]), f"not a benchmark name: {fields[0]!r}"
        assert len(fields) >= 4 and len(fields) % 2 == 0, f"not name, N, value-unit pairs: {line!r}"
        iterations = int(fields[1])
        assert iterations >= 1
        values = {}
        for number, unit in zip(fields[2::2], fields[3::2], strict=True):
            assert not re.match(r"^[-+0-9.eE]+$", unit), f"unit looks like a number: {unit!r}"
            values[unit] = float(number)
            assert math.isfinite(values[unit])
        results.append((fields[0], iterations, values))
    return config, results


def ten_rep_run():
    go = [repetition(rep=i, wall=1.0 + 0.01 * i, user=0.5, sys=0.1 * i) for i in range(10)]
    rust = [repetition(rep=i, wall=0.5, rss=20 * MIB) for i in range(10)]
    gz = [repetition(rep=i, wall=2.0) for i in range(10)]
    return run(
        [
            workload_result(
                name="http-json", impls=[impl_result("go", reps=go), impl_result("rust", reps=rust)]
            ),
            workload_result(name="gzip", impls=[impl_result("rust", "zlib-rs", reps=gz)]),
        ]
    )


def test_benchstat_parses_as_go_benchmark_format():
    config, results = parse_go_benchmarks(export_benchstat(analyse(ten_rep_run())))
    assert config["goos"] == "linux"
    assert config["cpu"] == "Test CPU @ 3.0GHz"
    assert config["go"] == "go version go1.26.0 linux/amd64"
    # one line per repetition, named so benchstat can group by lang and variant
    assert Counter(name for name, _, _ in results) == {
        "BenchmarkHttpJson/lang=go/variant=default": 10,
        "BenchmarkHttpJson/lang=rust/variant=default": 10,
        "BenchmarkGzip/lang=rust/variant=zlib-rs": 10,
    }
    go = [v for name, _, v in results if name == "BenchmarkHttpJson/lang=go/variant=default"]
    assert [line["sec/op"] for line in go] == pytest.approx([1.0 + 0.01 * i for i in range(10)])
    assert [line["cpu-sec/op"] for line in go] == pytest.approx([0.5 + 0.1 * i for i in range(10)])
    assert go[0]["peak-RSS-B"] == 50 * MIB
    rust = [v for name, _, v in results if "lang=rust/variant=default" in name]
    assert rust[3] == {"sec/op": 0.5, "cpu-sec/op": 1.0, "peak-RSS-B": 20 * MIB}


def test_benchstat_skips_failed_and_diverging_output():
    ok = impl_result("go", reps=[repetition(rep=i) for i in range(3)])
    failed = impl_result("rust", reps=[repetition(ok=False, error="boom")], status="failed")
    mismatch = workload_result(
        name="bad",
        impls=[impl_result("go", reps=[repetition()])],
        status="checksum_mismatch",
    )
    _, results = parse_go_benchmarks(
        export_benchstat(analyse(run([workload_result(impls=[ok, failed]), mismatch])))
    )
    assert [name for name, _, _ in results] == ["BenchmarkDemo/lang=go/variant=default"] * 3


def test_bmf_medians_and_ci_bounds_hand_checked():
    """small_run: Go walls 1.0 and 1.1 s. The median is 1.05 s; a bootstrap resample of two values
    has median 1.0 (1/4 of resamples), 1.05 (1/2) or 1.1 (1/4), so the 2.5th and 97.5th
    percentiles are 1.0 and 1.1. Constant series have bounds equal to the value."""
    document = json.loads(export_bmf(analyse(small_run())))
    assert set(document) == {"demo/go/default", "demo/rust/default"}
    go = document["demo/go/default"]
    assert set(go) == {"latency", "throughput", "peak-rss-bytes", "cpu-nanoseconds"}
    assert go["latency"] == {
        "value": pytest.approx(1.05e9),
        "lower_value": pytest.approx(1.0e9),
        "upper_value": pytest.approx(1.1e9),
    }
    assert go["cpu-nanoseconds"] == {
        "value": pytest.approx(1e9),  # user 0.8 + sys 0.2 every time
        "lower_value": pytest.approx(1e9),
        "upper_value": pytest.approx(1e9),
    }
    assert go["peak-rss-bytes"] == {
        "value": 50 * MIB,
        "lower_value": 50 * MIB,
        "upper_value": 50 * MIB,
    }
    throughput = 1_000_000 / 0.9  # bytes over work seconds
    assert go["throughput"] == {
        "value": pytest.approx(throughput),
        "lower_value": pytest.approx(throughput),
        "upper_value": pytest.approx(throughput),
    }
    rust = document["demo/rust/default"]
    assert rust["latency"] == {
        "value": pytest.approx(0.55e9),
        "lower_value": pytest.approx(0.5e9),
        "upper_value": pytest.approx(0.6e9),
    }
    assert rust["peak-rss-bytes"]["value"] == 20 * MIB


def test_bmf_bounds_bracket_the_median_with_ten_repetitions():
    document = json.loads(export_bmf(analyse(ten_rep_run())))
    latency = document["http-json/go/default"]["latency"]
    assert latency["value"] == pytest.approx(1.045e9)  # median of 1.00 .. 1.09 s
    # a resampled median is a mean of two of the values, so it stays within [1.00, 1.09] s
    assert 1.0e9 <= latency["lower_value"] < latency["value"] < latency["upper_value"] <= 1.09e9
    assert document["gzip/rust/zlib-rs"]["latency"] == {
        "value": pytest.approx(2e9),
        "lower_value": pytest.approx(2e9),
        "upper_value": pytest.approx(2e9),
    }


def test_bmf_one_repetition_has_no_bounds():
    document = json.loads(
        export_bmf(analyse(run([workload_result(impls=[impl_result("go", reps=[repetition(wall=3.0)])])])))
    )
    assert document["demo/go/default"]["latency"] == {"value": pytest.approx(3e9)}
