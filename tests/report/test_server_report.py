"""What the report, the run summary and the decision evidence say about server phases: one row per
offered rate with medians over replicates and their CIs, unusable rates shown with their reasons
but never quoted, the closed-loop probe labelled closed loop, and files from before replicated
phases still rendered (each rate's one phase as replicate 1)."""

import re
from dataclasses import replace

import pytest
from builders import gc_cycle, replicated, server_phase, server_run, server_workload
from markupsafe import escape

from harness.analysis import replicates
from harness.analysis.decision import largest_go_pause, server_tails
from harness.analysis.summaries import analyse_run
from harness.cli.summary import print_summary
from harness.model import LatencyWindow, PhaseLength, PhaseSizing, RequestCounts
from harness.report.html import build_context, render
from harness.report.sections import gc_and_memory, summary
from harness.report.servers import CONSOLE_COLUMNS, console_rows

MISSED = "achieved 1900 req/s < 99 % of offered 2000"
BUSY = "load generator near its CPU limit: the server may be capable of more"


def flagged_run(go_top=None):
    """A file from before replicated phases (replicate None everywhere): both reach 1000 req/s
    cleanly; at 2000 Go falls behind (or `go_top` replaces its phase)."""
    go = [
        server_phase(None, 5000),
        server_phase(1000, 1000, p50=0.001, p999=0.010),
        go_top or server_phase(2000, 1900, p50=0.050, p999=0.121, flags=(MISSED,)),
    ]
    rust = [
        server_phase(None, 9000),
        server_phase(1000, 1000, p50=0.0005, p999=0.002),
        server_phase(2000, 2000, p50=0.0006, p999=0.003),
    ]
    return server_run([server_workload(go, rust)])


def replicated_run(rates_source="fractions 25/50/75/90 % of the slower default's saturation"):
    """Three replicates per rate. Go's replicate 2 at 2000 req/s fell behind (that rate is not
    usable); 4500 req/s is usable but above 80 % of Go's median saturation (5000), so the headline
    rate is 3000. Go's p99 at 3000: 4.1, 4.7, 4.3 ms -> median 4.3 ms; Rust's 2.0, 2.1, 1.9 ms.
    Paired Go/Rust p99 ratios 2.05, 2.238, 2.263 -> median 2.238 (2.24×)."""
    go = [
        server_phase(None, 5100),  # the selection pass's probe
        *replicated(
            1000,
            achieved=[1000] * 3,
            p50=[0.0010, 0.0012, 0.0011],
            p99=[0.003] * 3,
            p999=[0.006] * 3,
            flags=[(), (BUSY,), ()],
        ),
        *replicated(2000, achieved=[2000, 1900, 2000], p50=[0.002] * 3, flags=[(), (MISSED,), ()]),
        *replicated(
            3000,
            achieved=[3000] * 3,
            p50=[0.0015, 0.0016, 0.0014],
            p99=[0.0041, 0.0047, 0.0043],
            p999=[0.009, 0.010, 0.011],
        ),
        *replicated(4500, achieved=[4500] * 3, p50=[0.004] * 3, p99=[0.02] * 3, p999=[0.05] * 3),
        *replicated(None, achieved=[5000, 5200, 4800]),
    ]
    rust = [
        server_phase(None, 9000),
        *replicated(1000, achieved=[1000] * 3, p50=[0.0005] * 3, p99=[0.001] * 3, p999=[0.002] * 3),
        *replicated(2000, achieved=[2000] * 3, p50=[0.0006] * 3),
        *replicated(
            3000,
            achieved=[3000] * 3,
            p50=[0.0007, 0.0008, 0.0007],
            p99=[0.0020, 0.0021, 0.0019],
            p999=[0.004, 0.005, 0.004],
        ),
        *replicated(4500, achieved=[4500] * 3, p50=[0.0008] * 3, p99=[0.003] * 3, p999=[0.005] * 3),
        *replicated(None, achieved=[9000, 9100, 8900]),
    ]
    workload = replace(
        server_workload(go, rust),
        offered_rates_rps=(1000.0, 2000.0, 3000.0, 4500.0),
        rates_source=rates_source,
    )
    return server_run([workload])


def server_sentence(run) -> str:
    (group,) = summary(list(analyse_run(run)))
    (sentence,) = group["sentences"]
    return sentence


