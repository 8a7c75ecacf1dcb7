"""What the report and the exporters say about a run whose load came from other hosts (--hosts):
one sentence in the brief (HTML, the Markdown brief and the Markdown export alike), the hosts table
and the multi-host overhead in Methodology, each load host's share of each phase in the server
section; and nothing of it for a run measured on one machine."""

from __future__ import annotations

import re
from dataclasses import replace

from builders import (
    host_share,
    load_host,
    replicated,
    server_phase,
    server_run,
    server_workload,
    spread_phase,
    topology,
)

from harness.analysis import trend
from harness.analysis.bundle import analyse
from harness.cli import main as cli
from harness.model import Run
from harness.report import brief
from harness.report.export import export_markdown
from harness.report.html import build_context, render
from harness.store.results import load_run, save_run

SENTENCE = (
    "Load came from 2 other hosts (load-1, load-2; RTT 0.05 ms median); the servers ran on this "
    "machine at 10.201.1.1."
)
HOSTS_HEADING = "Hosts: which host did what"
SHARES_HEADING = "Load hosts: each host's share of each phase"


def multi_host_run(topo=None, overheads=(1.0, 2.0, 4.0)) -> Run:
    """Three replicates at 1000 req/s on each side, the load split over load-1 and load-2. In
    Go's replicate 2 load-2 fell behind (480 of its 500 req/s) and in its replicate 3 load-1
    erred; Rust's phases kept up. Each side's phases took `overheads` of multi-host time."""
    go = replicated(1000, achieved=[1000, 980, 1000])
    go = [
        spread_phase(go[0], overhead=overheads[0]),
        spread_phase(
            go[1],
            host_share("load-1", 500.0, 500.0),
            host_share("load-2", 500.0, 480.0),
            overhead=overheads[1],
        ),
        spread_phase(
            go[2],
            host_share("load-1", 500.0, 500.0, error="load host load-1: oha exited 1: boom"),
            host_share("load-2", 500.0, 500.0, clock_offset_seconds=-0.0021),
            overhead=overheads[2],
        ),
    ]
    rust = [
        spread_phase(p, overhead=o)
        for p, o in zip(replicated(1000, achieved=[1000] * 3), overheads, strict=True)
    ]
    return replace(server_run([server_workload(go, rust)]), topology=topo or topology())


def one_machine(run: Run) -> Run:
    """The same run as if measured on one machine: no topology, no load-host shares."""
    workloads = tuple(
        replace(
            w,
            implementations=tuple(
                replace(
                    i,
                    phases=tuple(
                        replace(p, load_hosts=(), hosts_overhead_seconds=None) for p in i.phases
                    ),
                )
                for i in w.implementations
            ),
        )
        for w in run.workloads
    )
    return replace(run, topology=None, workloads=workloads)


def page_of(run: Run) -> str:
    return render(build_context(run))


def brief_section(page: str) -> str:
    return page.split('<section id="brief"', 1)[1].split("</section>", 1)[0]


def methodology_hosts(page: str) -> str:
    """The Methodology's hosts part: from its heading to the noise section."""
    return page.split(f"<h3>{HOSTS_HEADING}</h3>", 1)[1].split('<h3 id="noise">', 1)[0]


def shares_fold(page: str) -> str:
    """The folded per-host table of the server section, its <details class="fold"> included."""
    start = page.index(f"<summary><h3>{SHARES_HEADING}")
    opening = page.rindex('<details class="fold">', 0, start)
    return page[opening : page.index("</details>", start)]


def rows(html: str) -> list[list[str]]:
    """Each table row's cells as text."""
    return [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
    ]


# --- the brief ---------------------------------------------------------------------------------


def test_the_brief_says_where_the_load_came_from_in_one_sentence():
    run = multi_host_run()
    found = brief.build_brief(analyse(run))
    assert found.topology == SENTENCE
    assert f'<p class="topology">{SENTENCE}</p>' in brief_section(page_of(run))


