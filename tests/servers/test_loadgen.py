"""harness.loadgen without a network: oha's command line, its outputs parsed, the HDR histogram.

The JSON summaries in tests/fixtures/oha/ were written by oha 1.16.0 itself (an open-loop run
against a server answering 200 and 404, and a run against a closed port); the per-request
databases are created here with oha's own schema so that every latency can be computed by hand.
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram

from harness.servers import loadgen

FIXTURES = Path(__file__).parents[1] / "fixtures" / "oha"
OHA = Path("/opt/tools/bin/oha")

# The table oha 1.16.0 creates for --db-url (copied from `.schema` of a real run).
OHA_SCHEMA = """CREATE TABLE oha (
    url TEXT NOT NULL,
    start REAL NOT NULL,
    start_latency_correction REAL,
    end REAL NOT NULL,
    duration REAL NOT NULL,
    status INTEGER NOT NULL,
    len_bytes INTEGER NOT NULL,
    run INTEGER NOT NULL
)"""


def plan(**overrides) -> loadgen.StreamPlan:
    values = {
        "name": "get-records",
        "method": "GET",
        "url": "http://127.0.0.1:4567/records?n=10",
        "rate_rps": 200.0,
        "duration_seconds": 1.5,
        "connections": 51,
        "expect_status": 200,
        "worker_threads": 1,
    }
    values.update(overrides)
    return loadgen.StreamPlan(**values)


def value_of(argv: list[str], flag: str) -> str:
    assert argv.count(flag) == 1, f"{flag} must appear exactly once in {argv}"
    return argv[argv.index(flag) + 1]


# --- oha_argv --------------------------------------------------------------------------------


def test_open_loop_argv_has_rate_and_latency_correction():
    argv = loadgen.oha_argv(OHA, plan(), Path("/tmp/s.json"), Path("/tmp/r.db"))
    assert argv[0] == str(OHA)
    assert argv[-1] == "http://127.0.0.1:4567/records?n=10"
    assert value_of(argv, "-q") == "200"
    assert "--latency-correction" in argv
    assert value_of(argv, "-z") == "1.5s"
    assert value_of(argv, "-c") == "51"
    assert value_of(argv, "-m") == "GET"
    assert value_of(argv, "--worker-threads") == "1"
    assert value_of(argv, "--db-url") == "/tmp/r.db"
    assert value_of(argv, "-o") == "/tmp/s.json"
    assert value_of(argv, "--output-format") == "json"
    assert "--no-tui" in argv
    assert "-w" in argv  # in-flight requests at the deadline are waited for, not aborted
    for absent in ("-D", "-T", "--rand-regex-url"):
        assert absent not in argv


def test_fractional_rate_is_passed_exactly():
    argv = loadgen.oha_argv(OHA, plan(rate_rps=0.2 * 625), Path("s"), Path("d"))
    assert value_of(argv, "-q") == "125"
    argv = loadgen.oha_argv(OHA, plan(rate_rps=12.5), Path("s"), Path("d"))
    assert value_of(argv, "-q") == "12.5"
    # 6 significant digits (:g) would send 187654 and read_stream would count another schedule.
    argv = loadgen.oha_argv(OHA, plan(rate_rps=187653.6), Path("s"), Path("d"))
    assert value_of(argv, "-q") == "187653.6"


def test_duration_is_passed_to_the_microsecond():
    # oha refuses digits below a nanosecond; read_stream counts the schedule with the same value.
    argv = loadgen.oha_argv(OHA, plan(duration_seconds=10.200000000001), Path("s"), Path("d"))
    assert value_of(argv, "-z") == "10.2s"
    assert loadgen.passed_duration(plan(duration_seconds=3.0000004)) == 3.0


def test_closed_loop_probe_has_no_rate_and_no_correction():
    argv = loadgen.oha_argv(OHA, plan(rate_rps=None), Path("s.json"), Path("r.db"))
    assert "-q" not in argv
    assert "--latency-correction" not in argv  # oha ignores it without -q; never pass it
    assert value_of(argv, "-z") == "1.5s"
    assert argv[-1] == plan().url


def test_body_content_type_regex_and_worker_threads():
    argv = loadgen.oha_argv(
        OHA,
        plan(
            method="POST",
            url="http://127.0.0.1:4567/kv/[a-z]{4}",
            body_path="/tmp/body.json",
            content_type="application/json",
            rand_regex=True,
            worker_threads=3,
        ),
        Path("s.json"),
        Path("r.db"),
    )
    assert value_of(argv, "-m") == "POST"
    assert value_of(argv, "-D") == "/tmp/body.json"  # -D: body from a file (-d is a literal)
    assert "-d" not in argv
    assert value_of(argv, "-T") == "application/json"
    assert "--rand-regex-url" in argv
    assert value_of(argv, "--worker-threads") == "3"
    assert argv[-1] == "http://127.0.0.1:4567/kv/[a-z]{4}"  # the URL stays last


# --- read_stream ---------------------------------------------------------------------------------


def make_db(path: Path, rows) -> Path:
    """rows: (url, start, start_latency_correction or None, end, status)."""
    with closing(sqlite3.connect(path)) as db:
        db.execute(OHA_SCHEMA)
        db.executemany(
            "INSERT INTO oha VALUES (?, ?, ?, ?, ?, ?, ?, 1795790165)",
            [(url, s, c, e, e - s, status, 224) for url, s, c, e, status in rows],
        )
        db.commit()
    return path


def test_read_stream_measures_from_the_intended_start(tmp_path):
    db = make_db(
        tmp_path / "r.db",
        [
            # url, start, intended start, end, status (inserted out of order on purpose)
            ("/s.json", 0.010, 0.002, 0.012, 200),  # sent 8 ms late: latency 10 ms, not 2 ms
            ("/s.json", 0.160, 0.150, 0.190, 200),  # latency 40 ms
            ("/missing.json", 0.101, 0.100, 0.103, 404),  # not the expected status: still timed
            ("/s.json", 0.051, 0.050, 0.054, 200),  # latency 4 ms
            ("/s.json", 0.250, None, 0.2515, 200),  # no correction recorded: from start, 1.5 ms
        ],
    )
    result = loadgen.read_stream(
        plan(name="get", rate_rps=None), FIXTURES / "summary-200-404.json", db
    )
    assert result.name == "get"
    # Every answered request is in the distribution, whatever its status.
    np.testing.assert_allclose(result.intended_starts_seconds, [0.002, 0.050, 0.100, 0.150, 0.250])
    np.testing.assert_allclose(
        result.latencies_seconds, [0.010, 0.004, 0.003, 0.040, 0.0015], atol=1e-12
    )
    # Status and error counts come from oha's summary (which counts every request).
    assert result.status_counts == {"200": 8, "404": 12}
    assert result.error_counts == {}
    assert result.expected_status == 4  # rows of the database with the expected status
    assert result.unexpected_status == 12
    assert result.unsent == 0  # closed loop: no schedule
    assert result.responses == 5  # every row of the database, whatever its status
    assert result.span_seconds == pytest.approx(1.027390592)  # oha's own "total"


def test_read_stream_counts_connection_errors_without_a_database(tmp_path):
    result = loadgen.read_stream(
        plan(rate_rps=None), FIXTURES / "summary-refused.json", tmp_path / "never-written.db"
    )
    assert result.error_counts == {"Connection refused (os error 111)": 5}
    assert (result.timeouts, result.deadline_aborts, result.other_errors) == (0, 0, 5)
    assert result.status_counts == {}
    assert result.unexpected_status == 0
    assert result.responses == 0
    assert result.span_seconds == pytest.approx(0.000806575)
    assert len(result.latencies_seconds) == 0
    assert len(result.intended_starts_seconds) == 0


def test_read_stream_with_an_empty_database(tmp_path):
    db = make_db(tmp_path / "r.db", [])
    result = loadgen.read_stream(plan(rate_rps=None), FIXTURES / "summary-refused.json", db)
    assert result.responses == 0


def test_an_unexpected_expected_status_turns_every_200_into_a_failure(tmp_path):
    db = make_db(tmp_path / "r.db", [("/x", 0.01, 0.0, 0.02, 200)])
    result = loadgen.read_stream(
        plan(rate_rps=None, expect_status=201), FIXTURES / "summary-200-404.json", db
    )
    assert result.unexpected_status == 8 + 12
    assert result.expected_status == 0
    np.testing.assert_allclose(result.latencies_seconds, [0.02])  # timed all the same
    assert result.responses == 1


def summary_file(path: Path, statuses: dict, errors: dict, total: float) -> Path:
    """A summary with the fields read_stream reads, laid out as oha 1.16.0 writes them."""
    path.write_text(
        json.dumps(
            {
                "summary": {"total": total},
                "statusCodeDistribution": statuses,
                "errorDistribution": errors,
            }
        )
    )
    return path


def test_failed_and_unsent_requests_are_counted_and_unsent_ones_timed_at_a_lower_bound(tmp_path):
    # 100 req/s for 1 s: ceil((1 - 0.002) x 100) = 100 requests fall due, at 0.00, 0.01 ... 0.99 s.
    # oha reported 40 answers and 10 errors, so it sent the first 50; the last 50 (0.50 ... 0.99 s)
    # were still queued at the deadline and each waited at least 1.0 s - its intended send.
    rows = [("/x", i / 100, i / 100, i / 100 + 0.002, 200) for i in range(39)]
    rows.append(("/x", 0.39, 0.39, 0.45, 500))  # answered, with an unexpected status
    db = make_db(tmp_path / "r.db", rows)
    errors = {"timeout": 5, "aborted due to deadline": 3, "Connection reset by peer": 2}
    summary = summary_file(tmp_path / "s.json", {"200": 39, "500": 1}, errors, 1.03)
    result = loadgen.read_stream(plan(rate_rps=100.0, duration_seconds=1.0), summary, db)
    assert (result.expected_status, result.unexpected_status) == (39, 1)
    assert (result.timeouts, result.deadline_aborts, result.other_errors) == (5, 3, 2)
    assert result.unsent == 50
    assert len(result.latencies_seconds) == 40 + 50  # answered, then unsent; errors have no time
    np.testing.assert_allclose(result.intended_starts_seconds[40:], np.arange(50, 100) / 100)
    np.testing.assert_allclose(result.latencies_seconds[40:], 1.0 - np.arange(50, 100) / 100)
    assert result.latencies_seconds[39] == pytest.approx(0.06)  # the 500, at its measured time


@pytest.mark.parametrize(
    ("rate", "duration", "reported", "unsent"),
    [
        (100.0, 1.0, 100, 0),  # all due requests reported
        (100.0, 1.0, 101, 0),  # one more than due (the tick at the deadline itself): not negative
        # The last 2 ms are not counted: due = ceil(0.998 x 2500) = 2495; oha's 1 ms timer can
        # wake it after the deadline for the last ticks, which it then drops itself.
        (2500.0, 1.0, 2496, 0),
        (2500.0, 1.0, 2490, 5),
        (None, 1.0, 0, 0),  # closed loop: no schedule, nothing is due
    ],
)
def test_unsent_requests_come_from_the_schedule(rate, duration, reported, unsent):
    starts, bounds = loadgen.unsent_requests(rate, duration, reported)
    assert len(starts) == len(bounds) == unsent
    assert np.all(bounds > 0)


@pytest.mark.parametrize("content", [None, "", "{not json"])
def test_read_stream_rejects_a_missing_or_broken_summary(tmp_path, content):
    summary = tmp_path / "s.json"
    if content is not None:
        summary.write_text(content)
    with pytest.raises(ValueError, match="no readable JSON summary"):
        loadgen.read_stream(plan(), summary, tmp_path / "r.db")


# --- histogram -----------------------------------------------------------------------------------


def one_to_thousand_ms() -> np.ndarray:
    return np.arange(1, 1001) / 1000.0


def test_summary_percentiles_of_a_known_set():
    summary = loadgen.summarise_histogram(loadgen.histogram_of(one_to_thousand_ms()))
    assert summary is not None
    assert summary.count == 1000
    # HDR at 3 significant digits: values are exact to 0.1 %.
    assert summary.p50_seconds == pytest.approx(0.500, rel=1e-3)
    assert summary.p90_seconds == pytest.approx(0.900, rel=1e-3)
    assert summary.p99_seconds == pytest.approx(0.990, rel=1e-3)
    assert summary.p999_seconds == pytest.approx(0.999, rel=1e-3)
    assert summary.max_seconds == pytest.approx(1.000, rel=1e-3)
    assert (
        summary.p50_seconds
        <= summary.p90_seconds
        <= summary.p99_seconds
        <= summary.p999_seconds
        <= summary.max_seconds
    )


def test_sub_millisecond_latencies_keep_microsecond_precision():
    summary = loadgen.summarise_histogram(loadgen.histogram_of([150e-6] * 99 + [2e-3]))
    assert summary.p50_seconds == pytest.approx(150e-6, abs=1e-6)
    assert summary.max_seconds == pytest.approx(2e-3, rel=1e-3)


def test_out_of_range_values_are_clamped_not_dropped():
    histogram = loadgen.histogram_of([0.0, 1e-9, 3600.0])
    assert histogram.get_total_count() == 3
    assert histogram.get_min_value() == loadgen.HDR_LOWEST_US
    assert histogram.get_max_value() == pytest.approx(60e6, rel=1e-3)  # 60 s, the top


def test_counting_distinct_values_gives_the_histogram_of_one_record_per_request():
    """histogram_of records each distinct microsecond value once with its count; the result must
    be hdrh's own one-value-at-a-time histogram, bucket for bucket (ties at .5 µs included)."""
    rng = np.random.default_rng(7)
    latencies = np.concatenate(
        [rng.lognormal(-7, 1.5, 20_000), np.array([2.5e-6, 3.5e-6, 0.0, 99.0])]
    )
    one_by_one = HdrHistogram(loadgen.HDR_LOWEST_US, loadgen.HDR_HIGHEST_US, loadgen.HDR_DIGITS)
    for value in latencies:
        one_by_one.record_value(
            max(loadgen.HDR_LOWEST_US, min(loadgen.HDR_HIGHEST_US, round(value * 1e6)))
        )
    counted = loadgen.histogram_of(latencies)
    assert list(counted.counts) == list(one_by_one.counts)
    assert (counted.get_total_count(), counted.get_min_value(), counted.get_max_value()) == (
        one_by_one.get_total_count(),
        one_by_one.get_min_value(),
        one_by_one.get_max_value(),
    )
    with pytest.raises(ValueError, match="not a number"):
        loadgen.histogram_of([1e-3, float("nan")])


