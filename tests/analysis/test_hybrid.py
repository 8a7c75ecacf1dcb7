"""The hybrid analysis (harness/analysis/hybrid.py): break-even and boundary overhead on hand-computed data,
the Hybrid report section, and the decision matrix's hybrid lean citing the measured figures."""

from __future__ import annotations

from dataclasses import replace

import pytest
from builders import impl_result, repetition, run, workload_result

from harness.analysis import hybrid
from harness.analysis.decision import CATEGORY_NAMES, TeamConfig, collect_evidence, decide
from harness.analysis.hybrid import analyse_hybrids, break_even, paired_difference
from harness.report.html import build_context, render

# --- break_even: the first crossing from "hybrid slower" to "hybrid no slower" ------------------


def test_break_even_interpolates_the_first_crossing():
    # d = hybrid - go = [40, -10, -100]: crossing between 16 and 64 B,
    # G* = 16 + 40 * (64 - 16) / (40 - (-10)) = 16 + 1920 / 50 = 54.4
    assert break_even([16, 64, 256], [100, 150, 300], [60, 160, 400]) == ("crossing", 54.4)


def test_break_even_takes_the_first_of_several_crossings():
    # d = [10, -10, 5, -5]: first crossing between 1 and 2, G* = 1 + 10 * 1 / 20 = 1.5
    assert break_even([1, 2, 3, 4], [20, 10, 25, 15], [10, 20, 20, 20]) == ("crossing", 1.5)


def test_break_even_at_a_measured_grain_is_that_grain():
    # d = [30, 0]: the hybrid is no slower exactly at 64 B: G* = 16 + 30 * 48 / 30 = 64
    assert break_even([16, 64], [130, 200], [100, 200]) == ("crossing", 64.0)


def test_break_even_when_rust_pays_everywhere_or_nowhere():
    assert break_even([16, 64], [90, 100], [100, 200]) == ("every grain", None)
    assert break_even([16, 64], [100, 200], [100, 300]) == ("every grain", None)  # d = 0: no slower
    assert break_even([16, 64], [110, 210], [100, 200]) == ("no grain", None)


@pytest.mark.parametrize(
    ("grains", "hybrid_ns", "go_ns"),
    [([16, 64], [1.0], [1.0, 2.0]), ([64, 16], [1.0, 2.0], [1.0, 2.0]), ([], [], [])],
)
def test_break_even_refuses_malformed_input(grains, hybrid_ns, go_ns):
    with pytest.raises(ValueError):
        break_even(grains, hybrid_ns, go_ns)


def test_paired_difference_uses_common_rounds_only():
    # rounds 0-2 are on both sides: differences 2, 3, 4 -> median 3; round 3 has no partner
    estimate = paired_difference({0: 10.0, 1: 12.0, 2: 14.0}, {0: 8.0, 1: 9.0, 2: 10.0, 3: 99.0})
    assert estimate is not None
    assert (estimate.value, estimate.n) == (3.0, 3)
    assert 2.0 <= estimate.low <= 3.0 <= estimate.high <= 4.0
    assert estimate.excludes_zero
    assert paired_difference({0: 1.0}, {1: 1.0}) is None


# --- over results -------------------------------------------------------------------------------

# per-call ns by grain: Go 100 / 1000, Rust 60 / 700, Go->Rust = Rust + 50 (+ round jitter at 1 KiB)
CALLS = 1000
PER_CALL = {
    "go": {16: 100.0, 1024: 1000.0},
    "rust": {16: 60.0, 1024: 700.0},
    "hybrid": {16: 110.0, 1024: 750.0},
}


def _grain_reps(per_call: dict[int, float], rounds=4, cpu_share=None):
    """Repetitions reporting every grain's wall time, and its CPU time when `cpu_share` is given
    (CPU = wall x cpu_share, as if other load had taken the rest)."""
    reps = []
    for r in range(rounds):
        extra = {}
        for grain, ns in per_call.items():
            extra[f"g{grain}_seconds"] = ns * CALLS * 1e-9
            if cpu_share is not None:
                extra[f"g{grain}_cpu_seconds"] = ns * cpu_share * CALLS * 1e-9
            extra[f"g{grain}_calls"] = float(CALLS)
        reps.append(repetition(rep=r, extra=extra))
    return reps