def test_the_markdown_brief_and_export_carry_the_same_sentence(tmp_path, capsys):
    """Through the real CLI: `harness export --brief` and `harness export --format markdown`."""
    results = tmp_path / "results"
    path = save_run(multi_host_run(), results)
    assert (
        cli.main(["--results-dir", str(results), "export", str(path), "--format", "markdown"]) == 0
    )
    exported = capsys.readouterr().out
    assert exported.splitlines()[2] == SENTENCE
    out = tmp_path / "out"
    assert (
        cli.main(["--results-dir", str(results), "export", str(path), "--brief", "--out", str(out)])
        == 0
    )
    assert SENTENCE in capsys.readouterr().out.splitlines()


def test_one_load_host_or_one_on_the_server_host_is_said_so():
    one = multi_host_run(topology(load_host(rtt=0.00031)))
    assert brief.build_brief(analyse(one)).topology == (
        "Load came from 1 other host (load-1; RTT 0.31 ms median); the servers ran on this "
        "machine at 10.201.1.1."
    )
    same = multi_host_run(topology(load_host(address="10.201.1.1", rtt=None)))
    assert brief.build_brief(analyse(same)).topology == (
        "Load came from 1 host (load-1; RTT not measured); the servers ran on this machine at "
        "10.201.1.1; load-1 ran on the server host itself."
    )


# --- Methodology ---------------------------------------------------------------------------------


