"""harness.phase_analysis: which phases may be quoted, the caveats a phase carries, and its
window's server CPU, on hand-made values."""

from dataclasses import replace

import pytest
from builders import server_phase

from harness.analysis.phases import (
    cpu_in_window,
    describe_failures,
    disturbance,
    headline_exclusions,
    is_headline,
    phase_flags,
    shared_cpus_flag,
)
from harness.model import RequestCounts


def counts(**overrides) -> RequestCounts:
    values = dict.fromkeys(
        (
            "expected_status",
            "unexpected_status",
            "timeouts",
            "deadline_aborts",
            "other_errors",
            "unsent",
        ),
        0,
    )
    return RequestCounts(**{**values, **overrides})


def test_a_clean_fixed_rate_phase_is_headline():
    assert headline_exclusions(server_phase(1000, 990)) == ()  # exactly 99 % of offered
    assert is_headline(server_phase(1000, 1000))


@pytest.mark.parametrize(
    ("phase", "reason"),
    [
        (server_phase(1000, 989), "achieved 989 req/s < 99 % of offered 1,000"),
        (server_phase(1000, 1000, errors=3), "3 failed requests"),
        (server_phase(1000, 1000, ok=False), "the phase failed"),
        (server_phase(None, 5000), "not a fixed-rate phase"),  # the closed-loop probe
    ],
)
def test_errors_a_missed_rate_a_failure_or_a_probe_keep_a_phase_out(phase, reason):
    assert reason in headline_exclusions(phase)
    assert not is_headline(phase)


def test_a_phase_without_latencies_is_not_headline():
    assert "no latencies" in headline_exclusions(replace(server_phase(1000, 1000), latency=None))


def test_other_flags_do_not_keep_a_phase_out():
    # Too few requests for a trustworthy p99.9 is a caveat, shown but not disqualifying.
    assert is_headline(server_phase(1000, 1000, flags=("p99.9 from 3000 requests (< 100000)",)))


def test_describe_failures_names_each_kind():
    text = describe_failures(counts(unexpected_status=2, timeouts=1, other_errors=10))
    assert text == (
        "13 failed requests (unexpected status 2, timeout 1, connection and other errors 10; "
        "oha records no duration for all but the unexpected statuses)"
    )
    assert describe_failures(counts(unexpected_status=4)) == (
        "4 failed requests (unexpected status 4)"
    )


def flags(**overrides) -> tuple[str, ...]:
    values = {
        "offered_rps": 1000.0,
        "achieved_rps": 1000.0,
        "counts": counts(expected_status=200_000),
        "latency_count": 200_000,
        "loadgen_share": 0.5,
        "loadgen_cpus": 1,
        "peak_from_samples": False,
    }
    return phase_flags(**{**values, **overrides})


def test_phase_flags_of_a_clean_phase_are_empty():
    assert flags() == ()


def test_phase_flags_name_every_caveat():
    assert flags(achieved_rps=980.0) == ("achieved 980 req/s < 99 % of offered 1000",)
    assert flags(counts=counts(deadline_aborts=2)) == (
        "2 failed requests (aborted at the deadline 2; oha records no duration for these)",
    )
    assert flags(counts=counts(unsent=7)) == (
        "never sent before the deadline: 7 of the scheduled requests (in the latencies at a "
        "lower bound, intended send to deadline)",
    )
    assert flags(latency_count=99_999) == ("p99.9 from 99999 requests (< 100000)",)
    assert flags(loadgen_share=0.95) == (
        "load generator near its CPU limit: the server may be capable of more",
    )
    assert flags(loadgen_share=1.5, loadgen_cpus=2) == ()  # 75 % of two CPUs
    assert flags(peak_from_samples=True) == (
        "peak RSS from psutil samples (VmHWM could not be reset): short peaks missed",
    )


def test_a_phase_whose_load_generator_shared_a_server_cpu_says_so_and_still_counts():
    shared = (
        "server and load generator shared CPU(s) 0,1: the load generator's CPU time competed "
        "with the server's"
    )
    assert shared_cpus_flag((0, 1)) == shared
    assert shared_cpus_flag(()) is None and shared_cpus_flag(None) is None  # apart; not recorded
    phase = replace(server_phase(1000, 1000), shared_cpus=(0, 1))
    assert headline_exclusions(phase) == () and disturbance(phase) is None


def test_phase_flags_name_steal_above_one_percent_only():
    assert flags(steal_share=0.01) == ()
    assert flags(steal_share=0.023) == (
        "CPU steal 2.3% during the phase: the hypervisor stopped this machine",
    )


def test_steal_above_one_percent_disturbs_a_phase_without_excluding_its_rate():
    calm = server_phase(1000, 1000)
    assert disturbance(calm) is None
    assert disturbance(replace(calm, steal_share=0.01)) is None
    stolen = replace(calm, steal_share=0.031)
    assert disturbance(stolen) == (
        "CPU steal 3.1% of the phase's CPU time (over 1%: the hypervisor stopped this machine, "
        "not the server)"
    )
    assert headline_exclusions(stolen) == ()


def test_the_probe_has_no_rate_flags():
    assert flags(offered_rps=None, achieved_rps=5.0, latency_count=10) == ()


def test_cpu_in_window_interpolates_between_readings():
    # Cumulative (t, user, sys): 0.5 s user in the first second, 0.4 in the second, then idle.
    readings = [(0.0, 0.0, 0.0), (1.0, 0.5, 0.1), (2.0, 0.9, 0.2), (3.0, 0.9, 0.2)]
    user, sys_ = cpu_in_window(readings, 0.0, 1.5)  # half-way into the second second
    assert user == pytest.approx(0.5 + 0.4 / 2)
    assert sys_ == pytest.approx(0.1 + 0.1 / 2)
    # The idle tail after the window (oha writing its database) adds nothing; beyond the last
    # reading the value stays flat.
    assert cpu_in_window(readings, 0.0, 2.0) == pytest.approx((0.9, 0.2))
    assert cpu_in_window(readings, 0.0, 9.0) == pytest.approx((0.9, 0.2))
    assert cpu_in_window(readings, 0.5, 1.0) == pytest.approx((0.25, 0.05))


def test_gc_cycles_are_required_of_go_only_and_not_when_go_never_collects():
    from harness.analysis.phases import gc_cycles_required

    assert gc_cycles_required(2, "go", {}) == 2
    assert gc_cycles_required(2, "rust", {}) is None
    assert gc_cycles_required(0, "go", {}) is None
    assert gc_cycles_required(2, "go", {"GOGC": "off"}) is None  # no phase length would help
    assert gc_cycles_required(2, "go", {"GOGC": "off", "GOMEMLIMIT": "1GiB"}) == 2
    assert gc_cycles_required(2, "go", {"GOGC": "400"}) == 2


def test_phase_flags_name_a_phase_with_too_few_gc_cycles():
    from harness.analysis.phases import phase_flags

    common = dict(
        offered_rps=1000.0,
        achieved_rps=1000.0,
        counts=RequestCounts(3000, 0, 0, 0, 0, 0),
        latency_count=200_000,
        loadgen_share=0.1,
        loadgen_cpus=1,
        peak_from_samples=False,
    )
    (flag,) = phase_flags(**common, gc_count=0, gc_required=2)
    assert flag.startswith("contained 0 Go GC cycles (< 2)")
    assert phase_flags(**common, gc_count=2, gc_required=2) == ()
    assert phase_flags(**common, gc_count=0, gc_required=None) == ()