def _hybrid_result(reps=(), status="ok", skip_reason=None):
    result = impl_result("go", "cgo-rust", reps=reps, status=status)
    build = replace(result.build, links="sha256-ffi", skip_reason=skip_reason)
    if skip_reason:
        build = replace(build, ok=False, error=f"skipped: {skip_reason}", binary_path=None)
    return replace(result, build=build)


def calls_workload(hybrid_result=None):
    return workload_result(
        name="sha256-calls",
        category="crypto",
        impls=[
            impl_result("go", reps=_grain_reps(PER_CALL["go"])),
            impl_result("rust", reps=_grain_reps(PER_CALL["rust"])),
            hybrid_result or _hybrid_result(_grain_reps(PER_CALL["hybrid"])),
        ],
    )


def parts_workload(large_ratio: float):
    def reps(small, large):
        return [
            repetition(rep=r, extra={"small_seconds": small, "large_seconds": large})
            for r in range(4)
        ]

    return workload_result(
        name="sha256",
        category="crypto",
        impls=[
            impl_result("go", reps=reps(0.6, 0.030)),
            impl_result("rust", reps=reps(0.5, 0.030)),
            _hybrid_result(reps(0.55, 0.030 * large_ratio)),
        ],
    )


def test_call_costs_from_raw_repetitions():
    (costs,) = hybrid.call_costs(calls_workload())
    assert costs.hybrid == "go/cgo-rust"
    assert [row.grain_bytes for row in costs.rows] == [16, 1024]
    small, large = costs.rows
    assert small.ns_per_call == pytest.approx(
        {"go/default": 100, "rust/default": 60, "go/cgo-rust": 110}
    )
    assert costs.overhead_ns is not None
    assert costs.overhead_ns.value == pytest.approx(50)  # 110 - 60 in every round
    assert costs.overhead_ns.n == 4
    assert large.overhead_ns.value == pytest.approx(50)
    assert large.versus_go_ns.value == pytest.approx(-250)
    # d = [10, -250]: G* = 16 + 10 * (1024 - 16) / 260 = 16 + 38.77 = 54.77
    assert costs.break_even == "crossing"
    assert costs.break_even_bytes == pytest.approx(16 + 10 * 1008 / 260)


def test_call_costs_use_cpu_time_when_every_program_reports_it():
    def workload_with(hybrid_share):
        return workload_result(
            name="sha256-calls",
            impls=[
                impl_result("go", reps=_grain_reps(PER_CALL["go"], cpu_share=0.5)),
                impl_result("rust", reps=_grain_reps(PER_CALL["rust"], cpu_share=0.5)),
                _hybrid_result(_grain_reps(PER_CALL["hybrid"], cpu_share=hybrid_share)),
            ],
        )

    (costs,) = hybrid.call_costs(workload_with(0.5))
    assert costs.clock == "cpu"
    assert costs.overhead_ns.value == pytest.approx(25)  # (110 - 60) x 0.5
    assert "more CPU time than" in hybrid.overhead_sentence(costs)
    (costs,) = hybrid.call_costs(workload_with(None))  # the hybrid reports no CPU time: wall
    assert costs.clock == "wall"
    assert costs.overhead_ns.value == pytest.approx(50)
    assert "more wall time than" in hybrid.overhead_sentence(costs)


def test_a_skipped_hybrid_gives_no_figures():
    skipped = _hybrid_result(status="skipped", skip_reason="the go+rust hybrid needs cgo, and X")
    assert hybrid.call_costs(calls_workload(skipped)) == ()
    analysis = analyse_hybrids(run([calls_workload(skipped)]))
    assert analysis.workloads == ("sha256-calls",) and analysis.call_costs == ()