def tables(page: str) -> dict[str, str]:
    """caption -> the table's body, for the tables of the page."""
    return {
        caption: body
        for caption, body in re.findall(r"<caption>(.*?)</caption>(.*?)</table>", page, re.S)
    }


def table(page: str, prefix: str) -> str:
    (body,) = [body for caption, body in tables(page).items() if caption.startswith(prefix)]
    return body


def rate_rows(page: str) -> list[str]:
    """The rate table's rows (not its notes), each as its HTML."""
    body = table(page, "Latency per offered rate").split("<tbody>")[1]
    rows = re.findall(r"<tr[^>]*>.*?</tr>", body, re.S)
    return [row for row in rows if not row.startswith('<tr class="flag-note"')]


# --- the headline rate ---------------------------------------------------------------------------


def test_headline_rate_is_the_highest_usable_rate_below_the_saturation_cap():
    go, rust = replicated_run().workloads[0].implementations
    assert replicates.usable_rates(go, rust) == (1000, 3000, 4500)
    assert replicates.headline_rate(go, rust) == 3000  # 4500 > 0.8 x 5000


def test_headline_rate_without_a_saturation_figure_is_the_highest_usable_rate():
    go, rust = replicated_run().workloads[0].implementations
    no_probe = [replace(p, ok=False) if p.phase == "saturation" else p for p in go.phases]
    assert replicates.headline_rate(replace(go, phases=tuple(no_probe)), rust) == 4500


# --- the summary sentence ------------------------------------------------------------------------


def test_summary_sentence_quotes_medians_with_cis_at_the_headline_rate():
    sentence = server_sentence(replicated_run())
    assert "at 3,000 req/s p99 Go 4.3 ms [4.1, 4.7] vs Rust 2 ms [1.9, 2.1]" in sentence
    assert "Go/Rust 2.24× [2.05, 2.26], significant" in sentence
    assert "medians over 3 replicates" in sentence
    assert "closed-loop saturation Go 5,000 [4,800, 5,200] vs Rust 9,000 [8,900, 9,100]" in sentence
    assert "medians of 3 probes each" in sentence
    assert "2,000" not in sentence and "4,500" not in sentence


def test_summary_sentence_skips_a_rate_with_one_bad_replicate():
    run = replicated_run()
    workload = run.workloads[0]
    go, rust = workload.implementations
    # Only 1000 and 2000 left: 2000 has Go's replicate 2 behind, so 1000 is quoted.
    keep = [p for p in go.phases if p.offered_rps in (None, 1000, 2000)]
    run = replace(
        run,
        workloads=(replace(workload, implementations=(replace(go, phases=tuple(keep)), rust)),),
    )
    sentence = server_sentence(run)
    assert "at 1,000 req/s" in sentence and "2,000" not in sentence


def test_summary_sentence_of_an_old_file_says_one_replicate_and_no_ci():
    sentence = server_sentence(flagged_run())
    assert "at 1,000 req/s" in sentence and "2,000" not in sentence
    assert "one replicate each, no CI" in sentence
    assert "one probe each" in sentence
    assert "[" not in sentence  # no interval from one value


def test_summary_sentence_skips_a_rate_with_failed_requests():
    with_errors = server_phase(2000, 2000, errors=5, flags=("5 failed requests: 5 timeouts",))
    sentence = server_sentence(flagged_run(go_top=with_errors))
    assert "at 1,000 req/s" in sentence and "2,000" not in sentence


def test_summary_sentence_says_so_when_no_rate_is_usable():
    run = flagged_run()
    workload = run.workloads[0]
    go = workload.implementations[0]
    behind = tuple(
        replace(p, achieved_rps=0.9 * p.offered_rps) if p.offered_rps else p for p in go.phases
    )
    run = replace(
        run,
        workloads=(
            replace(
                workload, implementations=(replace(go, phases=behind), workload.implementations[1])
            ),
        ),
    )
    sentence = server_sentence(run)
    assert "no offered rate where every replicate on both sides met the rate" in sentence
    assert "p99 Go" not in sentence


def test_decision_evidence_uses_the_same_rate():
    (tail,) = server_tails(list(analyse_run(flagged_run())))
    assert tail.offered_rps == 1000
    (tail,) = server_tails(list(analyse_run(replicated_run())))
    assert tail.offered_rps == 3000
    assert tail.go_p999_seconds == 0.010  # median of 9, 10, 11 ms


