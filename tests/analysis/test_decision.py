"""Decision matrix: the lean follows the scores, dominance, evidence from a run, validation."""

from dataclasses import dataclass, fields, replace

import pytest
from builders import (
    build_record,
    gc_cycle,
    impl_result,
    repetition,
    replicated,
    run,
    server_phase,
    server_run,
    server_workload,
    small_run,
)

from harness.analysis.capacity import DEFAULT_CONFIG, project_capacity
from harness.analysis.decision import (
    CATEGORY_NAMES,
    EXAMPLE_TEAM_PATH,
    NO_EVIDENCE,
    CategoryEvidence,
    Evidence,
    collect_evidence,
    decide,
    load_team_config,
    parse_team_config,
)
from harness.analysis.summaries import analyse_run
from harness.errors import HarnessError
from harness.model import BuildRecord

NEUTRAL = dict.fromkeys(CATEGORY_NAMES, 3)


def team(weights=None, **scores):
    data = {"scores": {**NEUTRAL, **scores}}
    if weights:
        data["weights"] = weights
    return parse_team_config(data, "team.toml")


def evidence(cost_ratios=None) -> Evidence:
    return Evidence(
        categories={name: CategoryEvidence(name, False, NO_EVIDENCE) for name in CATEGORY_NAMES},
        cost_ratios=dict(cost_ratios or {}),
    )


def contributions(decision):
    return {c.category: c.contribution for c in decision.categories}


# --- the lean follows the scores ---------------------------------------------------------------


def test_latency_safety_and_cost_pressure_lean_rust():
    d = decide(team(latency_determinism=5, memory_safety=5, resource_cost=5), evidence())
    assert d.scored and d.lean == "Rust"
    assert (d.rust_pull, d.go_pull, d.net) == (6, 0, 6)
    assert contributions(d) == {
        "time_to_market": 0,
        "latency_determinism": 2,
        "memory_safety": 2,
        "rust_experience": 0,
        "resource_cost": 2,
    }
    assert d.dominant == ("latency_determinism", "memory_safety", "resource_cost")
    assert d.reasons[0].startswith("Lean: Rust.")


def test_time_pressure_and_no_rust_experience_lean_go():
    d = decide(team(time_to_market=5, rust_experience=1), evidence())
    assert d.lean == "Go"
    assert (d.rust_pull, d.go_pull, d.net) == (0, 4, -4)
    assert contributions(d)["time_to_market"] == -2
    assert contributions(d)["rust_experience"] == -2
    assert d.dominant == ("time_to_market", "rust_experience")
    assert any("pulling toward Go" in r for r in d.reasons)


def test_strong_pulls_both_ways_are_hybrid():
    scores = {"time_to_market": 5, "rust_experience": 1, "latency_determinism": 5}
    d = decide(team(memory_safety=5, **scores), evidence())
    assert (d.rust_pull, d.go_pull) == (4, 4)
    assert d.lean == "hybrid"
    assert "Strong pulls both ways" in d.reasons[0]
    assert "Go for orchestration" in d.reasons[0]


def test_one_sided_conflict_beyond_two_to_one_is_not_hybrid():
    # Rust 8 vs Go 2: both sides pull, but Rust outweighs Go 4:1 -> Rust.
    scores = {"latency_determinism": 5, "memory_safety": 5, "resource_cost": 5}
    d = decide(team(time_to_market=5, rust_experience=5, **scores), evidence())
    assert (d.rust_pull, d.go_pull) == (8, 2)
    assert d.lean == "Rust"


def test_weights_scale_contributions_and_can_change_the_lean():
    scores = {"latency_determinism": 5, "memory_safety": 5, "time_to_market": 4}
    assert decide(team(**scores), evidence()).lean == "Rust"  # Rust 4, Go 1
    d = decide(team(weights={"time_to_market": 3}, **scores), evidence())
    assert contributions(d)["time_to_market"] == -3
    assert (d.rust_pull, d.go_pull) == (4, 3)
    assert d.lean == "hybrid"
    assert d.dominant == ("time_to_market",)  # |-3| beats 2 and 2


def test_near_neutral_with_a_measured_hot_path_is_hybrid():
    scores = {"resource_cost": 4, "time_to_market": 4}  # Rust 1, Go 1: net 0
    d = decide(team(**scores), evidence({"json": 2.0, "gzip": 0.9}))
    assert d.net == 0
    assert d.lean == "hybrid"
    assert "near-neutral" in d.reasons[0] and "json" in d.reasons[0] and "gzip" not in d.reasons[0]