def test_part_ratio_against_the_five_percent_target():
    (within,) = [p for p in hybrid.part_ratios(parts_workload(1.01)) if p.part == "large"]
    assert within.versus_rust.ratio == pytest.approx(1.01)
    assert within.within_target is True
    (beyond,) = [p for p in hybrid.part_ratios(parts_workload(1.08)) if p.part == "large"]
    assert beyond.within_target is False
    parts = {p.part for p in hybrid.part_ratios(parts_workload(1.0))}
    assert parts == {"whole work", "small", "large"}
    (whole,) = [p for p in hybrid.part_ratios(parts_workload(1.0)) if p.part == "whole work"]
    assert whole.medians_seconds == {"go/default": 0.9, "rust/default": 0.9, "go/cgo-rust": 0.9}


def test_headline_sentences_state_overhead_and_break_even():
    sentences = hybrid.headline_sentences(analyse_hybrids(run([calls_workload()])))
    text = " ".join(sentences)
    assert "50 ns [50, 50]" in text and "16 B per call" in text and "4 rounds" in text
    assert "Break-even grain: about 55 B per call" in text


def test_nanoseconds_formatting():
    assert hybrid.nanoseconds(52.14) == "52.1 ns"
    assert hybrid.nanoseconds(1234.0) == "1,234 ns"
    assert hybrid.nanoseconds(59_200.0) == "59.2 µs"
    assert hybrid.nanoseconds(None) == "–"


# --- report and decision ------------------------------------------------------------------------


def _team_for_hybrid() -> TeamConfig:
    """Strong pulls both ways (Go 2 from time to market, Rust 2 from latency): the conflict rule
    leans hybrid."""
    scores = dict.fromkeys(CATEGORY_NAMES, 3)
    scores.update(time_to_market=5, latency_determinism=5)
    return TeamConfig(source="team.toml", scores=scores, weights=dict.fromkeys(CATEGORY_NAMES, 1))


def test_report_has_a_hybrid_section_with_the_figures():
    the_run = run([calls_workload(), parts_workload(1.01)])
    context = build_context(the_run)
    section = context["hybrid"]
    assert section["present"]
    (table,) = section["grain_tables"]
    assert [r["grain"] for r in table["rows"]] == ["16 B", "1,024 B"]
    assert table["rows"][0]["overhead"] == "50 ns [50, 50]"
    html = render(context)
    body = html[html.index('<section id="hybrid">') :]
    body = body[: body.index("</section>")]
    assert "Break-even grain" in body and "within the 5 % target" in body
    assert "go/cgo-rust (go+rust)" in body
    assert 'href="#hybrid"' in html


def test_report_says_when_no_hybrid_was_measured():
    html = render(build_context(run([parts_workload(1.0)])))
    assert 'id="hybrid"' in html
    plain = run([workload_result(impls=[impl_result("go"), impl_result("rust")])])
    body = render(build_context(plain))
    assert "No workload of this run has a go+rust implementation" in body


def test_report_shows_a_skipped_hybrid_as_skipped():
    skipped = _hybrid_result(status="skipped", skip_reason="the go+rust hybrid needs cgo, and Y")
    html = render(build_context(run([calls_workload(skipped)])))
    assert "SKIPPED" in html and "needs cgo, and Y" in html
    assert "BUILD FAILED" not in html


def test_hybrid_lean_cites_the_measured_figures():
    analysis = analyse_hybrids(run([calls_workload()]))
    decision = decide(_team_for_hybrid(), collect_evidence([], None, analysis))
    assert decision.lean == "hybrid"
    cited = [r for r in decision.reasons if r.startswith("Measured hybrid")]
    assert len(cited) == 1
    assert "50 ns" in cited[0] and "Break-even grain" in cited[0]


def test_hybrid_lean_without_a_measured_hybrid_says_so():
    decision = decide(_team_for_hybrid(), collect_evidence([], None, None))
    assert decision.lean == "hybrid"
    assert any("measured no go+rust hybrid" in r for r in decision.reasons)


def test_a_go_lean_does_not_cite_the_hybrid():
    scores = dict.fromkeys(CATEGORY_NAMES, 3)
    scores["time_to_market"] = 5
    team = TeamConfig(source="t", scores=scores, weights=dict.fromkeys(CATEGORY_NAMES, 1))
    analysis = analyse_hybrids(run([calls_workload()]))
    decision = decide(team, collect_evidence([], None, analysis))
    assert decision.lean == "Go"
    assert not any("hybrid" in r.lower() for r in decision.reasons[1:])