# --- the report ----------------------------------------------------------------------------------


def test_report_shows_one_row_per_rate_with_medians_and_cis():
    page = render(build_context(replicated_run()))
    rows = rate_rows(page)
    rates = [re.search(r'<td class="num">([\d,]+)</td>', row).group(1) for row in rows]
    assert rates == ["1,000", "2,000", "3,000", "4,500"]  # three replicates each, one row
    (at_3000,) = [row for row in rows if ">3,000<" in row]
    assert '<td class="num">4.3 ms [4.1, 4.7]</td>' in at_3000  # Go's p99 median and CI
    assert "3/3" in at_3000
    assert "2.24× [2.05, 2.26]<br><small>significant (p = 0.0016" in at_3000


def test_report_shows_a_rate_with_one_bad_replicate_with_its_reason_and_no_ratio():
    page = render(build_context(replicated_run()))
    (at_2000,) = [row for row in rate_rows(page) if ">2,000<" in row]
    assert '<td class="num">2/3</td>' in at_2000
    assert "no ratio: not every replicate usable" in at_2000
    assert "×" not in at_2000
    body = table(page, "Latency per offered rate")
    assert (
        "Not usable, so not quoted in the summary, ratios or verdicts: go/default replicate 2: "
        "achieved 1,900 req/s &lt; 99 % of offered 2,000" in body
    )


def test_report_labels_saturation_closed_loop_with_a_median_over_probes():
    page = render(build_context(replicated_run()))
    found = tables(page)
    (caption,) = [c for c in found if c.startswith("Saturation:")]
    assert "closed loop" in caption and "not corrected for coordinated omission" in caption
    assert "5,000 [4,800, 5,200]" in found[caption]
    assert "3 of 3 succeeded" in found[caption]


def test_report_keeps_every_replicate_with_its_flags_behind_a_disclosure():
    page = render(build_context(replicated_run()))
    details = page.split("<details>")[1].split("</details>")[0]
    fixed = table(details, "Fixed-rate phases")
    assert fixed.count("<td>rate=") == 24  # 4 rates x 3 replicates x 2 implementations
    assert "<td>rate=1000</td><td>2</td>" in fixed
    assert "⚠ load generator near its CPU limit" in fixed
    closed = table(details, "Closed-loop phases")
    assert "closed loop" in re.search(r"<caption>Closed-loop phases[^<]*", details).group(0)
    assert closed.count("<td>selection pass</td>") == 2
    assert "open loop" not in closed
    # The headline tables do not carry the flags.
    assert "load generator near" not in table(page, "Latency per offered rate")


def test_report_escapes_the_rates_source():
    page = render(build_context(replicated_run(rates_source="<script>x</script> fixed")))
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt; fixed" in page


def test_report_of_an_old_file_shows_each_rate_as_one_replicate():
    page = render(build_context(flagged_run()))
    rows = rate_rows(page)
    assert len(rows) == 2
    (at_1000,) = [row for row in rows if ">1,000<" in row]
    assert at_1000.count("1/1") == 2
    assert "[" not in re.sub(r"<small>.*?</small>", "", at_1000)  # one value: no interval
    (at_2000,) = [row for row in rows if ">2,000<" in row]
    assert "0/1" in at_2000 and "no ratio" in at_2000
    assert "not recorded (a file from before schema 5)" in page
    details = page.split("<details>")[1]
    assert "<td>rate=1000</td><td>1</td>" in details


def test_run_summary_has_one_row_per_rate_and_labels_the_probe_closed_loop(capsys):
    print_summary(replicated_run())
    out = capsys.readouterr().out
    assert out.count("saturation (closed") == 2  # one row per implementation, not per probe
    assert out.count("3,000 req/s") == 2
    assert "4.3 ms" in out
    assert "5,000" in out  # Go's median saturation


def test_run_summary_of_an_old_file(capsys):
    print_summary(flagged_run())
    out = capsys.readouterr().out
    assert out.count("saturation (closed") == 2
    assert out.count("1,000 req/s") == 2


def test_report_shows_each_servers_observed_transport():
    run = flagged_run()
    workload = run.workloads[0]
    seen = {"listen backlog": "4096", "TCP_NODELAY": "on", "SO_KEEPALIVE": "off"}
    go, rust = workload.implementations
    impls = (replace(go, transport=seen), rust)  # Rust's from a file before schema 4
    page = render(
        build_context(replace(run, workloads=(replace(workload, implementations=impls),)))
    )
    servers = table(page, "Servers")
    assert "<td>listen backlog 4096, TCP_NODELAY on, SO_KEEPALIVE off</td>" in servers
    assert "<td>not recorded</td>" in servers