def test_near_neutral_without_a_measured_hot_path_starts_with_go():
    scores = {"resource_cost": 4, "time_to_market": 4}
    assert decide(team(**scores), evidence({"json": 1.1})).lean == "Go"
    # A hot path alone does not make a hybrid when the team does not rate cost pressure high.
    d = decide(team(time_to_market=4), evidence({"json": 2.0}))
    assert d.lean == "Go"
    assert "near-neutral" not in d.reasons[0] or "start with Go" in d.reasons[0]
    assert any("candidates to extract into Rust" in r for r in d.reasons)


def test_all_neutral_scores_start_with_go_and_nothing_dominates():
    d = decide(team(), evidence())
    assert d.lean == "Go"
    assert d.dominant == ()
    assert "start with Go" in d.reasons[0]


# --- dominance -------------------------------------------------------------------------------


def test_ranking_by_absolute_contribution_then_category_order():
    d = decide(
        team(
            weights={"rust_experience": 2},
            time_to_market=2,  # +1 toward Rust (low pressure)
            latency_determinism=1,  # -2
            memory_safety=5,  # +2
            rust_experience=1,  # -4 at weight 2
            resource_cost=3,  # 0
        ),
        evidence(),
    )
    assert contributions(d) == {
        "time_to_market": 1,
        "latency_determinism": -2,
        "memory_safety": 2,
        "rust_experience": -4,
        "resource_cost": 0,
    }
    assert d.ranking == (
        "rust_experience",
        "latency_determinism",
        "memory_safety",
        "time_to_market",
        "resource_cost",
    )
    assert d.dominant == ("rust_experience",)
    assert "Dominant: the team's Rust experience (4, pulling toward Go)." in d.reasons


def test_reasons_cite_scores_and_evidence():
    ev = evidence()
    ev.categories["resource_cost"] = CategoryEvidence("resource_cost", True, "json 2.00×")
    d = decide(team(resource_cost=5), ev)
    assert (
        "Resource-cost pressure scored 5 of 5, pulling toward Rust by 2. Evidence: json 2.00×."
        in d.reasons
    )
    assert any(r.startswith("Scored 3 (neutral): time-to-market pressure") for r in d.reasons)


# --- no team scores --------------------------------------------------------------------------


def test_missing_team_config_gives_no_lean_and_says_how(tmp_path):
    assert load_team_config(None, default_path=tmp_path / "team.toml") is None
    d = decide(None, evidence())
    assert not d.scored and d.lean is None and d.categories == ()
    assert "No team scores were given" in d.message
    assert "config/team.example.toml" in d.message and "config/team.toml" in d.message
    assert "--team FILE" in d.message


def test_default_team_file_is_picked_up(tmp_path):
    path = tmp_path / "team.toml"
    path.write_text(EXAMPLE_TEAM_PATH.read_text())
    loaded = load_team_config(None, default_path=path)
    assert loaded is not None and loaded.source == str(path)


def test_explicit_missing_team_file_is_an_error(tmp_path):
    with pytest.raises(HarnessError, match=r"nope\.toml: cannot read team scores"):
        load_team_config(tmp_path / "nope.toml", default_path=tmp_path / "other.toml")


def test_example_file_is_valid_and_complete():
    example = load_team_config(EXAMPLE_TEAM_PATH)
    assert set(example.scores) == set(CATEGORY_NAMES)
    assert all(w == 1 for w in example.weights.values())