def test_empty_histogram_has_no_summary():
    assert loadgen.summarise_histogram(loadgen.histogram_of([])) is None
    assert loadgen.summarise_histogram(loadgen.histogram_of(np.array([]))) is None


def test_encoded_histogram_round_trips():
    original = loadgen.histogram_of(one_to_thousand_ms())
    text = loadgen.encode_histogram(original)
    assert isinstance(text, str) and text.isascii()
    decoded = HdrHistogram.decode(text.encode("ascii"))
    assert decoded.get_total_count() == 1000
    for percentile in (50, 90, 99, 99.9, 100):
        assert decoded.get_value_at_percentile(percentile) == original.get_value_at_percentile(
            percentile
        )
    assert decoded.get_max_value() == original.get_max_value()
    assert loadgen.summarise_histogram(decoded) == loadgen.summarise_histogram(original)


# --- latency windows -----------------------------------------------------------------------------


def test_latency_windows_bucket_by_intended_start():
    starts = np.array([0.0, 0.1, 0.3, 0.6, 0.7, 1.3])
    latencies = np.array([1.0, 3.0, 7.0, 2.0, 4.0, 9.0]) / 1000
    windows = loadgen.latency_windows(starts, latencies, offset_seconds=10.0, window_seconds=0.25)
    # Windows without requests (0.75-1.25 s) are left out, not reported as zero.
    assert [w.t_seconds for w in windows] == pytest.approx([10.0, 10.25, 10.5, 11.25])
    assert [w.count for w in windows] == [2, 1, 2, 1]
    first = windows[0]
    assert first.p50_seconds == pytest.approx(0.002)  # numpy's linear interpolation of 1 and 3
    assert first.p99_seconds == pytest.approx(0.00298)
    assert first.max_seconds == pytest.approx(0.003)
    assert windows[1].p50_seconds == windows[1].max_seconds == pytest.approx(0.007)
    assert windows[2].max_seconds == pytest.approx(0.004)
    assert windows[3].max_seconds == pytest.approx(0.009)