def test_gc_section_has_one_row_per_rate_and_no_probe_pauses():
    go = [
        *replicated(None, achieved=[5000, 5000], gc=[(gc_cycle(1, pause=0.040),), None]),
        *replicated(
            1000,
            achieved=[1000, 1000],
            gc=[(gc_cycle(1, pause=0.002),), (gc_cycle(1, pause=0.006), gc_cycle(2))],
        ),
    ]
    rust = replicated(1000, achieved=[1000, 1000])
    run = server_run([server_workload(go, rust)])
    found = gc_and_memory(run, analyse_run(run))
    (go_row, rust_row) = found["rows"]
    assert go_row["workload"] == "api 1,000 req/s (2 replicates)"
    assert go_row["gc"] == "1.5"  # median of 1 and 2 cycles
    assert go_row["max_pause"] == "6 ms"  # the probe's 40 ms is not a fixed-rate phase
    assert rust_row["gc"] == "no GC"
    assert "Across 3 Go GC cycles" in found["reading"][0]


def test_console_report_and_decision_take_gc_figures_from_the_same_replicates():
    # Go's replicate 2 at 1000 req/s ran under 4 % CPU steal and holds the run's longest pause
    # (30 ms, stretched by the hypervisor like its requests). It is set aside for latency, so it is
    # for GC too: the console, the report's GC table and the decision matrix all quote 6 ms.
    go = [
        *replicated(
            1000,
            achieved=[1000, 1000, 1000],
            gc=[
                (gc_cycle(1, pause=0.002),),
                (gc_cycle(1, pause=0.030),),
                (gc_cycle(1, pause=0.006), gc_cycle(2)),
            ],
        ),
        *replicated(None, achieved=[5000, 5000, 5000]),
    ]
    rust = [
        *replicated(1000, achieved=[1000, 1000, 1000]),
        *replicated(None, achieved=[9000, 9000, 9000]),
    ]
    run = with_steal(server_run([server_workload(go, rust)]), 0, 1000, 2, 0.04)
    analyses = analyse_run(run)
    console = {row[1]: row for row in console_rows(run.workloads[0]) if row[2] == "1,000 req/s"}
    report_row = gc_and_memory(run, analyses)["rows"][0]
    pause = largest_go_pause(analyses)
    assert console["go/default"][CONSOLE_COLUMNS.index("GC max pause")] == "6 ms"
    assert report_row["max_pause"] == "6 ms"
    assert report_row["workload"] == "api 1,000 req/s (2 replicates)"
    assert pause is not None and pause.seconds == pytest.approx(0.006)


def test_cpu_per_request_divides_by_answered_responses_not_the_unsent_in_the_histogram():
    # 1,000 answered (990 + 10 with another status) and 500 unsent: the histogram holds all 1,500
    # (the unsent at a lower bound), but the server worked for the 1,000 answers only.
    counts = RequestCounts(
        expected_status=990,
        unexpected_status=10,
        timeouts=0,
        deadline_aborts=0,
        other_errors=0,
        unsent=500,
    )
    phase = replace(server_phase(100.0, 100.0, cpu=2.0, duration=15.0), request_counts=counts)
    assert phase.latency.count == 1500
    assert replicates.cpu_per_request(phase) == 2.0 / 1000
    # a file from before schema 4 has no counts: its histogram held answered requests only
    old = server_phase(100.0, 100.0, cpu=2.0, duration=10.0)
    assert replicates.cpu_per_request(old) == 2.0 / 1000


# --- replicates disturbed from outside ----------------------------------------------------------


def with_steal(run, lang_index: int, rate: float, replicate: int, share: float):
    """`run` with one phase's steal share set (implementation by index, phase by rate/replicate)."""
    workload = run.workloads[0]
    impls = list(workload.implementations)
    impl = impls[lang_index]
    impls[lang_index] = replace(
        impl,
        phases=tuple(
            replace(p, steal_share=share)
            if p.offered_rps == rate and p.replicate == replicate
            else p
            for p in impl.phases
        ),
    )
    return replace(run, workloads=(replace(workload, implementations=tuple(impls)),))