def test_the_example_budget_line_uncommented_is_a_top_level_budget(tmp_path):
    path = tmp_path / "team.toml"
    text = EXAMPLE_TEAM_PATH.read_text()
    assert "# p99_budget_ms = 10\n" in text
    path.write_text(text.replace("# p99_budget_ms = 10\n", "p99_budget_ms = 10\n"))
    assert load_team_config(path).p99_budget_ms == 10.0


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, r"^team.toml: missing table \[scores\]"),
        ({"scores": 4}, r"^team.toml: field 'scores' must be a table"),
        ({"scores": NEUTRAL, "notes": "x"}, r"^team.toml \(top level\): unknown field 'notes'"),
        (
            {"scores": {**NEUTRAL, "speed": 3}},
            r"^team.toml \[scores\]: unknown field 'speed'",
        ),
        (
            {"scores": {k: v for k, v in NEUTRAL.items() if k != "memory_safety"}},
            r"^team.toml \[scores\]: missing field 'memory_safety'",
        ),
        (
            {"scores": {**NEUTRAL, "time_to_market": 0}},
            r"^team.toml \[scores\]: field 'time_to_market' must be an integer 1–5, got 0",
        ),
        (
            {"scores": {**NEUTRAL, "resource_cost": 6}},
            r"^team.toml \[scores\]: field 'resource_cost' must be an integer 1–5",
        ),
        (
            {"scores": {**NEUTRAL, "memory_safety": 4.5}},
            r"^team.toml \[scores\]: field 'memory_safety' must be an integer 1–5",
        ),
        (
            {"scores": {**NEUTRAL, "memory_safety": True}},
            r"^team.toml \[scores\]: field 'memory_safety' must be an integer 1–5",
        ),
        (
            {"scores": {**NEUTRAL, "rust_experience": "4"}},
            r"^team.toml \[scores\]: field 'rust_experience' must be an integer 1–5",
        ),
        (
            {"scores": NEUTRAL, "weights": {"resource_cost": 4}},
            r"^team.toml \[weights\]: field 'resource_cost' must be an integer 1–3, got 4",
        ),
        (
            {"scores": NEUTRAL, "weights": {"cost": 2}},
            r"^team.toml \[weights\]: unknown field 'cost'",
        ),
        *(
            (
                {"scores": NEUTRAL, "p99_budget_ms": bad},
                r"^team.toml: field 'p99_budget_ms' must be a number of milliseconds above 0",
            )
            for bad in (0, -5, "10", True, float("inf"))
        ),
    ],
)
def test_validation_names_file_and_field(data, message):
    with pytest.raises(HarnessError, match=message):
        parse_team_config(data, "team.toml")


def test_a_p99_budget_is_optional_and_read_in_milliseconds():
    assert team().p99_budget_ms is None
    given = parse_team_config({"scores": NEUTRAL, "p99_budget_ms": 2.5}, "team.toml")
    assert given.p99_budget_ms == 2.5
    assert parse_team_config({"scores": NEUTRAL, "p99_budget_ms": 20}, "t").p99_budget_ms == 20.0


def test_invalid_toml_file(tmp_path):
    path = tmp_path / "team.toml"
    path.write_text("[scores]\ntime_to_market = \n")
    with pytest.raises(HarnessError, match=r"team\.toml: not valid TOML"):
        load_team_config(path)


# --- evidence from a run ---------------------------------------------------------------------


def server_evidence_run():
    go = [
        server_phase(None, 5000, p50=0.002, p999=0.5),  # saturation: not a common fixed rate
        server_phase(1000, 1000, p50=0.001, p999=0.008, gc=(gc_cycle(1, pause=0.004),)),
        server_phase(2000, 2000, p50=0.002, p999=0.040, flags=("p99.9 from 20000 requests",)),
    ]
    rust = [
        server_phase(1000, 1000, cpu=1.0, p50=0.0005, p999=0.002),
        server_phase(2000, 1990, cpu=1.5, p50=0.001, p999=0.005),
        server_phase(3000, 3000, cpu=2.0, p50=0.001, p999=0.006),  # Go has no such phase
    ]
    batch = small_run().workloads[0]  # Go GC pauses 1 ms and 3 ms per repetition
    return server_run([server_workload(go, rust), batch])


def test_latency_evidence_at_the_highest_common_rate():
    ev = collect_evidence(analyse_run(server_evidence_run()))
    (tail,) = ev.server_tails
    assert (tail.workload, tail.offered_rps) == ("api", 2000)
    assert tail.go_tail_ratio == pytest.approx(20.0)  # 40 ms / 2 ms
    assert tail.rust_tail_ratio == pytest.approx(5.0)  # 5 ms / 1 ms
    assert tail.caveats == ("Go: replicate 1: p99.9 from 20000 requests",)  # an old file
    latency = ev.categories["latency_determinism"]
    assert latency.measured
    assert "p99.9 Go 40 ms vs Rust 5 ms" in latency.summary
    # Largest Go pause: 4 ms in the server's phases beats the batch workload's 3 ms.
    assert ev.largest_go_pause.seconds == pytest.approx(0.004)
    assert ev.largest_go_pause.workload == "api"
    assert ev.largest_go_pause.pauses == 5  # 1 server + 2 x 2 batch
    assert "largest Go GC pause 4 ms (api)" in latency.summary


