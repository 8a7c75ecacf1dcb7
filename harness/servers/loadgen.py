"""Drive the external open-loop load generator (oha) and turn its output into latencies.

oha sends on a fixed schedule with `-q RATE` and, with `--latency-correction`, measures each
request from its *intended* send time, so a stalled server cannot hide its stall (coordinated
omission). Its JSON summary gives status and error counts and its own span; its per-request SQLite
output (`--db-url`) gives every answered request's intended start and corrected latency, whatever
the status, which go into an HDR histogram (hdrhistogram package): percentiles come from that,
never from oha's own summary. oha records no time for the requests it counts as errors, and
silently drops the requests still queued when the phase ends: the first are counted (the phase is
then kept out of headline figures), the second are reconstructed from the schedule and enter the
histogram at a lower bound (`unsent_requests`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hdrh.histogram import HdrHistogram

from harness.errors import HarnessError
from harness.model import LatencySummary, LatencyWindow, RequestCounts

OHA_VERSION = "1.16.0"
BUILD_NOTE_SUFFIX = ".build"  # `make tools` writes tools/bin/oha.build: the cargo flags it used
INSTALL_HINT = (
    f"install it with `make tools` (LIBSQLITE3_SYS_USE_PKG_CONFIG=1 cargo install oha --version "
    f"{OHA_VERSION} --locked --no-default-features --features native-tls --root tools; "
    "tools/README.md says why)"
)
# HDR histogram range: 1 µs to 60 s at 3 significant digits (0.1 % value precision).
HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS = 1, 60_000_000, 3
WINDOW_SECONDS = 0.25


def describe_oha(oha: Path) -> str:
    """What the results record as the load generator: the version the binary prints, and the
    cargo flags `make tools` wrote beside it (an oha from elsewhere says its flags are unknown)."""
    try:
        done = subprocess.run([str(oha), "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HarnessError(f"{oha} --version failed ({exc}): {INSTALL_HINT}") from exc
    version = done.stdout.strip() or f"oha (version unknown: {oha} --version printed nothing)"
    note = oha.with_name(oha.name + BUILD_NOTE_SUFFIX)
    flags = note.read_text().strip() if note.is_file() else "build flags unknown"
    return f"{version} ({flags})"


def find_oha(tools_dir: Path) -> Path:
    local = tools_dir / "bin" / "oha"
    if local.is_file() and os.access(local, os.X_OK):
        return local.resolve()
    found = shutil.which("oha")
    if found:
        return Path(found)
    raise HarnessError(
        f"load generator `oha` not found in {tools_dir / 'bin'} or on PATH: {INSTALL_HINT}"
    )


@dataclass(frozen=True)
class StreamPlan:
    """One oha process: what to send, where, and how fast (rate None = closed-loop probe)."""

    name: str
    method: str
    url: str
    rate_rps: float | None
    duration_seconds: float
    connections: int
    expect_status: int
    body_path: str | None = None
    content_type: str | None = None
    rand_regex: bool = False
    worker_threads: int = 1


def passed_duration(plan: StreamPlan) -> float:
    """The -z value oha gets (it refuses digits below a nanosecond); read_stream counts the
    schedule with the same value."""
    return round(plan.duration_seconds, 6)


def oha_argv(oha: Path, plan: StreamPlan, summary_path: Path, db_path: Path) -> list[str]:
    argv = [
        os.fspath(oha),
        "--no-tui",
        "--output-format",
        "json",
        "-o",
        os.fspath(summary_path),
        "--db-url",
        os.fspath(db_path),
        "-z",
        f"{passed_duration(plan):.12g}s",
        "-c",
        str(plan.connections),
        "-m",
        plan.method,
        "-w",
        # oha sizes its runtime from TOKIO_WORKER_THREADS or the core count; it is pinned to its
        # own CPU(s), so one worker per CPU it may use, independent of the server's setting.
        "--worker-threads",
        str(plan.worker_threads),
    ]
    if plan.rate_rps is not None:
        argv += ["-q", f"{plan.rate_rps:.12g}", "--latency-correction"]
    if plan.body_path:
        argv += ["-D", plan.body_path]
    if plan.content_type:
        argv += ["-T", plan.content_type]
    if plan.rand_regex:
        argv.append("--rand-regex-url")
    return [*argv, plan.url]


# oha's errorDistribution keys (its ClientError messages) that have a class of their own.
TIMEOUT_ERROR = "timeout"
DEADLINE_ERROR = "aborted due to deadline"
UNSENT_GRACE_SECONDS = 0.002


@dataclass(frozen=True)
class StreamResult:
    """One oha run's requests. Latencies are measured from the intended send; the arrays hold every
    answered request (any status), then the unsent ones at their lower bound."""

    name: str
    intended_starts_seconds: np.ndarray  # since oha started
    latencies_seconds: np.ndarray
    status_counts: dict[str, int]
    error_counts: dict[str, int]  # oha's errorDistribution: no duration recorded for these
    expected_status: int  # responses with the expected status
    unexpected_status: int
    unsent: int  # due by the schedule before the deadline, never sent (open loop only)
    responses: int  # every response the database recorded, whatever its status
    span_seconds: float  # oha's own span: its start to the end of its work ("total")
    # Each latency's HTTP status (0 for the unsent ones), so a stream cut to a window can count
    # its statuses again (on_time_base).
    statuses: np.ndarray | None = None
    # Payload bytes the stream moved: response bodies (oha's totalData) plus the request body
    # times the responses; None when not known (a stream cut to a window: totalData is whole).
    payload_bytes: int | None = None

    @property
    def timeouts(self) -> int:
        return self.error_counts.get(TIMEOUT_ERROR, 0)

    @property
    def deadline_aborts(self) -> int:
        return self.error_counts.get(DEADLINE_ERROR, 0)

    @property
    def other_errors(self) -> int:
        return sum(self.error_counts.values()) - self.timeouts - self.deadline_aborts


def unsent_requests(
    rate_rps: float | None, duration_seconds: float, reported: int
) -> tuple[np.ndarray, np.ndarray]:
    """(intended starts, lower-bound latencies) of the requests an open-loop schedule made due
    before the deadline but oha never reported.

    oha (with -q and --latency-correction) queues one request every 1/rate s while the deadline
    has not passed, and each one sent is reported, as a response or an error. When the phase ends
    oha drops what is still queued: those are the latest ones (the queue is first in, first out),
    and each waited at least until the deadline. Requests due in the last UNSENT_GRACE_SECONDS are
    not counted: tokio's timer has a 1 ms resolution, so oha may wake for them after the deadline
    and drop them itself, a loss of the generator's, not a wait at the server.
    """
    if rate_rps is None or rate_rps <= 0:
        return np.array([]), np.array([])
    due = math.ceil((duration_seconds - UNSENT_GRACE_SECONDS) * rate_rps - 1e-9)
    missing = max(0, due - reported)
    starts = np.arange(due - missing, due, dtype=float) / rate_rps
    return starts, duration_seconds - starts


@dataclass(frozen=True)
class MergedStreams:
    """Every request of a phase's streams in one place, exactly: per-request latencies and intended
    starts concatenated (in start order), status and outcome counts summed. Percentiles come from
    the merged requests, never from averaging each stream's."""

    intended_starts_seconds: np.ndarray
    latencies_seconds: np.ndarray
    status_counts: dict[str, int]
    counts: RequestCounts
    responses: int
    payload_bytes: int | None = None  # None when any stream's is unknown