def test_methodology_lists_every_host_with_its_machine_link_and_checked_binaries():
    hosts = methodology_hosts(page_of(multi_host_run()))
    table = hosts.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    server, load1, load2 = rows(table)
    assert server[:5] == [
        "server",
        "server (this machine, where the harness ran)",
        "10.201.1.1",
        "1",
        "Test CPU @ 3.0GHz, 2 CPUs, 8 GiB",
    ]
    assert load1 == [
        "load-1",
        "load",
        "10.201.1.2",
        "0,1",
        "Load CPU @ 2.5GHz, 4 CPUs, 16 GiB (load-1-vm)",
        "6.1.0-load",
        "x86_64, glibc 2.36",
        "kvm-clock",
        "0.2 %",
        "0.04 ms",
        "gorust-spawn sha256 abababababab… (879 KiB), checked on arrival; "
        "oha sha256 cdcdcdcdcdcd… (12 MiB), checked on arrival",
    ]
    assert load2[:3] == ["load-2", "load", "10.201.1.3"] and load2[9] == "0.06 ms"
    assert SENTENCE in hosts
    facts = dict(re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', hosts))
    assert facts["Inventory"] == "hosts.toml"
    assert facts["Transport"] == "ssh (asyncssh 2.24.1)"
    assert facts["Setup before the first workload"] == "3.2 s"
    # six phases (three a side) at 1, 2 and 4 s each: median 2 s, max 4 s
    assert facts["Multi-host overhead per phase"].startswith("median 2 s, max 4 s over 6 phases")
    assert facts["Left running on the hosts after the run"] == "none (checked)"


def test_a_server_host_without_cpus_in_the_inventory_is_not_said_to_use_all():
    topo = topology()
    topo = replace(topo, hosts=(replace(topo.hosts[0], cpus=None), *topo.hosts[1:]))
    hosts = methodology_hosts(page_of(multi_host_run(topo)))
    server, *_ = rows(hosts.split("<tbody>", 1)[1].split("</tbody>", 1)[0])
    assert server[3] == "not set in the inventory: as the run pinned the servers (their method)"


def test_methodology_states_what_was_left_running_or_that_a_host_could_not_be_asked():
    def left(count):
        hosts = methodology_hosts(page_of(multi_host_run(topology(left_running=count))))
        facts = dict(re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', hosts))
        return facts["Left running on the hosts after the run"]

    assert left(2) == "2 processes of the harness&#39;s found and killed"
    assert left(None) == "unknown: a host could not be asked"


def test_host_strings_are_escaped_in_the_report_and_the_markdown():
    evil = load_host(name="<b>x</b>", libc="<i>musl</i>", cpu_model="CPU | <script>")
    run = multi_host_run(topology(evil))
    run = replace(
        run,
        workloads=tuple(
            replace(
                w,
                implementations=tuple(
                    replace(
                        i,
                        phases=tuple(
                            replace(p, load_hosts=(host_share("<b>x</b>", 1000.0, 1000.0),))
                            for p in i.phases
                        ),
                    )
                    for i in w.implementations
                ),
            )
            for w in run.workloads
        ),
    )
    page = page_of(run)
    for raw in ("<b>x</b>", "<i>musl</i>", "<script>"):
        assert raw not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in methodology_hosts(page)
    assert "x86_64, &lt;i&gt;musl&lt;/i&gt;" in methodology_hosts(page)
    assert "&lt;b&gt;x&lt;/b&gt;" in shares_fold(page)
    assert "&lt;b&gt;x&lt;/b&gt;" in brief_section(page)
    markdown = export_markdown(analyse(run))
    assert "<b>" not in markdown and "(&lt;b&gt;x&lt;/b&gt;; RTT 0.04 ms median)" in markdown


# --- the server section --------------------------------------------------------------------------


def test_the_server_section_folds_each_load_hosts_share_of_each_phase():
    fold = shares_fold(page_of(multi_host_run()))
    assert "(6 phases)" in fold
    found = rows(fold.split("<tbody>", 1)[1])
    shares = [r for r in found if r[0]]  # the rows; notes start with an empty cell
    assert len(shares) == 12  # 6 phases x 2 hosts
    assert shares[0] == [
        "go/default",
        "rate=1000",
        "1",
        "load-1",
        "500",
        "500",
        "100.0 %",
        "5,000",
        "20.0 %",  # (1.5 + 0.5) s over 10 s
        "+0.125 ± 0.040 ms",
    ]
    notes = {(found[n - 1][2], found[n - 1][3]): r[1] for n, r in enumerate(found) if not r[0]}
    assert notes == {
        ("2", "load-2"): "⚠ fell behind: 96.0 % of its share",
        ("3", "load-1"): "⚠ error: load host load-1: oha exited 1: boom",
    }
    assert any(r[3] == "load-2" and r[9] == "-2.100 ± 0.040 ms" for r in shares)
    assert (
        '<tr class="flagged"><td>go/default</td><td>rate=1000</td><td>2</td><td>load-2</td>' in fold
    )


def test_a_host_just_at_its_share_is_not_behind():
    """99 % of its share is the line (phases.ACHIEVED_MIN_FRACTION), as the driver flags by."""
    at = multi_host_run()
    go = at.workloads[0].implementations[0]
    phase = spread_phase(
        go.phases[0], host_share("load-1", 500.0, 495.0), host_share("load-2", 500.0, 494.0)
    )
    run = replace(
        at,
        workloads=(
            replace(
                at.workloads[0],
                implementations=(
                    replace(go, phases=(phase,)),
                    *at.workloads[0].implementations[1:],
                ),
            ),
        ),
    )
    analysis = analyse(run)
    assert analysis.topology is not None
    (first, *_) = analysis.topology.phases
    assert [r.behind for r in first.shares] == [False, True]


# --- one machine ---------------------------------------------------------------------------------


def test_a_one_machine_run_shows_none_of_it(tmp_path, capsys):
    run = one_machine(multi_host_run())
    analysis = analyse(run)
    assert analysis.topology is None
    assert brief.build_brief(analysis).topology is None
    page = page_of(run)
    for text in ("Load came from", HOSTS_HEADING, SHARES_HEADING, 'class="topology"'):
        assert text not in page
    assert "Load came from" not in export_markdown(analysis)
    out = tmp_path / "out"
    path = save_run(run, tmp_path / "results")
    assert (
        cli.main(
            ["--results-dir", str(tmp_path), "export", str(path), "--brief", "--out", str(out)]
        )
        == 0
    )
    assert "Load came from" not in capsys.readouterr().out


def test_a_multi_host_run_keeps_its_topology_through_the_results_file(tmp_path):
    run = multi_host_run()
    again = load_run(save_run(run, tmp_path))
    assert again.topology == run.topology
    assert brief.build_brief(analyse(again)).topology == SENTENCE


def test_one_machine_phases_without_a_topology_are_not_shown_as_shares():
    """A server phase with no load hosts (one machine) gives no share rows, so the fold is absent
    even in a run with a topology whose workload ran none of its phases spread."""
    run = replace(
        server_run([server_workload([server_phase(1000, 1000)], [server_phase(1000, 1000)])]),
        topology=topology(),
    )
    page = page_of(run)
    assert SHARES_HEADING not in page
    assert HOSTS_HEADING in page
    facts = dict(re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', methodology_hosts(page)))
    assert facts["Multi-host overhead per phase"] == "no phase recorded it"


def test_the_reports_trend_draws_only_on_runs_with_the_same_hosts(tmp_path):
    """The other place runs are compared: a report's trend takes its history from runs measured
    under the same conditions (trend.runs_like, keyed like compare), so it never mixes a
    multi-host run with one-machine runs."""
    alone = replace(one_machine(multi_host_run()), run_id="20260101T000000Z-0001")
    spread_1 = replace(multi_host_run(), run_id="20260102T000000Z-0002", started_at="2026-01-02")
    spread_2 = replace(multi_host_run(), run_id="20260103T000000Z-0003", started_at="2026-01-03")
    for r in (alone, spread_1, spread_2):
        save_run(r, tmp_path)
    assert [r.run_id for r in trend.runs_like(spread_2, tmp_path)] == [
        spread_1.run_id,
        spread_2.run_id,
    ]
    later_alone = replace(alone, run_id="20260104T000000Z-0004", started_at="2026-01-04")
    save_run(later_alone, tmp_path)
    assert [r.run_id for r in trend.runs_like(later_alone, tmp_path)] == [
        alone.run_id,
        later_alone.run_id,
    ]


def test_the_server_cpus_line_sends_the_reader_to_the_load_hosts():
    import dataclasses

    from harness.report.servers import cpus_text
    from harness.servers.protocol import default_settings

    one = default_settings("quick", "oha", (0,), None)
    assert "load generator unpinned (the harness CPUs, inherited)" in cpus_text(one)
    spread = dataclasses.replace(one, listen_address="10.201.1.1")
    assert "load generator on the load hosts (Methodology lists them)" in cpus_text(spread)


def test_a_server_host_of_its_own_is_named_with_its_machine_and_what_was_copied():
    """`[server] user = ...`: the servers ran on another host, measured there by the agent."""
    topo = topology()
    machine_of = topo.hosts[1].machine
    server = replace(
        topo.hosts[0],
        name="srv",
        cpus=None,
        machine=replace(machine_of, hostname="srv-vm"),
        rtt_seconds=0.00021,
        copied=topo.hosts[1].copied[:1],
    )
    run = multi_host_run(replace(topo, hosts=(server, *topo.hosts[1:])))
    assert brief.build_brief(analyse(run)).topology == (
        "Load came from 2 other hosts (load-1, load-2; RTT 0.05 ms median); the servers ran on "
        "server host srv at 10.201.1.1, measured there by the harness's agent."
    )
    hosts = methodology_hosts(page_of(run))
    row, *_ = rows(hosts.split("<tbody>", 1)[1].split("</tbody>", 1)[0])
    assert row == [
        "srv",
        "server (a host of its own; the harness&#39;s agent measured the servers there)",
        "10.201.1.1",
        "all (one worker each)",
        "Load CPU @ 2.5GHz, 4 CPUs, 16 GiB (srv-vm)",
        "6.1.0-load",
        "x86_64, glibc 2.36",
        "kvm-clock",
        "0.2 %",
        "0.21 ms",
        "gorust-spawn sha256 abababababab… (879 KiB), checked on arrival",
    ]