def test_latency_windows_default_width_and_empty_input():
    assert loadgen.latency_windows(np.array([]), np.array([]), 0.0) == ()
    windows = loadgen.latency_windows(np.array([0.0, 0.26]), np.array([0.001, 0.002]), 0.0)
    assert [w.t_seconds for w in windows] == pytest.approx([0.0, loadgen.WINDOW_SECONDS])


def test_streams_merge_request_by_request_never_by_averaging_percentiles():
    # Two streams of one phase: 90 fast requests and 10 slow ones. The merged p99 is the slow
    # stream's latency (the union's 99th percentile), not the mean of two streams' p99s.
    def stream(name, starts, latencies, status):
        return loadgen.StreamResult(
            name=name,
            intended_starts_seconds=np.array(starts, float),
            latencies_seconds=np.array(latencies, float),
            status_counts={status: len(latencies)},
            error_counts={},
            expected_status=len(latencies),
            unexpected_status=0,
            unsent=1,
            responses=len(latencies),
            span_seconds=1.0,
        )

    fast = stream("get", [i / 100 for i in range(90)], [0.001] * 90, "200")
    slow = stream("put", [0.005 + i / 10 for i in range(10)], [0.100] * 10, "201")
    merged = loadgen.merge_streams([fast, slow])
    assert merged.responses == 100 and merged.counts.unsent == 2
    assert merged.status_counts == {"200": 90, "201": 10}
    assert list(merged.intended_starts_seconds) == sorted(merged.intended_starts_seconds)
    summary = loadgen.summarise_histogram(loadgen.histogram_of(merged.latencies_seconds))
    assert summary.p99_seconds == pytest.approx(0.100, rel=0.01)
    assert summary.p50_seconds == pytest.approx(0.001, rel=0.01)