def test_tails_and_pauses_from_replicates_never_from_the_closed_loop_probes():
    go = [
        server_phase(None, 5000, gc=(gc_cycle(1, pause=0.050),)),  # selection pass
        *replicated(None, achieved=[5000, 5000], gc=[(gc_cycle(1, pause=0.040),), None]),
        *replicated(
            1000,
            achieved=[1000, 1000],
            p50=[0.001, 0.003],  # median 2 ms
            p999=[0.010, 0.030],  # median 20 ms
            gc=[(gc_cycle(1, pause=0.002),), (gc_cycle(1, pause=0.006), gc_cycle(2))],
        ),
    ]
    rust = replicated(1000, achieved=[1000, 1000], p50=[0.001, 0.001], p999=[0.004, 0.006])
    ev = collect_evidence(analyse_run(server_run([server_workload(go, rust)])))
    (tail,) = ev.server_tails
    assert (tail.go_p50_seconds, tail.go_p999_seconds) == (0.002, 0.020)
    assert tail.rust_p999_seconds == 0.005
    assert tail.replicate_count == 2
    assert "(medians over 2 replicates)" in tail.describe()
    assert ev.largest_go_pause.seconds == pytest.approx(0.006)  # not the probes' 50 or 40 ms
    assert ev.largest_go_pause.pauses == 3


def test_failed_server_gives_no_tail_evidence():
    go = [server_phase(1000, 1000)]
    workload = server_workload(go, go, go_status="failed")
    ev = collect_evidence(analyse_run(server_run([workload])))
    assert ev.server_tails == ()
    assert not ev.categories["latency_determinism"].measured


def test_judgement_categories_have_no_benchmark_evidence():
    ev = collect_evidence(analyse_run(small_run()))
    for name in ("memory_safety", "rust_experience"):
        assert ev.categories[name] == CategoryEvidence(name, False, NO_EVIDENCE)
    assert not ev.categories["resource_cost"].measured  # no capacity projection given
    ttm = ev.categories["time_to_market"]
    assert not ttm.measured and ttm.summary.startswith("no benchmark evidence")


@dataclass(frozen=True)
class TimedBuild(BuildRecord):
    """A build record from a harness that also times clean and incremental builds."""

    clean_build_seconds: float | None = None
    incremental_build_seconds: float | None = None


def timed_build(lang, **times) -> BuildRecord:
    """The build fields may or may not be in BuildRecord yet; decision.py reads them by getattr."""
    base = build_record(lang)
    if set(times) <= {f.name for f in fields(BuildRecord)}:
        return replace(base, **times)
    return TimedBuild(**{**vars(base), **times})


def test_build_times_are_evidence_when_recorded():
    go = replace(
        impl_result("go", reps=[repetition()]), build=timed_build("go", clean_build_seconds=2.0)
    )
    rust = replace(
        impl_result("rust", reps=[repetition()]),
        build=timed_build("rust", clean_build_seconds=30.0, incremental_build_seconds=3.0),
    )
    workload = replace(small_run().workloads[0], implementations=(go, rust))
    ttm = collect_evidence(analyse_run(run([workload]))).categories["time_to_market"]
    assert ttm.measured
    assert ttm.lines == ("demo: clean build Go 2 s vs Rust 30 s",)  # incremental: Go has none
    assert ttm.summary.startswith("median clean build Go 2 s vs Rust 30 s")


def test_cost_evidence_from_the_capacity_projection():
    test_run = small_run()  # Go 1e6 bytes per 1.0 CPU-s, Rust the same CPU, less memory
    projection = project_capacity(test_run, DEFAULT_CONFIG)
    ev = collect_evidence(analyse_run(test_run), projection)
    (row,) = projection.workloads
    assert ev.cost_ratios == {"demo": pytest.approx(row.go_rust_cost_ratio)}
    cost = ev.categories["resource_cost"]
    assert cost.measured and "demo" in cost.summary and "example prices" in cost.summary
    assert ev.hot_paths == ()  # same CPU per byte: not a hot path


def test_documented_examples_follow_the_rule():
    doc = (EXAMPLE_TEAM_PATH.parent.parent / "docs" / "decision-matrix.md").read_text()
    rows = [line for line in doc.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 6
    for row in rows:
        scores, rust_pull, go_pull, lean = (c.strip() for c in row.strip("|").split("|")[:4])
        d = decide(
            team(**dict(zip(CATEGORY_NAMES, map(int, scores.split()), strict=True))), evidence()
        )
        assert (d.rust_pull, d.go_pull) == (int(rust_pull), int(go_pull)), row
        assert d.lean == lean or (lean == "hybrid or Go" and d.lean == "Go"), row
