"""The harness's own overhead and fidelity (not timed tests: `make bench-harness`).

(a) Sampler overhead: CPU time of a CPU-bound child with the 10 Hz psutil sampler on vs off.
    Target: <= 1 % difference in the child's CPU time.
(b) Fidelity: wall time and peak RSS against GNU `/usr/bin/time -v` on the same command.
    Targets: wall within 3 %, peak RSS within 2 %.
Figures go to pytest-benchmark's extra_info and are printed; a missed target fails the benchmark.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest
from scipy import stats as sps

from harness.analysis import stats
from harness.measure import launcher as measure

ROUNDS = 7
CPUS = (measure.available_cpus()[-1],)


def run(launcher, argv, interval):
    outcome = measure.SubprocessExecutor(launcher).run(
        [str(a) for a in argv],
        env={},
        cpus=CPUS,
        timeout_seconds=120,
        sample_interval_seconds=interval,
    )
    assert outcome.exit_code == 0
    return outcome


def test_sampler_overhead(benchmark, launcher, probe):
    on, off = [], []

    def interleaved():
        for _ in range(ROUNDS):
            off.append(run(launcher, [probe, "spin", 400], 0))
            on.append(run(launcher, [probe, "spin", 400], 0.1))

    benchmark.pedantic(interleaved, rounds=1, iterations=1)
    cpu_off = [o.user_seconds + o.sys_seconds for o in off]
    cpu_on = [o.user_seconds + o.sys_seconds for o in on]
    overhead = stats.median(cpu_on) / stats.median(cpu_off) - 1
    wall_overhead = (
        stats.median([o.wall_seconds for o in on]) / stats.median([o.wall_seconds for o in off]) - 1
    )
    benchmark.extra_info.update(
        child_cpu_seconds_unsampled_median=stats.median(cpu_off),
        child_cpu_seconds_sampled_median=stats.median(cpu_on),
        cpu_overhead_fraction=overhead,
        wall_overhead_fraction=wall_overhead,
        samples_per_run_median=stats.median([len(o.samples) for o in on]),
        mann_whitney_p=sps.mannwhitneyu(cpu_on, cpu_off).pvalue,
    )
    print(
        f"\nsampler overhead: child CPU {stats.median(cpu_off):.4f} s unsampled, "
        f"{stats.median(cpu_on):.4f} s sampled ({overhead:+.2%}); wall {wall_overhead:+.2%}; "
        f"{stats.median([len(o.samples) for o in on]):.0f} samples/run"
    )
    assert abs(overhead) <= 0.01, f"sampler overhead {overhead:+.2%} exceeds 1 %"


def gnu_time(argv):
    """Wall (from perf_counter around GNU time, which adds its own exec) and GNU time's figures."""
    start = time.perf_counter()
    done = subprocess.run(
        ["taskset", "-c", ",".join(map(str, CPUS)), "/usr/bin/time", "-v", *map(str, argv)],
        capture_output=True,
        text=True,
        check=True,
    )
    outer = time.perf_counter() - start
    text = done.stderr
    clock = re.search(
        r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", text
    )
    hours, minutes, secs = clock.groups()
    wall = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
    rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return wall, rss_kib * 1024, outer


@pytest.mark.skipif(
    not os.path.exists("/usr/bin/time") or not shutil.which("taskset"),
    reason="GNU time (Debian package 'time') and taskset needed",
)
def test_fidelity_against_gnu_time(benchmark, launcher, probe):
    ours, theirs = [], []

    def interleaved():
        for _ in range(ROUNDS):
            ours.append(run(launcher, [probe, "alloc", 300], 0.1))
            theirs.append(gnu_time([probe, "alloc", 300]))

    benchmark.pedantic(interleaved, rounds=1, iterations=1)
    our_wall = stats.median([o.wall_seconds for o in ours])
    our_rss = stats.median([o.peak_rss_bytes for o in ours])
    gnu_wall = stats.median([t[0] for t in theirs])
    gnu_rss = stats.median([t[1] for t in theirs])
    wall_diff = our_wall / gnu_wall - 1
    rss_diff = our_rss / gnu_rss - 1
    benchmark.extra_info.update(
        our_wall_seconds_median=our_wall,
        gnu_time_wall_seconds_median=gnu_wall,
        our_peak_rss_bytes_median=our_rss,
        gnu_time_peak_rss_bytes_median=gnu_rss,
        wall_difference_fraction=wall_diff,
        rss_difference_fraction=rss_diff,
    )
    print(
        f"\nfidelity vs GNU time -v: wall {our_wall:.4f} s vs {gnu_wall:.4f} s ({wall_diff:+.2%}); "
        f"peak RSS {our_rss / 2**20:.1f} MiB vs {gnu_rss / 2**20:.1f} MiB ({rss_diff:+.2%}); "
        f"GNU time's resolution is 10 ms"
    )
    assert abs(wall_diff) <= 0.03, f"wall differs from GNU time by {wall_diff:+.2%}"
    assert abs(rss_diff) <= 0.02, f"peak RSS differs from GNU time by {rss_diff:+.2%}"