def _fake_oha(folder: Path, version_line: str) -> Path:
    oha = folder / "bin" / "oha"
    oha.parent.mkdir(parents=True)
    oha.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    oha.chmod(0o755)
    return oha


def test_the_recorded_load_generator_is_what_the_binary_and_its_build_note_say(tmp_path):
    """Results record oha's own --version and the cargo flags `make tools` wrote beside it; a
    binary without that note is recorded as of unknown build, never as the Makefile's."""
    oha = _fake_oha(tmp_path, "oha 1.16.0")
    assert loadgen.describe_oha(oha) == "oha 1.16.0 (build flags unknown)"
    (oha.parent / "oha.build").write_text("--locked --no-default-features --features native-tls\n")
    assert loadgen.describe_oha(oha) == (
        "oha 1.16.0 (--locked --no-default-features --features native-tls)"
    )


def test_make_tools_builds_the_version_and_features_the_harness_names():
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert f"OHA_VERSION := {loadgen.OHA_VERSION}\n" in makefile
    build = re.search(r"^OHA_BUILD := (.+)$", makefile, re.M).group(1)
    environment = re.search(r"^OHA_ENV := (.+)$", makefile, re.M).group(1)
    assert build in loadgen.INSTALL_HINT and environment in loadgen.INSTALL_HINT
    assert "OHA_NOTE := $(OHA_BUILD) $(OHA_ENV)\n" in makefile
    assert 'echo "$(OHA_NOTE)" > tools/bin/oha.build' in makefile
