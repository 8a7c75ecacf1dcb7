"""Merging load hosts exactly: each host's per-request records, moved onto one time base and cut
to the window every host covered, merge into one HDR histogram equal, bucket for bucket, to the
histogram of all those requests recorded together (docs/hosts.md's promise)."""

from __future__ import annotations

import numpy as np

from harness.servers import loadgen


def stream(rng: np.random.Generator, name: str, count: int, span: float) -> loadgen.StreamResult:
    starts = np.sort(rng.uniform(0, span, count))
    latencies = rng.lognormal(mean=np.log(0.002), sigma=0.8, size=count)
    statuses = rng.choice([200, 200, 200, 200, 503, 0], size=count)  # 0: unsent
    answered = statuses[statuses != 0]
    return loadgen.StreamResult(
        name=name,
        intended_starts_seconds=starts,
        latencies_seconds=latencies,
        status_counts={str(c): int(np.sum(answered == c)) for c in np.unique(answered)},
        error_counts={"timeout": 2},
        expected_status=int(np.sum(answered == 200)),
        unexpected_status=int(np.sum(answered == 503)),
        unsent=int(np.sum(statuses == 0)),
        responses=len(answered),
        span_seconds=span,
        statuses=statuses,
    )


def buckets(histogram) -> dict[int, int]:
    return {
        item.value_iterated_to: item.count_at_value_iterated_to
        for item in histogram.get_recorded_iterator()
    }


def test_merged_hosts_equal_the_histogram_of_every_request_in_the_window():
    rng = np.random.default_rng(29)
    hosts = [stream(rng, "get", 4000 + 500 * i, 10.0) for i in range(3)]
    shifts = [0.012, -0.004, 0.031]  # each host's start on the common time base
    start = max(shifts)
    end = min(s + h.span_seconds for s, h in zip(shifts, hosts, strict=True))

    cut = [
        loadgen.on_time_base(h, s, start, end, expect_status=200)
        for h, s in zip(hosts, shifts, strict=True)
    ]
    merged = loadgen.merge_streams(cut)
    by_host = loadgen.histogram_of(merged.latencies_seconds)

    every_start = np.concatenate(
        [h.intended_starts_seconds + s for h, s in zip(hosts, shifts, strict=True)]
    )
    every_latency = np.concatenate([h.latencies_seconds for h in hosts])
    every_status = np.concatenate([h.statuses for h in hosts])
    inside = (every_start >= start) & (every_start < end)
    together = loadgen.histogram_of(every_latency[inside])

    assert by_host.get_total_count() == together.get_total_count() == int(inside.sum())
    assert buckets(by_host) == buckets(together)
    for percentile in (50, 90, 99, 99.9, 100):
        assert by_host.get_value_at_percentile(percentile) == together.get_value_at_percentile(
            percentile
        )
    # Statuses and unsent requests recounted in the window; failures without a time stay whole.
    kept = every_status[inside]
    assert merged.status_counts == {
        "200": int(np.sum(kept == 200)),
        "503": int(np.sum(kept == 503)),
    }
    assert merged.counts.unsent == int(np.sum(kept == 0))
    assert merged.counts.expected_status == int(np.sum(kept == 200))
    assert merged.counts.unexpected_status == int(np.sum(kept == 503))
    assert merged.counts.timeouts == 6
    assert merged.responses == int(np.sum(kept != 0))
    # The cut really cut: requests before the last host began and after the first one ended.
    assert 0 < int(inside.sum()) < len(every_start)
    assert merged.intended_starts_seconds.min() >= start
    assert merged.intended_starts_seconds.max() < end


def test_averaging_each_hosts_p99_is_not_the_merged_p99():
    """Why the merge is of requests: hosts with different latencies have a p99 together that
    no average of their own p99s gives."""
    rng = np.random.default_rng(7)
    fast = rng.lognormal(np.log(0.001), 0.3, 9000)
    slow = rng.lognormal(np.log(0.010), 0.3, 1000)
    p99 = [loadgen.histogram_of(x).get_value_at_percentile(99) for x in (fast, slow)]
    together = loadgen.histogram_of(np.concatenate([fast, slow])).get_value_at_percentile(99)
    assert abs(np.mean(p99) - together) / together > 0.1
