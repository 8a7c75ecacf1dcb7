"""What the report, the run summary and the decision evidence say about server phases: flagged
phases are shown but never quoted, and the closed-loop probe is labelled closed loop."""

import re
from dataclasses import replace

from test_capacity import server_phase, server_run, server_workload

from harness import cli
from harness.analysis import analyse_run
from harness.decision import server_tails
from harness.report import build_context, render
from harness.sections import summary

MISSED = "achieved 1900 req/s < 99 % of offered 2000"


def flagged_run(go_top=None):
    """Both reach 1000 req/s cleanly; at 2000 Go falls behind (or `go_top` replaces its phase)."""
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


def server_sentence(run) -> str:
    (group,) = summary(list(analyse_run(run)))
    (sentence,) = group["sentences"]
    return sentence


def test_summary_sentence_skips_a_rate_one_side_did_not_meet():
    sentence = server_sentence(flagged_run())
    assert "at 1,000 req/s" in sentence
    assert "2,000" not in sentence


def test_summary_sentence_skips_a_rate_with_failed_requests():
    with_errors = server_phase(2000, 2000, errors=5, flags=("5 failed requests: 5 timeouts",))
    sentence = server_sentence(flagged_run(go_top=with_errors))
    assert "at 1,000 req/s" in sentence and "2,000" not in sentence


def test_summary_sentence_says_so_when_no_rate_is_clean():
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
    assert "no offered rate that both met without a failed request" in sentence
    assert "p99 Go" not in sentence


def test_decision_evidence_uses_the_same_rule():
    (tail,) = server_tails(list(analyse_run(flagged_run())))
    assert tail.offered_rps == 1000


def tables(page: str) -> dict[str, str]:
    """caption -> the table's body, for the tables of the page."""
    return {
        caption: body
        for caption, body in re.findall(r"<caption>(.*?)</caption>(.*?)</table>", page, re.S)
    }


def test_report_puts_the_closed_loop_probe_under_its_own_caption():
    page = render(build_context(flagged_run()))
    found = tables(page)
    (probe_caption,) = [c for c in found if c.startswith("Saturation probe")]
    (phase_caption,) = [c for c in found if c.startswith("Fixed-rate phases")]
    assert "closed loop" in probe_caption
    assert "not corrected for coordinated omission" in probe_caption
    assert "open loop" not in probe_caption
    assert "corrected for coordinated omission" in phase_caption
    assert found[probe_caption].count("<td>saturation</td>") == 2  # Go's and Rust's
    assert "saturation" not in found[phase_caption]
    assert found[phase_caption].count("<td>rate=") == 4


def test_report_shows_flagged_phases_with_the_reason_and_leaves_them_out_of_ratios():
    page = render(build_context(flagged_run()))
    found = tables(page)
    (phase_caption,) = [c for c in found if c.startswith("Fixed-rate phases")]
    assert (
        "Not quoted in the summary, ratios or verdicts: achieved 1,900 req/s &lt; 99 % of "
        in (found[phase_caption])
    )
    (ratios,) = [c for c in found if c.startswith("Go default / Rust default")]
    rates = re.findall(r'<td class="num">([\d,]+)</td>', found[ratios])
    assert rates[0] == "1,000" and "2,000" not in rates


def test_run_summary_labels_the_probe_closed_loop(capsys):
    cli.print_summary(flagged_run())
    out = capsys.readouterr().out
    assert "saturation: closed-loop probe, not corrected" in out
    assert out.count("saturation (closed loop)") == 2


def test_report_shows_each_servers_observed_transport():
    run = flagged_run()
    workload = run.workloads[0]
    seen = {"listen backlog": "4096", "TCP_NODELAY": "on", "SO_KEEPALIVE": "off"}
    go, rust = workload.implementations
    impls = (replace(go, transport=seen), rust)  # Rust's from a file before schema 4
    page = render(
        build_context(replace(run, workloads=(replace(workload, implementations=impls),)))
    )
    (servers,) = [body for caption, body in tables(page).items() if caption.startswith("Servers")]
    assert "<td>listen backlog 4096, TCP_NODELAY on, SO_KEEPALIVE off</td>" in servers
    assert "<td>not recorded</td>" in servers
