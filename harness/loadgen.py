"""Drive the external open-loop load generator (oha) and turn its output into latencies.

oha sends on a fixed schedule with `-q RATE` and, with `--latency-correction`, measures each
request from its *intended* send time, so a stalled server cannot hide its stall (coordinated
omission). Its JSON summary gives status and error counts; its per-request SQLite output
(`--db-url`) gives every successful request's intended start and corrected latency, which go into an
HDR histogram (hdrhistogram package): percentiles come from that, never from oha's own summary.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hdrh.histogram import HdrHistogram

from harness.errors import HarnessError
from harness.model import LatencySummary, LatencyWindow

OHA_VERSION = "1.16.0"
INSTALL_HINT = (
    f"install it with `make tools` (cargo install oha --version {OHA_VERSION} --locked "
    "--root tools)"
)
# HDR histogram range: 1 µs to 60 s at 3 significant digits (0.1 % value precision).
HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS = 1, 60_000_000, 3
WINDOW_SECONDS = 0.25


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
        f"{plan.duration_seconds:g}s",
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
        argv += ["-q", f"{plan.rate_rps:g}", "--latency-correction"]
    if plan.body_path:
        argv += ["-D", plan.body_path]
    if plan.content_type:
        argv += ["-T", plan.content_type]
    if plan.rand_regex:
        argv.append("--rand-regex-url")
    return [*argv, plan.url]


@dataclass(frozen=True)
class StreamResult:
    name: str
    intended_starts_seconds: np.ndarray  # since oha started, per successful request
    latencies_seconds: np.ndarray
    status_counts: dict[str, int]
    error_counts: dict[str, int]
    unexpected_status: int
    responses: int  # every response the database recorded, whatever its status
    span_seconds: float  # first intended send to last response: the window the responses came in


def read_stream(name: str, expect_status: int, summary_path: Path, db_path: Path) -> StreamResult:
    """Parse one oha run's JSON summary and per-request database."""
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"oha wrote no readable JSON summary ({exc})") from exc
    status_counts = {str(k): int(v) for k, v in summary.get("statusCodeDistribution", {}).items()}
    error_counts = {str(k): int(v) for k, v in summary.get("errorDistribution", {}).items()}
    rows: list[tuple[float, float, int]] = []
    span = 0.0
    if db_path.exists():
        with closing(sqlite3.connect(db_path)) as db:
            rows = db.execute(
                "SELECT COALESCE(start_latency_correction, start), end - COALESCE(start_latency_correction, start), "
                "status FROM oha ORDER BY 1"
            ).fetchall()
            first, last = db.execute(
                "SELECT MIN(COALESCE(start_latency_correction, start)), MAX(end) FROM oha"
            ).fetchone()
            span = (last - first) if first is not None and last is not None else 0.0
    expected = [(start, latency) for start, latency, status in rows if status == expect_status]
    unexpected = sum(v for k, v in status_counts.items() if k != str(expect_status))
    starts = np.array([r[0] for r in expected], dtype=float)
    latencies = np.array([r[1] for r in expected], dtype=float)
    return StreamResult(
        name=name,
        intended_starts_seconds=starts,
        latencies_seconds=latencies,
        status_counts=status_counts,
        error_counts=error_counts,
        unexpected_status=unexpected,
        responses=len(rows),
        span_seconds=span,
    )


def histogram_of(latencies_seconds: Sequence[float] | np.ndarray) -> HdrHistogram:
    histogram = HdrHistogram(HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS)
    for value in np.asarray(latencies_seconds, dtype=float):
        histogram.record_value(max(HDR_LOWEST_US, min(HDR_HIGHEST_US, round(value * 1e6))))
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