def merge_streams(results: Sequence[StreamResult]) -> MergedStreams:
    latencies = np.concatenate([r.latencies_seconds for r in results]) if results else np.array([])
    starts = (
        np.concatenate([r.intended_starts_seconds for r in results]) if results else np.array([])
    )
    order = np.argsort(starts, kind="stable")
    status_counts: dict[str, int] = {}
    for r in results:
        for k, v in r.status_counts.items():
            status_counts[k] = status_counts.get(k, 0) + v
    return MergedStreams(
        intended_starts_seconds=starts[order],
        latencies_seconds=latencies[order],
        status_counts=status_counts,
        counts=RequestCounts(
            expected_status=sum(r.expected_status for r in results),
            unexpected_status=sum(r.unexpected_status for r in results),
            timeouts=sum(r.timeouts for r in results),
            deadline_aborts=sum(r.deadline_aborts for r in results),
            other_errors=sum(r.other_errors for r in results),
            unsent=sum(r.unsent for r in results),
        ),
        responses=sum(r.responses for r in results),
        payload_bytes=(
            sum(r.payload_bytes for r in results)  # type: ignore[misc]
            if results and all(r.payload_bytes is not None for r in results)
            else None
        ),
    )


def read_stream(plan: StreamPlan, summary_path: Path, db_path: Path) -> StreamResult:
    """Parse one oha run's JSON summary and per-request database."""
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"oha wrote no readable JSON summary ({exc})") from exc
    status_counts = {str(k): int(v) for k, v in summary.get("statusCodeDistribution", {}).items()}
    error_counts = {str(k): int(v) for k, v in summary.get("errorDistribution", {}).items()}
    span = float(summary.get("summary", {}).get("total") or 0.0)
    rows: list[tuple[float, float, int]] = []
    if db_path.exists():
        with closing(sqlite3.connect(db_path)) as db:
            rows = db.execute(
                "SELECT COALESCE(start_latency_correction, start), end - COALESCE(start_latency_correction, start), "
                "status FROM oha ORDER BY 1"
            ).fetchall()
    expected = sum(1 for row in rows if row[2] == plan.expect_status)
    unexpected = sum(v for k, v in status_counts.items() if k != str(plan.expect_status))
    unsent_starts, unsent_latencies = unsent_requests(
        plan.rate_rps, passed_duration(plan), len(rows) + sum(error_counts.values())
    )
    starts = np.concatenate([np.array([r[0] for r in rows], dtype=float), unsent_starts])
    latencies = np.concatenate([np.array([r[1] for r in rows], dtype=float), unsent_latencies])
    statuses = np.concatenate(
        [np.array([r[2] for r in rows], dtype=int), np.zeros(len(unsent_starts), dtype=int)]
    )
    return StreamResult(
        name=plan.name,
        intended_starts_seconds=starts,
        latencies_seconds=latencies,
        status_counts=status_counts,
        error_counts=error_counts,
        expected_status=expected,
        unexpected_status=unexpected,
        unsent=len(unsent_starts),
        responses=len(rows),
        span_seconds=span,
        statuses=statuses,
        payload_bytes=_payload_bytes(plan, summary, len(rows)),
    )