def test_a_replicate_disturbed_by_steal_is_set_aside_and_the_rate_stays_usable():
    # Go's replicate 2 at 3000 req/s (p99 4.7 ms) had 4 % steal: the median of 4.1 and 4.3 ms is
    # 4.2 ms, and the ratio pairs replicates 1 and 3 only.
    run = with_steal(replicated_run(), 0, 3000, 2, 0.04)
    go, rust = run.workloads[0].implementations
    (found,) = [s for s in replicates.rate_summaries(go) if s.offered_rps == 3000]
    assert found.replicates == (1, 3)
    assert found.usable
    assert found.latency["p99"].median == pytest.approx(0.0042)
    assert found.set_aside == (
        "replicate 2: CPU steal 4.0% of the phase's CPU time (over 1%: the hypervisor stopped "
        "this machine, not the server)",
    )
    assert 3000 in replicates.usable_rates(go, rust)
    ratio = replicates.replicate_ratio(go, rust, "latency_p99_seconds", 3000)
    assert ratio.rounds == 2
    page = render(build_context(run))
    body = table(page, "Latency per offered rate")
    assert (
        "Set aside, left out of the medians and ratios: go/default replicate 2: CPU steal 4.0%"
        in body
    )
    assert "1 set aside in this workload" in page


def test_steal_at_or_below_one_percent_changes_nothing():
    run = with_steal(replicated_run(), 0, 3000, 2, 0.01)
    go, _ = run.workloads[0].implementations
    (found,) = [s for s in replicates.rate_summaries(go) if s.offered_rps == 3000]
    assert found.replicates == (1, 2, 3) and found.set_aside == ()


def test_a_rate_whose_every_replicate_was_disturbed_keeps_them_all_and_is_not_usable():
    run = replicated_run()
    for replicate in (1, 2, 3):
        run = with_steal(run, 1, 3000, replicate, 0.05)
    go, rust = run.workloads[0].implementations
    (found,) = [s for s in replicates.rate_summaries(rust) if s.offered_rps == 3000]
    assert found.replicates == (1, 2, 3) and found.set_aside == ()
    assert not found.usable
    assert found.exclusions == ("every replicate was disturbed by CPU steal",)
    assert 3000 not in replicates.usable_rates(go, rust)


# --- a phase that ended before Go collected (kv-cache's [server] min_gc_cycles) ------------------


def gc_starved_run():
    """replicated_run with every Go phase required to contain 2 GC cycles: at 3000 req/s replicate
    1 contained only one, at 4500 every replicate two; the other rates none (each is
    unusable)."""
    run = replicated_run()
    workload = run.workloads[0]
    go, rust = workload.implementations

    def cycles(p):
        if p.offered_rps == 3000:
            return 1 if p.replicate == 1 else 2
        return 2 if p.offered_rps == 4500 else 0

    phases = tuple(
        replace(
            p,
            gc_cycles=tuple(gc_cycle(n + 1) for n in range(cycles(p))),
            gc_cycles_required=2,
            # real phases have latency windows; the latency-over-time chart plots them
            latency_windows=(LatencyWindow(1.0, 100, 0.001, 0.002, 0.003),),
        )
        if p.phase.startswith("rate=")
        else p
        for p in go.phases
    )
    return replace(
        run, workloads=(replace(workload, implementations=(replace(go, phases=phases), rust)),)
    )


def test_a_go_phase_with_fewer_gc_cycles_than_required_keeps_its_rate_out_of_every_verdict():
    run = gc_starved_run()
    go, rust = run.workloads[0].implementations
    assert replicates.usable_rates(go, rust) == (4500,)
    # The only usable rate is above the saturation cap, so it is the headline (the lowest usable).
    assert replicates.headline_rate(go, rust) == 4500
    (tail,) = server_tails(list(analyse_run(run)))
    assert tail.offered_rps == 4500
    sentence = server_sentence(run)
    assert "at 4,500 req/s" in sentence and "3,000 req/s" not in sentence
    page = render(build_context(run))
    assert "replicate 1: contained 1 Go GC cycle (&lt; 2)" in page
    assert "its latencies are Go&#39;s between-collection ones only" in page


