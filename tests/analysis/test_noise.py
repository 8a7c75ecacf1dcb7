"""noise: system state and /proc/stat shares from fixture trees, drift and position effects."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from builders import (
    build_record,
    cpu_window,
    impl_result,
    jittered,
    noise_run,
    run,
    small_run,
    system_state,
    timed_reps,
    workload_result,
)
from scipy import stats as sps

from harness.analysis import noise
from harness.analysis.noise import Slot
from harness.measure import noise as noise_readings
from harness.model import BackendRecord, CpuTimes, Run, ServerPhase

FIXTURES = Path(__file__).parents[1] / "fixtures" / "noise"
THRESHOLD = 0.05  # the harness's default noise threshold


def ticks(cpu: int, **fields: int) -> CpuTimes:
    zero = dict.fromkeys(noise.TICK_FIELDS, 0)
    return CpuTimes(cpu=cpu, **{**zero, **fields})


# --- system state ---------------------------------------------------------------------------


def test_firecracker_vm_has_no_cpufreq_so_the_clock_comes_from_cpuinfo():
    # a copy of this 2-vCPU Firecracker VM's files: no cpufreq directory, SMT not supported
    state = noise_readings.read_system_state(FIXTURES / "firecracker-vm")
    assert [c.cpu for c in state.cpus] == [0, 1]
    assert all(c.governor is None and c.driver is None and c.max_mhz is None for c in state.cpus)
    assert [(c.cur_mhz, c.cur_mhz_source) for c in state.cpus] == [(2596.142, "cpuinfo")] * 2
    assert state.smt_active is False
    assert state.smt_control == "notsupported"
    assert state.transparent_hugepages == "madvise"
    assert state.aslr == 2
    assert state.load_average == (0.06, 0.07, 0.15)
    assert state.isolated_cpus == ()  # sysfs "isolated" is empty
    assert state.nohz_full_cpus == ()  # no sysfs file; the readable cmdline has no nohz_full=
    assert state.boost is None
    assert noise.noise_warnings(threshold=THRESHOLD, state=state) == ()


def test_bare_vm_gives_none_for_every_missing_file():
    # an arm64 guest that shows only /proc/cpuinfo (no "cpu MHz" on arm64), /proc/stat, cmdline
    state = noise_readings.read_system_state(FIXTURES / "bare-vm")
    assert [(c.cpu, c.cur_mhz, c.cur_mhz_source, c.governor) for c in state.cpus] == [
        (0, None, None, None),
        (1, None, None, None),
    ]
    assert state.smt_active is None
    assert state.smt_control is None
    assert state.transparent_hugepages is None
    assert state.aslr is None
    assert state.load_average is None
    assert state.boost is None
    assert state.isolated_cpus == (1,)  # from the cmdline, its flags skipped
    assert state.nohz_full_cpus == ()


def test_laptop_reads_cpufreq_before_cpuinfo():
    state = noise_readings.read_system_state(FIXTURES / "laptop")
    assert [c.cpu for c in state.cpus] == [0, 1, 2, 3]
    assert [c.governor for c in state.cpus] == ["powersave"] * 3 + ["performance"]
    assert {c.driver for c in state.cpus} == {"intel_pstate"}
    # scaling_cur_freq is in kHz; /proc/cpuinfo says 2000.000 for every CPU and is not used
    assert [c.cur_mhz for c in state.cpus] == [1397.021, 3899.712, 800.003, 4600.0]
    assert {c.cur_mhz_source for c in state.cpus} == {"cpufreq"}
    assert {c.max_mhz for c in state.cpus} == {4700.0}
    assert (state.smt_active, state.smt_control) == (True, "on")
    assert state.transparent_hugepages == "always"
    assert state.load_average == (1.52, 0.98, 0.71)
    assert state.isolated_cpus == (3,)
    assert state.nohz_full_cpus == (3,)
    assert state.boost is True  # intel_pstate/no_turbo = 0
    assert noise.noise_warnings(threshold=THRESHOLD, state=state) == (
        "CPU frequency governor is powersave on cpus 0,1,2, not performance;"
        " the clock may change during the run",
    )


def test_empty_root_and_malformed_files_give_none(tmp_path: Path):
    empty = noise_readings.read_system_state(tmp_path)
    assert empty.cpus == ()
    assert empty.aslr is None and empty.load_average is None and empty.isolated_cpus is None
    cpu = tmp_path / "sys/devices/system/cpu"
    (cpu / "cpufreq").mkdir(parents=True)
    (cpu / "cpufreq/boost").write_text("0\n")
    (cpu / "nohz_full").write_text(" (null)\n")  # what the kernel prints when nohz_full is off
    (cpu / "isolated").write_text("0-7:2/4\n")  # a stride we do not parse
    (tmp_path / "proc/sys/kernel").mkdir(parents=True)
    (tmp_path / "proc/sys/kernel/randomize_va_space").write_text("two\n")
    (tmp_path / "proc/loadavg").write_text("high higher highest 1/80 7\n")
    (tmp_path / "proc/cpuinfo").write_text("processor\t: zero\n")
    state = noise_readings.read_system_state(tmp_path)
    assert state.boost is False
    assert state.nohz_full_cpus == ()
    assert state.isolated_cpus is None
    assert state.aslr is None
    assert state.load_average is None
    assert state.cpus == ()


def test_parse_cpu_list():
    assert noise_readings.parse_cpu_list("0-2,5\n") == (0, 1, 2, 5)
    assert noise_readings.parse_cpu_list("") == ()
    assert noise_readings.parse_cpu_list("x") is None


# --- /proc/stat -----------------------------------------------------------------------------


def test_parse_proc_stat_reads_per_cpu_lines_and_pads_old_kernels():
    times = noise_readings.read_cpu_times(FIXTURES / "laptop")
    assert times is not None
    assert [t.cpu for t in times] == [0, 1, 2, 3]  # the aggregate "cpu" line is skipped
    assert times[3] == CpuTimes(3, 564643, 2579, 172776, 9534132, 14608, 0, 3078, 0)
    # Linux before 2.6.11 had no steal column (nor irq/softirq before 2.6.0)
    assert noise_readings.parse_proc_stat("cpu0 1 2 3 4\n") == (CpuTimes(0, 1, 2, 3, 4, 0, 0, 0, 0),)
    assert noise_readings.read_cpu_times(FIXTURES / "nowhere") is None


def test_shares_from_two_real_readings_of_this_vm():
    # Two /proc/stat readings of this VM around `taskset -c 1` spinning for 2 s; rusage of the
    # child said 1.994366 s. Deltas: cpu0 user 6, system 3, idle 190 -> 199 ticks, busy 9;
    # cpu1 user 203, system 1 -> 204 ticks, all busy; no steal in the interval.
    before = noise_readings.read_cpu_times(FIXTURES / "firecracker-vm")
    after = noise_readings.read_cpu_times(FIXTURES / "firecracker-vm-after")
    assert before is not None and after is not None
    usage = noise.cpu_usage_between(
        before, after, [1], accounted_cpu_seconds=1.994366, ticks_per_second=100
    )
    assert usage is not None
    assert usage.interval_seconds == pytest.approx((199 + 204) / 2 / 100)
    assert usage.steal_share == 0.0
    assert [(s.cpu, s.busy_share) for s in usage.per_cpu] == [(0, 9 / 199), (1, 1.0)]
    assert usage.measured_cpus == (1,)
    assert usage.measured_other_share == pytest.approx((204 - 199.4366) / 204)  # 2.2 %
    assert usage.rest_other_share == pytest.approx(9 / 199)  # 4.5 %: the harness's own python
    assert noise.noise_warnings(threshold=THRESHOLD, usage=usage) == ()


BEFORE = (ticks(0), ticks(1))
AFTER = (
    # 10 s at 100 ticks/s: 1000 ticks each
    ticks(0, user=500, system=100, idle=300, iowait=20, irq=5, softirq=15, steal=60),  # busy 620
    ticks(1, user=50, nice=10, idle=920, steal=20),  # busy 60
)


def test_steal_and_other_load_shares_hand_computed():
    usage = noise.cpu_usage_between(
        BEFORE,
        AFTER,
        [0],
        accounted_cpu_seconds=5.5,
        harness_cpu_seconds=0.3,
        ticks_per_second=100,
    )
    assert usage is not None
    assert usage.interval_seconds == 10.0
    assert [(s.cpu, s.steal_share, s.busy_share) for s in usage.per_cpu] == [
        (0, 0.06, 0.62),
        (1, 0.02, 0.06),
    ]
    assert usage.steal_share == pytest.approx(80 / 2000)  # 4 %
    assert usage.measured_other_share == pytest.approx((620 - 550) / 1000)  # 7 %
    assert usage.rest_other_share == pytest.approx((60 - 30) / 1000)  # 3 %
    assert noise.noise_warnings(threshold=THRESHOLD, usage=usage) == (
        "CPU steal took 4.0 % of the run's CPU time (cpu 0: 6.0 %); the hypervisor ran other work",
    )


def test_unpinned_run_pools_every_cpu_and_clamps_at_zero():
    unpinned = noise.cpu_usage_between(
        BEFORE,
        AFTER,
        None,
        accounted_cpu_seconds=5.5,
        harness_cpu_seconds=0.3,
        ticks_per_second=100,
    )
    assert unpinned is not None
    assert unpinned.measured_cpus == (0, 1)
    assert unpinned.rest_other_share is None
    assert unpinned.measured_other_share == pytest.approx((680 - 580) / 2000)  # 5 %
    offline = noise.cpu_usage_between(BEFORE, AFTER, [7])  # pinned to a CPU /proc/stat lacks
    assert offline is not None and offline.measured_cpus == (0, 1)
    over = noise.cpu_usage_between(BEFORE, AFTER, [0], accounted_cpu_seconds=7.0)
    assert over is not None and over.measured_other_share == 0.0  # 700 accounted > 620 busy


def test_other_load_warnings_name_the_cpus():
    usage = noise.cpu_usage_between(BEFORE, AFTER, [0], accounted_cpu_seconds=4.0)
    assert usage is not None and usage.measured_other_share == pytest.approx(0.22)
    warnings = noise.noise_warnings(threshold=THRESHOLD, usage=usage)
    assert "other load used 22.0 % of the measured cpu 0 beyond the benchmark's own CPU time" in (
        warnings
    )
    assert not any("harness's" in w for w in warnings)  # 6 % on cpu 1 is under 10 %


def test_counters_that_go_backwards_count_as_zero():
    # iowait can decrease on some kernels
    usage = noise.cpu_usage_between(
        (ticks(0, idle=100, iowait=50),), (ticks(0, idle=200, iowait=40),), [0]
    )
    assert usage is not None and usage.per_cpu[0].busy_share == 0.0
    assert usage.interval_seconds == pytest.approx(100 / noise.CLOCK_TICKS_PER_SECOND)
    assert noise.cpu_usage_between(BEFORE, BEFORE, [0]) is None  # no time passed
    assert noise.cpu_usage_between(BEFORE, (ticks(5),), [0]) is None  # no CPU in common


def test_short_intervals_do_not_warn():
    usage = noise.cpu_usage_between(BEFORE, AFTER, [0], ticks_per_second=10_000)  # 0.1 s
    assert usage is not None and usage.steal_share > noise.STEAL_WARN_SHARE
    assert noise.noise_warnings(threshold=THRESHOLD, usage=usage) == ()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_live_counters_only_grow():
    first, second = noise_readings.read_cpu_times(), noise_readings.read_cpu_times()
    assert first and second
    assert [t.cpu for t in first] == [t.cpu for t in second]
    for a, b in zip(first, second, strict=True):
        assert b.user + b.system + b.idle >= a.user + a.system + a.idle
    assert noise_readings.read_system_state().aslr in (0, 1, 2, None)


# --- drift ----------------------------------------------------------------------------------

TIMES = [60.0 * i for i in range(20)]  # one repetition a minute, span 1140 s


def test_flat_series_has_no_drift_warning():
    noisy = 1.0 + 0.01 * np.random.default_rng(7).standard_normal(20)
    d = noise.drift(TIMES, list(noisy))
    assert d is not None
    assert d.p_value == pytest.approx(sps.kendalltau(TIMES, noisy).pvalue)
    assert d.p_value >= 0.05
    assert noise.noise_warnings(threshold=THRESHOLD, drifts={"wall time": d}) == ()
    constant = noise.drift(TIMES, [2.0] * 20)
    assert constant is not None
    assert (constant.kendall_tau, constant.p_value, constant.slope_per_second) == (0.0, 1.0, 0.0)


def test_linear_rise_of_ten_percent_is_reported_with_sign_and_size():
    values = [1.0 + 0.1 * t / 1140 for t in TIMES]  # 1.0 -> 1.1, median 1.05
    d = noise.drift(TIMES, values)
    assert d is not None
    assert d.n == 20 and d.span_seconds == 1140
    assert d.kendall_tau == pytest.approx(1.0)
    assert d.slope_per_second == pytest.approx(0.1 / 1140)
    assert d.relative_across_run == pytest.approx(0.1 / 1.05)  # 9.5 % of the median
    assert d.relative_per_hour == pytest.approx(0.1 / 1140 * 3600 / 1.05)
    assert d.relative_across_run_low <= d.relative_across_run <= d.relative_across_run_high
    (warning,) = noise.noise_warnings(threshold=THRESHOLD, drifts={"go/default wall time": d})
    assert warning.startswith(
        "go/default wall time drifted +9.5 % across the run (Kendall tau 1.00"
    )
    falling = noise.drift(TIMES, values[::-1])
    assert falling is not None and falling.relative_across_run == pytest.approx(-0.1 / 1.05)
    assert "drifted -9.5 %" in noise.noise_warnings(threshold=THRESHOLD, drifts={"w": falling})[0]


def test_significant_drift_below_the_threshold_is_not_a_warning():
    d = noise.drift(TIMES, [1.0 + 0.03 * t / 1140 for t in TIMES])
    assert d is not None and d.p_value < 0.05
    assert noise.noise_warnings(threshold=THRESHOLD, drifts={"wall time": d}) == ()


def test_a_large_drift_that_is_not_significant_is_not_a_warning():
    d = noise.drift([0, 60, 120, 180, 240, 300], [1.0, 1.3, 0.9, 1.2, 1.0, 1.25])
    assert d is not None and d.relative_across_run > 0.1 and d.p_value > 0.5
    assert noise.noise_warnings(threshold=THRESHOLD, drifts={"wall time": d}) == ()


def test_drift_needs_four_values_and_a_span():
    assert noise.drift([0.0, 1.0, 2.0], [1.0, 1.1, 1.2]) is None
    assert noise.drift([5.0] * 4, [1.0, 1.1, 1.2, 1.3]) is None


# --- position effect ------------------------------------------------------------------------


def rounds(slow_position: int | None, factor: float, n_rounds: int = 12) -> list[Slot]:
    """Three programs rotating through three slots (a Latin square), 1 % seeded noise."""
    base = {"go/default": 1.0, "rust/default": 0.5, "rust/ring": 0.6}
    rng = np.random.default_rng(3)
    slots = []
    for r in range(n_rounds):
        keys = list(base)[r % 3 :] + list(base)[: r % 3]
        for position, key in enumerate(keys):
            slowed = factor if position == slow_position else 1.0
            slots.append(
                Slot(key, position, base[key] * slowed * (1 + 0.01 * rng.standard_normal()))
            )
    return slots


def test_a_six_percent_slower_slot_is_detected():
    e = noise.position_effect(rounds(slow_position=2, factor=1.06))
    assert e is not None
    assert e.n == 36 and sorted(e.median_by_position) == [0, 1, 2]
    assert e.slowest_position == 2
    assert e.spread == pytest.approx(0.06, abs=0.01)
    assert e.p_value < 0.05
    (warning,) = noise.noise_warnings(threshold=THRESHOLD, positions={"wall time": e})
    assert warning.startswith("wall time was 6.")
    assert "higher at position 2 of each round than at position" in warning


def test_no_position_effect_no_warning():
    e = noise.position_effect(rounds(slow_position=None, factor=1.0))
    assert e is not None and e.spread < 0.03
    assert noise.noise_warnings(threshold=THRESHOLD, positions={"wall time": e}) == ()


def test_a_significant_position_effect_below_the_threshold_is_not_a_warning():
    e = noise.position_effect(rounds(slow_position=1, factor=1.03))
    assert e is not None and e.p_value < 0.05 and 0.02 < e.spread < THRESHOLD
    assert noise.noise_warnings(threshold=THRESHOLD, positions={"wall time": e}) == ()


def test_values_are_normalised_per_implementation_hand_computed():
    # go 1.00 @0, 1.10 @1 (median 1.05); rust 0.50 @0, 0.55 @1 (median 0.525)
    slots = [Slot("go", 0, 1.0), Slot("go", 1, 1.1), Slot("rust", 0, 0.5), Slot("rust", 1, 0.55)]
    e = noise.position_effect(slots)
    assert e is not None
    assert e.median_by_position == pytest.approx({0: 1.0 / 1.05, 1: 1.1 / 1.05})
    assert (e.fastest_position, e.slowest_position) == (0, 1)
    assert e.spread == pytest.approx(0.1)
    assert e.p_value == pytest.approx(
        sps.kruskal([1.0 / 1.05, 0.5 / 0.525], [1.1 / 1.05, 0.55 / 0.525]).pvalue
    )


def test_a_large_position_spread_that_is_not_significant_is_not_a_warning():
    slots = [Slot("go", 0, 1.0), Slot("go", 1, 1.12), Slot("go", 0, 1.1), Slot("go", 1, 1.0)]
    e = noise.position_effect([*slots, Slot("rust", 0, 0.5), Slot("rust", 1, 0.56)])
    assert e is not None and e.spread > 0.1 and e.p_value > 0.05
    assert noise.noise_warnings(threshold=THRESHOLD, positions={"wall time": e}) == ()


def test_a_fixed_order_cannot_show_a_position_effect():
    # go always first, rust always second: position and program are confounded
    slots = [Slot("go", 0, 1.0), Slot("rust", 1, 0.5)] * 5
    assert noise.position_effect(slots) is None
    assert noise.position_effect([Slot("go", 0, 1.0)] * 5) is None
    zero = [Slot("rust", p, 0.0) for p in (0, 1, 0, 1)]  # no GC pauses: cannot be normalised
    assert noise.position_effect(zero) is None
    same = noise.position_effect([Slot("go", p, 1.0) for p in (0, 1, 0, 1)])
    assert same is not None and same.p_value == 1.0 and same.spread == 0.0


# --- applied to recorded runs ---------------------------------------------------------------


def test_a_twenty_percent_drift_warns_and_a_flat_run_does_not():
    drifting = noise.run_noise(noise_run(go_growth=0.2, window=cpu_window()), THRESHOLD)
    (workload,) = drifting.workloads
    go, rust = workload.drifts["go/default"], workload.drifts["rust/default"]
    assert go.p_value < 0.001 and go.relative_across_run == pytest.approx(0.19, abs=0.01)
    assert rust.p_value > 0.5 and rust.relative_across_run == 0.0
    assert drifting.warnings == (
        "demo: go/default wall time drifted +18.9 % across the run (Kendall tau 0.88, p=5.3e-06)",
    )
    flat = noise.run_noise(noise_run(go_growth=0.0, window=cpu_window()), THRESHOLD)
    assert flat.warnings == ()
    assert flat.workloads[0].position.n == 24  # both programs, every round, two slots
    assert flat.workloads[0].usage.measured_other_share == 0.0


def test_runs_written_before_the_readings_give_none_and_no_warnings():
    # schema 1: no recorded order, no window, no machine state
    old = noise.run_noise(small_run(), THRESHOLD)
    (workload,) = old.workloads
    assert (old.state, workload.usage, workload.drifts, workload.position) == (None, None, {}, None)
    assert old.warnings == () and noise.summary_line(old) is None
    # schema 2: the order, but no window
    ordered = noise.run_noise(noise_run(go_growth=0.2), THRESHOLD)
    assert ordered.workloads[0].usage is None
    assert noise.summary_line(ordered).startswith("largest drift +18.9 % (go/default, p=5.3e-06)")


def test_other_load_is_busy_time_beyond_the_children_the_harness_reaped():
    # cpu 0 was busy 900 of 1000 ticks (9 s), but the measured programs used 6 s of it
    usage = noise.run_noise(noise_run(window=cpu_window(children=6.0)), THRESHOLD)
    assert usage.workloads[0].usage.measured_other_share == pytest.approx(0.3)
    assert usage.warnings == (
        "demo: other load used 30.0 % of the measured cpu 0 beyond the benchmark's own CPU time",
    )
    summary = noise.summary_line(usage)
    assert summary.startswith("steal 0.0 %, other load 30.0 % on measured cpu 0, largest drift")


def server_phase(loadgen_seconds: float) -> ServerPhase:
    return ServerPhase(
        phase="rate=100",
        ok=True,
        offered_rps=100.0,
        achieved_rps=100.0,
        duration_seconds=3.0,
        started_at_seconds=1.0,
        requests=300,
        errors=0,
        status_counts={"200": 300},
        latency=None,
        latency_histogram="",
        latency_windows=(),
        server_user_seconds=3.0,
        server_sys_seconds=0.0,
        server_peak_rss_bytes=1,
        server_samples=(),
        gc_cycles=None,
        loadgen_user_seconds=loadgen_seconds,
        loadgen_sys_seconds=0.0,
    )


def test_a_servers_load_generator_counts_on_the_harness_cpus():
    # servers used 9 s of cpu 0; the load generator 3 s and the harness 1 s of cpu 1; the
    # harness reaped both, so the children's 12 s include the generator's 3 s
    impls = [replace(impl_result(lang), phases=(server_phase(1.5),)) for lang in ("go", "rust")]
    result = replace(
        workload_result(impls=impls),
        kind="server",
        cpu_window=cpu_window(rest_busy=400, children=12.0),
    )
    usage = noise.workload_noise(result, (0,), THRESHOLD).usage
    assert usage.measured_other_share == pytest.approx(0.0)
    assert usage.rest_other_share == pytest.approx(0.0)
    plain = noise.window_usage(replace(result, implementations=()), (0,))
    assert plain.rest_other_share == pytest.approx(0.3)  # without the generator: 3 s unexplained


def test_a_proxys_upstream_apart_counts_on_the_harness_cpus_too():
    # As above, plus an upstream on cpu 1 (cpus = "apart") that used 1 s beside each proxy's
    # phase and 0.5 s answering each direct phase, whose load generator used 0.5 s: 4 s more
    # reaped, all spent on cpu 1.
    upstream = BackendRecord(
        name="upstream",
        lang="rust",
        path="http-json",
        library="axum",
        protocol="http",
        transport="tcp",
        cpus_policy="apart",
        build=build_record("rust", "backend-upstream"),
    )
    phase = replace(server_phase(1.5), backend_user_seconds=0.6, backend_sys_seconds=0.4)
    direct = replace(server_phase(0.5), server_user_seconds=0.5)
    impls = [
        replace(impl_result(lang), phases=(phase,), direct_phases=(direct,), backend=upstream)
        for lang in ("go", "rust")
    ]
    result = replace(
        workload_result(impls=impls),
        kind="server",
        cpu_window=cpu_window(rest_busy=800, children=16.0),
    )
    usage = noise.workload_noise(result, (0,), THRESHOLD).usage
    assert usage.measured_other_share == pytest.approx(0.0)
    assert usage.rest_other_share == pytest.approx(0.0)


def test_an_ab_session_pools_base_and_head_in_their_shared_rounds():
    def side(slot_of_go: int, run_id: str) -> Run:
        impls = [
            impl_result("go", reps=timed_reps(jittered(1.0), slot=slot_of_go, n_slots=4)),
            impl_result("rust", reps=timed_reps(jittered(0.5), slot=slot_of_go + 1, n_slots=4)),
        ]
        result = replace(workload_result(impls=impls), cpu_window=cpu_window())
        return replace(run([result], run_id=run_id), session_id="s1", system=system_state())

    session = noise.session_noise(side(0, "r-base"), side(2, "r-head"), THRESHOLD)
    (workload,) = session.workloads
    assert sorted(workload.drifts) == [
        "go/default (base)",
        "go/default (head)",
        "rust/default (base)",
        "rust/default (head)",
    ]
    assert workload.position.n == 48 and sorted(workload.position.median_by_position) == [
        0,
        1,
        2,
        3,
    ]
    assert session.warnings == (
        "CPU frequency governor is powersave on cpu 1, not performance; the clock may change"
        " during the run",
    )