def _payload_bytes(plan: StreamPlan, summary: dict, responses: int) -> int | None:
    received = summary.get("summary", {}).get("totalData")
    if not isinstance(received, int | float):
        return None
    sent = Path(plan.body_path).stat().st_size * responses if plan.body_path else 0
    return int(received) + sent


def on_time_base(
    result: StreamResult, shift_seconds: float, start: float, end: float, expect_status: int
) -> StreamResult:
    """The stream moved onto a common time base (every intended start + `shift_seconds`) and cut
    to the requests intended in [start, end): several hosts' streams, cut to the window all of
    them covered, merge into one phase (merge_streams). Statuses and the unsent count are
    recounted from the requests kept; the failures oha records no time for cannot be placed in
    time and stay whole (error_counts)."""
    assert result.statuses is not None, "on_time_base needs read_stream's statuses"
    starts = result.intended_starts_seconds + shift_seconds
    keep = (starts >= start) & (starts < end)
    statuses = result.statuses[keep]
    answered = statuses[statuses != 0]
    codes, counts = np.unique(answered, return_counts=True)
    status_counts = {str(int(c)): int(n) for c, n in zip(codes, counts, strict=True)}
    expected = int(np.sum(answered == expect_status))
    return StreamResult(
        name=result.name,
        intended_starts_seconds=starts[keep],
        latencies_seconds=result.latencies_seconds[keep],
        status_counts=status_counts,
        error_counts=dict(result.error_counts),
        expected_status=expected,
        unexpected_status=len(answered) - expected,
        unsent=int(np.sum(statuses == 0)),
        responses=len(answered),
        span_seconds=end - start,
        statuses=statuses,
    )


def histogram_of(latencies_seconds: Sequence[float] | np.ndarray) -> HdrHistogram:
    """Every latency in whole microseconds (rounded half to even, clamped to the range), recorded
    once per distinct value with its count: the same histogram as one record per request, without
    hdrh's per-call cost (3.6 µs a request here, 0.2 s for a 50,000-request phase)."""
    histogram = HdrHistogram(HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS)
    seconds = np.asarray(latencies_seconds, dtype=float)
    if np.isnan(seconds).any():
        raise ValueError("a latency is not a number")
    micros = np.clip(np.rint(seconds * 1e6), HDR_LOWEST_US, HDR_HIGHEST_US).astype(np.int64)
    values, counts = np.unique(micros, return_counts=True)
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        histogram.record_value(value, count)
    return histogram


def summarise_histogram(histogram: HdrHistogram) -> LatencySummary | None:
    count = histogram.get_total_count()
    if count == 0:
        return None

    def at(percentile: float) -> float:
        return histogram.get_value_at_percentile(percentile) / 1e6

    return LatencySummary(
        count=count,
        p50_seconds=at(50),
        p90_seconds=at(90),
        p99_seconds=at(99),
        p999_seconds=at(99.9),
        max_seconds=histogram.get_max_value() / 1e6,
    )


def encode_histogram(histogram: HdrHistogram) -> str:
    """The compressed HDR encoding (base64 text), decodable with HdrHistogram.decode."""
    return histogram.encode().decode("ascii")


def latency_windows(
    starts_seconds: np.ndarray,
    latencies_seconds: np.ndarray,
    offset_seconds: float,
    window_seconds: float = WINDOW_SECONDS,
) -> tuple[LatencyWindow, ...]:
    """p50/p99/max of the requests whose intended start falls in each window (numpy percentiles:
    windows are small, and these points only draw the over-time chart)."""
    if len(starts_seconds) == 0:
        return ()
    index = np.floor(starts_seconds / window_seconds).astype(int)
    windows = []
    for w in np.unique(index):
        chunk = latencies_seconds[index == w]
        windows.append(
            LatencyWindow(
                t_seconds=float(offset_seconds + w * window_seconds),
                count=len(chunk),
                p50_seconds=float(np.percentile(chunk, 50)),
                p99_seconds=float(np.percentile(chunk, 99)),
                max_seconds=float(chunk.max()),
            )
        )
    return tuple(windows)