def test_enough_gc_cycles_or_no_requirement_changes_nothing():
    go = replicated_run().workloads[0].implementations[0]
    phase = next(p for p in go.phases if p.offered_rps == 1000)
    two = replace(phase, gc_cycles=(gc_cycle(1), gc_cycle(2)), gc_cycles_required=2)
    assert replicates.phase_analysis.headline_exclusions(two) == ()
    none_required = replace(phase, gc_cycles=(), gc_cycles_required=None)
    assert replicates.phase_analysis.headline_exclusions(none_required) == ()


# --- CPU sets, worker settings, shared CPUs and phase lengths -----------------------------------


def test_the_method_states_the_cpu_sets_and_the_worker_settings_of_both_runtimes():
    run = replicated_run()
    two = replace(run.config.server, server_cpus=(0, 1), loadgen_cpus=None, parallelism=2)
    page = render(build_context(replace(run, config=replace(run.config, server=two))))
    assert (
        "server CPUs 0,1, load generator unpinned (the harness CPUs, inherited); 2 workers on "
        "both runtimes (HARNESS_CPUS=2; Go GOMAXPROCS=2; Rust TOKIO_WORKER_THREADS=2, "
        "RAYON_NUM_THREADS=2;" in page
    )
    # the builders' settings: one server CPU, the load generator on the other
    assert "server CPU 1, load generator CPU 0; 1 worker on both runtimes" in render(
        build_context(run)
    )


def test_phases_whose_load_generator_shared_a_server_cpu_are_flagged_and_disclosed(capsys):
    run = replicated_run()
    workload = run.workloads[0]
    shared = (
        "server and load generator shared CPU(s) 0,1: the load generator's CPU time competed "
        "with the server's"
    )
    impls = tuple(
        replace(impl, phases=tuple(replace(p, shared_cpus=(0, 1)) for p in impl.phases))
        for impl in workload.implementations
    )
    total = sum(len(i.phases) for i in impls)
    sharing = replace(run, workloads=(replace(workload, implementations=impls),))
    page = render(build_context(sharing))
    shown = escape(shared)
    assert (
        f'<p class="warning">⚠ {shown} ({total} of {total} phases, each flagged in the phase tables;'
        in page
    )
    details = page.split("<details>")[1].split("</details>")[0]
    assert details.count(shown) == total  # beside every phase, with its other flags
    # a disclosure, not an exclusion: the usable rates stay usable
    assert "2.24× [2.05, 2.26]" in page
    # said once per workload in the run summary, not in every rate's notes
    print_summary(sharing)
    out = capsys.readouterr().out
    assert out.count("shared CPU(s)") == 1
    assert f"api: {shared} ({total} of {total} phases)" in out
    # apart (recorded, nothing shared) or not recorded (older files): no warning
    apart = tuple(
        replace(i, phases=tuple(replace(p, shared_cpus=()) for p in i.phases))
        for i in workload.implementations
    )
    for quiet in (apart, workload.implementations):
        page = render(
            build_context(replace(run, workloads=(replace(workload, implementations=quiet),)))
        )
        assert "shared CPU(s)" not in page


def test_the_phase_lengths_and_how_they_were_chosen_are_shown_with_each_capped_rate():
    run = replicated_run()
    workload = replace(
        run.workloads[0],
        phase_sizing=PhaseSizing(
            source="at least 2 x 1.5 Go GC cycles a phase at the GC rate of go/default's "
            "saturation probe (3 cycles in 350,000 requests, one per 116,667), at most 40 s",
            lengths=(
                PhaseLength(1000.0, 40.0, 350.0, capped=True),
                PhaseLength(3000.0, 10.0, 9.2),
            ),
            gc_cycles_per_request=3 / 350_000,
            gc_rate_from="go/default",
        ),
    )
    page = render(build_context(replace(run, workloads=(workload,))))
    assert (
        "Phase lengths (the same for every implementation at a rate): at least 2 x 1.5 Go GC "
        "cycles a phase at the GC rate of go/default&#39;s saturation probe (3 cycles in 350,000 "
        "requests, one per 116,667), at most 40 s: 1,000 req/s 40.0 s (capped: the GC rate asks "
        "for 350 s); 3,000 req/s 10.0 s." in page
    )
    # a file from before schema 9: the bounds it had
    assert (
        "Phase lengths (the same for every implementation at a rate): 3–3 s aiming at 100,000 "
        "requests (each rate&#39;s length not recorded before schema 9)"
        in render(build_context(run))
    )
