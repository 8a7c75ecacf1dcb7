from pathlib import Path

import pytest

from harness.measure.gctrace import parse_gctrace

FIXTURE = Path(__file__).parents[1] / "fixtures" / "gctrace_go1.26.txt"
MIB = 1 << 20


@pytest.fixture(scope="module")
def trace():
    return parse_gctrace(FIXTURE.read_text())


def test_fixture_cycle_count(trace):
    lines = FIXTURE.read_text().splitlines()
    gc_lines = [line for line in lines if line.startswith("gc ")]
    assert len(gc_lines) == 20  # two captured programs: 11 cycles, then 9
    assert len(trace.cycles) == len(gc_lines)
    assert trace.unrecognised_lines == ()


def test_fixture_forced_cycles(trace):
    forced = [c.number for c in trace.cycles if c.forced]
    # the second program ran runtime.GC() at cycles 4, 6, 8 and 9
    assert forced == [4, 6, 8, 9]
    assert [i for i, c in enumerate(trace.cycles) if c.forced] == [14, 16, 18, 19]


def test_fixture_one_line_hand_computed(trace):
    # gc 3 @0.074s 11%: 2.5+27+0.21 ms clock, 5.1+0/8.4/13+0.42 ms cpu, 25->28->10 MB, ...
    cycle = trace.cycles[2]
    assert cycle.number == 3
    assert cycle.at_seconds == pytest.approx(0.074)
    assert cycle.pause_seconds == pytest.approx((2.5 + 0.21) / 1000)
    assert cycle.concurrent_mark_seconds == pytest.approx(0.027)
    assert cycle.cpu_seconds == pytest.approx((5.1 + 0 + 8.4 + 13 + 0.42) / 1000)
    assert cycle.heap_start_bytes == 25 * 1048576
    assert cycle.heap_end_bytes == 28 * 1048576
    assert cycle.heap_live_bytes == 10 * 1048576
    assert cycle.forced is False


def test_fixture_forced_line_hand_computed(trace):
    # gc 4 @0.007s 6%: 0.13+0.45+0.002 ms clock, 0.26+0/0.15/0.28+0.004 ms cpu, 20->20->20 MB ... (forced)
    cycle = trace.cycles[14]
    assert (cycle.number, cycle.forced) == (4, True)
    assert cycle.pause_seconds == pytest.approx(0.132e-3)
    assert cycle.cpu_seconds == pytest.approx(0.694e-3)
    assert cycle.heap_live_bytes == 20 * MIB


def test_non_gc_lines_ignored():
    text = (
        "forcedgc: starting\n"
        "panic: something else\n"
        "gcfoo 1 @0.1s\n"
        "\n"
        "gc 1 @0.006s 6%: 0.17+12+0.033 ms clock, 0.34+0/2.5/4.5+0.066 ms cpu, 3->6->6 MB, "
        "4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n"
    )
    trace = parse_gctrace(text)
    assert len(trace.cycles) == 1
    assert trace.cycles[0].pause_seconds == pytest.approx(0.203e-3)
    assert trace.unrecognised_lines == ()


def test_empty_input():
    trace = parse_gctrace("")
    assert trace.cycles == ()
    assert trace.unrecognised_lines == ()


def test_malformed_gc_line_is_reported():
    bad = "gc 5 @0.196s 8%: 0.11+18 ms clock, garbage"
    text = (
        "gc 4 @0.124s 7%: 2.1+53+0.21 ms clock, 0.96+0.96/2.9/13+0.42 ms cpu, 18->23->12 MB, "
        "21 MB goal, 2 P\n" + bad + "\n"
    )
    trace = parse_gctrace(text)
    assert [c.number for c in trace.cycles] == [4]
    assert trace.unrecognised_lines == (bad,)


def test_a_cut_off_last_line_is_an_incomplete_cycle_not_a_format_change():
    complete = "gc 1 @0.010s 1%: 0.010+1.0+0.020 ms clock, 0.020+0.1/0.5/0.3+0.040 ms cpu, 4->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 1 P\n"
    trace = parse_gctrace(complete + "gc 2 @0.020s 2%: 0.011+")
    assert [c.number for c in trace.cycles] == [1]
    assert trace.unrecognised_lines == ()
    # the same cut-off text in the middle of the output is reported
    trace = parse_gctrace("gc 2 @0.020s 2%: 0.011+\n" + complete)
    assert trace.unrecognised_lines == ("gc 2 @0.020s 2%: 0.011+",)
