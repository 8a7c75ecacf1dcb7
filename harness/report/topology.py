"""Which host did what, for a run whose load came from other hosts (--hosts): one sentence for the
brief (the HTML report's and the Markdown one), the hosts table and the multi-host overhead for
the Methodology, and each load host's share of each phase for the server sections.

Every figure comes from the bundle (analysis.topology); this module only words it. A run measured
on one machine has no topology, and every function here returns nothing for it, so its report
is what it was before load hosts existed.
"""

from __future__ import annotations

from harness.analysis.topology import PhaseShares, ShareReading, TopologyAnalysis
from harness.model import HostRecord, Machine
from harness.report import formatting

SHA_CHARS = 12  # of a copied binary's SHA-256, as the table shows it


def rtt_text(seconds: float | None) -> str:
    """ "0.05 ms": a link's round trip as the harness prints it while connecting."""
    return "not measured" if seconds is None else f"{seconds * 1e3:.2f} ms"


def brief_sentence(found: TopologyAnalysis | None) -> str | None:
    """ "Load came from 2 other hosts (load-1, load-2; RTT 0.05 ms median); the servers ran on
    this machine at 10.201.1.1." None on one machine."""
    if found is None:
        return None
    t = found.topology
    loads = t.load_hosts
    server = t.hosts[0].address
    names = ", ".join(h.name for h in loads)
    # Each host's RTT is already a median of several connects; over hosts, the median of those.
    rtt = (
        "RTT not measured"
        if found.rtt_median_seconds is None
        else f"RTT {rtt_text(found.rtt_median_seconds)} median"
    )
    shared = [h.name for h in loads if h.address == server]
    other = "other " if not shared else ""
    also = f"; {', '.join(shared)} ran on the server host itself" if shared else ""
    plural = "s" if len(loads) != 1 else ""
    where = (
        f"server host {t.hosts[0].name} at {server}, measured there by the harness's agent"
        if remote_server(t.hosts[0])
        else f"this machine at {server}"
    )
    return (
        f"Load came from {len(loads)} {other}host{plural} ({names}; {rtt}); the servers ran on "
        f"{where}{also}."
    )


def remote_server(host: HostRecord) -> bool:
    """A server host of its own (reached over SSH): it has a machine record of its own."""
    return host.role == "server" and host.machine is not None


def left_running_text(count: int | None) -> str:
    if count is None:
        return "unknown: a host could not be asked"
    if count == 0:
        return "none (checked)"
    return f"{count} process{'es' if count != 1 else ''} of the harness's found and killed"


def _cpus(cpus: tuple[int, ...] | None) -> str:
    return "all" if cpus is None else ",".join(map(str, cpus))


def _copied(host: HostRecord) -> str:
    if not host.copied:
        return "–"
    return "; ".join(
        f"{c.name} sha256 {c.sha256[:SHA_CHARS]}… ({formatting.size(c.bytes)}), checked on arrival"
        for c in host.copied
    )


def host_row(host: HostRecord, local: Machine) -> dict[str, str]:
    """One host as the Methodology's table shows it; a server host that is this machine is
    described by the run's own machine record."""
    m = host.machine
    if host.role == "server" and m is None:
        return {
            "name": host.name,
            "role": "server (this machine, where the harness ran)",
            "address": host.address,
            "cpus": "not set in the inventory: as the run pinned the servers (their method)"
            if host.cpus is None
            else _cpus(host.cpus),
            "machine": f"{local.cpu_model}, {local.cpu_count} CPUs, {formatting.size(local.memory_bytes)}",
            "kernel": local.kernel,
            "platform": "this machine's",
            "clock": "this machine's (the phases' time base)",
            "steal": "per phase (a replicate over 1 % is set aside)",
            "rtt": "–",
            "copied": "– (built here)",
        }
    if remote_server(host):
        role = "server (a host of its own; the harness's agent measured the servers there)"
    elif host.processes == 1:
        role = "load"
    else:
        role = f"load ({host.processes} load generator processes)"
    return {
        "name": host.name,
        "role": role,
        "address": host.address,
        "cpus": _cpus(host.cpus) if host.role == "load" or host.cpus else "all (one worker each)",
        "machine": "not recorded"
        if m is None
        else f"{m.cpu_model}, {m.cpu_count} CPUs, {formatting.size(m.memory_bytes)} ({m.hostname})",
        "kernel": "–" if m is None else m.kernel,
        "platform": "–" if m is None else f"{m.arch}, {m.libc}",
        "clock": "–" if m is None else (m.clock_source or "not read"),
        "steal": "–" if m is None else formatting.percent(m.steal_share),
        "rtt": rtt_text(host.rtt_seconds),
        "copied": _copied(host),
    }


def methodology(found: TopologyAnalysis | None, local: Machine) -> dict | None:
    """The hosts table and the lines around it; None on one machine (nothing is shown)."""
    if found is None:
        return None
    t = found.topology
    if found.overhead_phases:
        overhead = (
            f"median {formatting.seconds(found.overhead_median_seconds)}, max "
            f"{formatting.seconds(found.overhead_max_seconds)} over {found.overhead_phases} "
            f"phase{'s' if found.overhead_phases != 1 else ''} (the harness's time around the "
            "load generators that was not load: clock offsets, the wait for the agreed start, "
            "fetching and merging the records)"
        )
    else:
        overhead = "no phase recorded it"
    return {
        "sentence": brief_sentence(found),
        "hosts": [host_row(h, local) for h in t.hosts],
        "facts": [
            ("Inventory", t.inventory),
            ("Transport", t.transport),
            ("Setup before the first workload", formatting.seconds(t.setup_seconds)),
            ("Multi-host overhead per phase", overhead),
            ("Left running on the hosts after the run", left_running_text(t.left_running)),
        ],
    }


def _offset(r: ShareReading) -> str:
    s = r.share
    return f"{s.clock_offset_seconds * 1e3:+.3f} ± {s.clock_uncertainty_seconds * 1e3:.3f} ms"


def _note(r: ShareReading) -> str:
    s = r.share
    notes = []
    if r.behind and r.kept_share is not None:
        notes.append(f"fell behind: {formatting.percent(r.kept_share)} of its share")
    if s.error:
        notes.append(f"error: {s.error}")
    if s.left_running is None:
        notes.append("could not be asked for leftovers")
    elif s.left_running:
        notes.append(f"{s.left_running} left running after the phase (killed)")
    return "; ".join(notes)


def share_table(found: TopologyAnalysis | None, workload: str) -> dict:
    """Each load host's share of each of the workload's multi-host phases (no rows on one
    machine), and how many phases that is."""
    phases = found.phases_of(workload) if found is not None else ()
    return {
        "rows": [_share_row(p, r) for p in phases for r in p.shares],
        "phases": str(len(phases)),
    }


def _share_row(p: PhaseShares, r: ShareReading) -> dict:
    s = r.share
    note = _note(r)
    return {
        "key": p.key,
        "phase": p.phase,
        "replicate": "selection pass" if p.replicate is None else str(p.replicate),
        "host": s.host,
        "offered": "closed loop"
        if s.offered_rps is None
        else formatting.requests_rate(s.offered_rps),
        "achieved": formatting.requests_rate(s.achieved_rps),
        "kept": "–" if r.kept_share is None else formatting.percent(r.kept_share),
        "responses": f"{s.responses:,}",
        "cpu": formatting.percent(r.cpu_share),
        "offset": _offset(r),
        "note": note,
        "flagged": bool(note),
    }
