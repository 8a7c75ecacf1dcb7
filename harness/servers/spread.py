"""Phases whose load comes from other hosts (--hosts FILE, docs/hosts.md).

The server runs on this machine, measured by the same ServerWatch as a one-machine phase. Each of
the k load hosts runs every request stream at rate/k with connections/k, through the copied
launcher, which starts its load generator when the host's clock reaches one agreed instant (this
machine's instant plus the host's clock offset, measured just before the phase). Afterwards each
host's raw per-request records come back; each host's stream is moved onto this machine's time
base with its offset, cut to the window every stream covered, and all of them merge exactly into
the phase's one histogram (loadgen.merge_streams): percentiles are never averaged.

A phase is flagged when a load host fell behind (< 99 % of its share, less one request), ran its load
generator near its CPU limit, or had a clock offset known less well than the phase's time base
needs; it fails, naming the host and its stderr tail, when a host could not be reached, its load
generator failed, or it died mid-phase. After every phase each host is asked for processes of
the harness's still running (then killed): the count is in the phase's record.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from harness.analysis import phases as phase_analysis
from harness.errors import HarnessError
from harness.measure.launcher import Executor, parse_launcher_report
from harness.model import (
    CopiedFile,
    HostMachine,
    HostRecord,
    Inventory,
    LoadHostShare,
    RequestStream,
    ServerSettings,
    Topology,
)
from harness.servers import hosting, loadgen, remote
from harness.servers.drive import LoadRun, PhaseDriver, ServerWatch
from harness.servers.hosting import ServerFailure
from harness.servers.remote import ClockOffset, SshHost, tail

# The agreed instant is this long after the commands are sent: enough for every host's SSH
# channel to open and its launcher to start waiting.
START_LEAD_SECONDS = 0.5
# The time base needs offsets known to a tenth of the latency-over-time windows (a request placed
# in the wrong window otherwise) and to 1 % of the phase (the window all hosts share).
OFFSET_WINDOW_FRACTION = 0.1
OFFSET_PHASE_FRACTION = 0.01
LAUNCHER_NAME = "gorust-spawn"
OHA_NAME = "oha"


def offset_needed_seconds(window_seconds: float) -> float:
    return min(
        OFFSET_WINDOW_FRACTION * loadgen.WINDOW_SECONDS, OFFSET_PHASE_FRACTION * window_seconds
    )


@dataclass(frozen=True)
class _Job:
    """One request stream on one load host: its plan and where its files are, there and here."""

    host: SshHost
    stream: RequestStream
    plan: loadgen.StreamPlan
    remote: dict[str, str]  # summary, db, rusage (on the host)
    local: dict[str, Path]  # the same, fetched


@dataclass(frozen=True)
class _Done:
    job: _Job
    exit_status: int | None
    stderr: str
    error: str | None  # the host failed (unreachable, died): no records


@dataclass(frozen=True)
class SpreadDriver(PhaseDriver):
    """PhaseDriver whose load generators run on the load hosts."""

    hosts: tuple[SshHost, ...] = ()

    def _jobs(
        self,
        streams: Sequence[tuple[RequestStream, loadgen.StreamPlan, Path, Path]],
        folder: Path,
    ) -> list[_Job]:
        k = self.load_processes
        jobs = []
        for host in self.hosts:
            base = f"{host.spec.work_dir.rstrip('/')}/phases"
            processes = host.spec.processes
            for stream, plan, summary, _db in streams:
                for process in range(1, processes + 1):
                    tag = f"{summary.stem}-{host.name}" + (f"-{process}" if processes > 1 else "")
                    remote = {
                        kind: f"{base}/{tag}.{kind}" for kind in ("json", "db", "rusage", "body")
                    }
                    cpus = host.spec.cpus
                    host_plan = replace(
                        plan,
                        rate_rps=None if plan.rate_rps is None else plan.rate_rps / k,
                        connections=max(1, round(plan.connections / k)),
                        # the host's CPUs shared among its processes, one worker at least
                        worker_threads=max(1, len(cpus) // processes)
                        if cpus
                        else plan.worker_threads,
                        body_path=remote["body"] if plan.body_path else None,
                    )
                    local = {kind: folder / f"{tag}.{kind}" for kind in ("json", "db", "rusage")}
                    jobs.append(_Job(host, stream, host_plan, remote, local))
        return jobs

    @property
    def load_processes(self) -> int:
        """The load generators each stream is split over: every process of every host."""
        return sum(h.spec.processes for h in self.hosts)

    def _prepare(self, host: SshHost, jobs: Sequence[_Job], streams) -> ClockOffset:
        """The host's phase folder emptied, the request bodies copied, its clock offset."""
        mine = [j for j in jobs if j.host is host]
        folder = mine[0].remote["json"].rsplit("/", 1)[0]
        host.checked(["mkdir", "-p", folder], "mkdir")
        host.run(["rm", "-f", *(p for j in mine for p in j.remote.values())])
        plans = {s.name: p for s, p, _, _ in streams}
        for job in mine:
            if job.plan.body_path:
                local_body = plans[job.stream.name].body_path
                assert local_body is not None
                host.put(Path(local_body), job.remote["body"])
        return host.clock_offset()

    def _command(self, job: _Job, start_at_ns: int) -> list[str]:
        host = job.host
        oha = f"{host.bin_dir}/{OHA_NAME}"
        argv = loadgen.oha_argv(
            Path(oha), job.plan, Path(job.remote["json"]), Path(job.remote["db"])
        )
        argv[0] = oha
        pin = ["taskset", "-c", ",".join(map(str, host.spec.cpus))] if host.spec.cpus else []
        return [
            *pin,
            f"{host.bin_dir}/{LAUNCHER_NAME}",
            f"--start-at={start_at_ns}",
            job.remote["rusage"],
            *argv,
        ]

    def _run_job(self, job: _Job, start_at_ns: int, timeout: float) -> _Done:
        try:
            done = job.host.run(self._command(job, start_at_ns), timeout)
        except HarnessError as exc:
            return _Done(job, None, "", f"lost mid-phase: {exc}")
        return _Done(job, done.exit_status, done.stderr, None)

    def _load(
        self,
        streams: Sequence[tuple[RequestStream, loadgen.StreamPlan, Path, Path]],
        watch: ServerWatch,
        rate: float | None,
        duration: float,
        executor: Executor,
        folder: Path,
    ) -> LoadRun:
        began = time.perf_counter()
        jobs = self._jobs(streams, folder)
        errors: list[str] = []
        offsets: dict[str, ClockOffset] = {}
        with ThreadPoolExecutor(max_workers=len(self.hosts)) as pool:
            prepared = {h.name: pool.submit(self._prepare, h, jobs, streams) for h in self.hosts}
            for name, future in prepared.items():
                try:
                    offsets[name] = future.result()
                except HarnessError as exc:
                    errors.append(f"load host {name}: {exc}")
        if errors:  # a host that cannot be prepared: no load is sent from any
            watch.begin()
            watch.end()
            return self._failed(errors, time.perf_counter() - began)

        agreed = time.time() + START_LEAD_SECONDS
        timeout = duration + 60 + START_LEAD_SECONDS
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = [
                pool.submit(
                    self._run_job,
                    job,
                    round((agreed + offsets[job.host.name].offset_seconds) * 1e9),
                    timeout,
                )
                for job in jobs
            ]
            time.sleep(max(0.0, agreed - time.time()))
            watch.begin()
            outcomes = [f.result() for f in futures]
        watch.end()
        return self._gather(outcomes, offsets, rate, watch, began)

    def _failed(self, errors: list[str], overhead: float) -> LoadRun:
        return LoadRun(
            results=(),
            errors=tuple(errors),
            window_start=0.0,
            window=0.0,
            loadgen_user_seconds=0.0,
            loadgen_sys_seconds=0.0,
            loadgen_share=None,
            loadgen_cpus=(),
            shared_cpus=(),
            hosts_overhead_seconds=overhead,
        )

    def _fetch(self, outcome: _Done) -> tuple[loadgen.StreamResult | None, object, str | None]:
        """(its records, the launcher's report, an error) of one finished job."""
        job = outcome.job
        label = f"load host {job.host.name}: oha ({job.stream.name})"
        if outcome.error:
            return None, None, f"load host {job.host.name} {outcome.error}"
        try:
            have = {kind: job.host.get(job.remote[kind], job.local[kind]) for kind in job.local}
        except HarnessError as exc:
            return None, None, str(exc)
        report = parse_launcher_report(job.local["rusage"].read_text()) if have["rusage"] else None
        if outcome.exit_status != 0 or report is None:
            return None, report, f"{label} exit {outcome.exit_status}: {tail(outcome.stderr)}"
        program_exit = report.wait_status >> 8 if report.wait_status & 0x7F == 0 else -1
        if program_exit != 0:
            return None, report, f"{label} exit {program_exit}: {tail(outcome.stderr)}"
        try:
            return loadgen.read_stream(job.plan, job.local["json"], job.local["db"]), report, None
        except ValueError as exc:
            return None, report, f"{label}: {exc}"

    def _gather(
        self,
        outcomes: Sequence[_Done],
        offsets: dict[str, ClockOffset],
        rate: float | None,
        watch: ServerWatch,
        began: float,
    ) -> LoadRun:
        errors: list[str] = []
        fetched = []
        with ThreadPoolExecutor(max_workers=len(outcomes) or 1) as pool:
            for outcome, (result, report, error) in zip(
                outcomes, pool.map(self._fetch, outcomes), strict=True
            ):
                if error:
                    errors.append(error)
                fetched.append((outcome.job, result, report))
        left: dict[str, int | None] = {}
        with ThreadPoolExecutor(max_workers=len(self.hosts)) as pool:
            counts = list(pool.map(_leftovers, self.hosts))
        for host, count in zip(self.hosts, counts, strict=True):
            left[host.name] = count
            if left[host.name]:
                errors.append(
                    f"load host {host.name}: {left[host.name]} process(es) of the harness still "
                    "running after the phase (killed)"
                )

        # Each stream on this machine's time base: seconds since the watch began.
        placed = []
        for job, result, report in fetched:
            if result is None or report is None or report.started_unix_seconds is None:
                continue
            offset = offsets[job.host.name].offset_seconds
            shift = report.started_unix_seconds - offset - watch.started_epoch
            placed.append((job, result, report, shift))
        window_start = max((shift for *_, shift in placed), default=0.0)
        window_end = min((shift + r.span_seconds for _, r, _, shift in placed), default=0.0)
        if placed and window_end <= window_start:
            errors.append("the load hosts' streams share no common window")
        results = []
        per_host: dict[str, list] = {h.name: [] for h in self.hosts}
        if window_end > window_start:
            for job, result, report, shift in placed:
                cut = loadgen.on_time_base(
                    result, shift, window_start, window_end, job.plan.expect_status
                )
                results.append(cut)
                per_host[job.host.name].append((job, result, cut, report, shift))
        window = max(0.0, window_end - window_start)

        k = self.load_processes
        shares, flags = [], []
        needed = offset_needed_seconds(window)
        for host in self.hosts:
            mine = per_host[host.name]
            reports = [r for job, _, _, r, _ in mine]
            responses = sum(c.responses for _, _, c, _, _ in mine)
            share = None if rate is None else rate * host.spec.processes / k
            achieved = responses / window if window > 0 else 0.0
            user = sum(r.user_seconds for r in reports)
            sys_ = sum(r.sys_seconds for r in reports)
            wall = max((r.wall_seconds for r in reports), default=0.0)
            offset = offsets[host.name]
            host_errors = [e for e in errors if e.startswith(f"load host {host.name}")]
            shares.append(
                LoadHostShare(
                    host=host.name,
                    offered_rps=share,
                    achieved_rps=achieved,
                    responses=responses,
                    requests=sum(
                        r.responses + sum(r.error_counts.values()) + r.unsent
                        for _, r, _, _, _ in mine
                    ),
                    user_seconds=user,
                    sys_seconds=sys_,
                    wall_seconds=wall,
                    started_at_seconds=watch.start + min((s for *_, s in mine), default=0.0),
                    span_seconds=max((r.span_seconds for _, r, _, _, _ in mine), default=0.0),
                    clock_offset_seconds=offset.offset_seconds,
                    clock_uncertainty_seconds=offset.uncertainty_seconds,
                    left_running=left[host.name],
                    error="; ".join(host_errors) or None,
                )
            )
            # The window's ends fall between two scheduled requests of each of the host's load
            # generators, so it may hold one request fewer per generator than share x window
            # without the host falling behind.
            if (
                share is not None
                and mine
                and responses < phase_analysis.ACHIEVED_MIN_FRACTION * share * window - len(mine)
            ):
                flags.append(
                    f"load host {host.name} fell behind: {achieved:,.0f} req/s of its "
                    f"{share:,.0f} req/s share"
                )
            cpus = len(host.spec.cpus) if host.spec.cpus else None
            if (
                cpus
                and wall > 0
                and (user + sys_) / wall > phase_analysis.LOADGEN_BUSY_FRACTION * cpus
            ):
                flags.append(
                    f"load host {host.name}: load generator near its CPU limit "
                    f"({(user + sys_) / wall:.2f} of {cpus} CPU(s))"
                )
            if window > 0 and offset.uncertainty_seconds > needed:
                flags.append(
                    f"load host {host.name}: clock offset known to ±{offset.uncertainty_seconds * 1e3:.1f} ms, "
                    f"more than the {needed * 1e3:.1f} ms this phase's time base needs"
                )
        load_wall = max((r.wall_seconds for _, _, r, _ in placed), default=0.0)
        return LoadRun(
            results=tuple(results),
            errors=tuple(errors),
            window_start=window_start,
            window=window,
            loadgen_user_seconds=sum(s.user_seconds for s in shares),
            loadgen_sys_seconds=sum(s.sys_seconds for s in shares),
            loadgen_share=None,
            loadgen_cpus=(),
            shared_cpus=(),
            flags=tuple(flags),
            load_hosts=tuple(shares),
            hosts_overhead_seconds=max(0.0, time.perf_counter() - began - load_wall),
        )


def _leftovers(host: SshHost) -> int | None:
    """Processes of ours still running on the host (killed); None when it cannot be asked."""
    try:
        return host.kill_ours()
    except HarnessError:
        return None


def open_hosts(
    inventory: Inventory,
    oha: Path,
    launcher: Path,
    progress=lambda _: None,
    server: ServerHostSession | None = None,
) -> tuple[tuple[SshHost, ...], Topology]:
    """Every load host connected, checked and given the same load generator and launcher as
    this machine's (SHA-256 checked on arrival), with its machine record and the link's RTT
    (measured from the server host: `server`'s agent when it has a host of its own); or one line
    naming the host and why it cannot take part (nothing is left open then)."""
    began = time.perf_counter()
    hosts = remote.connect_all(inventory.load, inventory.path)
    rtt_from = server.host.rtt_seconds if server is not None else remote.tcp_rtt_seconds
    try:
        records = [
            server.record()
            if server is not None
            else HostRecord(
                name="server",
                role="server",
                address=inventory.server_address,
                cpus=inventory.server_cpus,
            )
        ]
        for host in hosts:
            machine = host.machine()
            refusal = remote.can_run(machine, (oha, launcher))
            if refusal:
                raise HarnessError(
                    f"{inventory.path} [[load]] {host.name}: cannot run this machine's load "
                    f"generator: {refusal}"
                )
            table = f"{inventory.path} [[load]] {host.name}"
            _check_cpus(host, table, host.spec.cpus, machine.cpu_count)
            copied = (host.install(launcher, LAUNCHER_NAME), host.install(oha, OHA_NAME))
            trial = host.run([f"{host.bin_dir}/{OHA_NAME}", "--version"])
            if trial.exit_status != 0:
                raise HarnessError(
                    f"{inventory.path} [[load]] {host.name}: the copied load generator does not "
                    f"start there: {tail(trial.stderr)}"
                )
            rtt = rtt_from(host.spec.address, host.spec.port)
            records.append(
                HostRecord(
                    name=host.name,
                    role="load",
                    address=host.spec.address,
                    cpus=host.spec.cpus,
                    machine=machine,
                    rtt_seconds=rtt,
                    copied=copied,
                    processes=host.spec.processes,
                )
            )
            progress(
                f"load host {host.name}: {machine.cpu_model}, {machine.cpu_count} CPU(s), "
                f"{machine.libc}; RTT {'?' if rtt is None else f'{rtt * 1e3:.2f} ms'}; "
                "load generator and launcher copied, checksums match"
            )
    except BaseException:
        close_hosts(hosts)
        raise
    return tuple(hosts), Topology(
        inventory=inventory.path,
        transport=remote.transport_name(),
        hosts=tuple(records),
        setup_seconds=time.perf_counter() - began + (server.setup_seconds if server else 0.0),
    )


def close_hosts(hosts: Sequence[SshHost]) -> int | None:
    """Kill whatever of the harness's still runs on each host and close the connections: how many
    processes were found (None when some host could not be asked)."""
    found: int | None = 0
    for host in hosts:
        try:
            count = host.kill_ours()
            found = None if found is None else found + count
        except HarnessError:
            found = None
        host.close()
    return found


# --- a server host of its own -------------------------------------------------------------------


def _check_cpus(ssh: SshHost, table: str, cpus: tuple[int, ...] | None, cpu_count: int) -> None:
    """The inventory's CPUs exist on the host and taskset can pin to them there."""
    if not cpus:
        return
    if missing := [c for c in cpus if c >= cpu_count]:
        raise HarnessError(
            f"{table}: field 'cpus': CPU(s) {','.join(map(str, missing))} not on a host with "
            f"{cpu_count}"
        )
    pinned = ssh.run(["taskset", "-c", ",".join(map(str, cpus)), "true"])
    if pinned.exit_status != 0:
        raise HarnessError(
            f"{table}: field 'cpus': taskset could not pin to them there: "
            f"{tail(pinned.stderr) or 'taskset missing?'}"
        )


class _Installer:
    """Copies each program the agent is asked to start into the server host's bin folder, once
    per content (SHA-256 checked there), after checking the host can run it; remembers what it
    copied for the topology record."""

    def __init__(self, ssh: SshHost, machine: HostMachine, copied: list[CopiedFile]):
        self.ssh = ssh
        self.machine = machine
        self.copied = copied
        self.known: dict[tuple[str, int, int], str] = {}

    @staticmethod
    def _key(local: Path) -> tuple[str, int, int]:
        """The file as it is now: a rebuilt program at the same path is another file."""
        stat = local.stat()
        return os.fspath(local.resolve()), stat.st_mtime_ns, stat.st_size

    def add(self, local: Path, remote_path: str) -> None:
        self.known[self._key(local)] = remote_path

    def __call__(self, local: Path) -> str:
        try:
            key = self._key(local)
        except OSError as exc:
            raise ServerFailure(f"{self.ssh.label}: {local} cannot be copied: {exc}") from exc
        if key in self.known:
            return self.known[key]
        refusal = remote.can_run(self.machine, (local,))
        if refusal:
            raise ServerFailure(f"{self.ssh.label} cannot run {local.name}: {refusal}")
        digest = hashlib.sha256(local.read_bytes()).hexdigest()
        try:
            copied = self.ssh.install(local, f"{digest[:12]}-{local.name}")
        except HarnessError as exc:
            raise ServerFailure(str(exc)) from exc
        self.copied.append(copied)
        self.known[key] = f"{self.ssh.bin_dir}/{copied.name}"
        return self.known[key]


@dataclass
class ServerHostSession:
    """A server host of its own, open: its SSH connection, the agent measuring servers there
    (hosting.RemoteServerHost), its machine record and what was copied to it."""

    inventory: Inventory
    ssh: SshHost
    host: hosting.RemoteServerHost
    machine: HostMachine
    copied: list[CopiedFile]
    rtt_seconds: float | None
    setup_seconds: float

    def record(self) -> HostRecord:
        return HostRecord(
            name=self.ssh.name,
            role="server",
            address=self.inventory.server_address,
            cpus=self.inventory.server_cpus,
            machine=self.machine,
            rtt_seconds=self.rtt_seconds,
            copied=tuple(self.copied),
        )

    def close(self) -> None:
        """Stop what the agent still runs and end it (its end of input); the connection stays
        for close_hosts' check for leftovers."""
        with contextlib.suppress(ServerFailure):
            self.host.stop_all()
        self.host.close()


def open_server_host(
    inventory: Inventory, launcher: Path, package_folder: Path, progress=lambda _: None
) -> ServerHostSession:
    """The server host connected, checked (it can run this machine's launcher; the CPUs exist),
    given the launcher and the harness's package (SHA-256 checked), and its agent started; or one
    line naming the host and why not (nothing is left open then)."""
    spec = inventory.server_host
    assert spec is not None
    began = time.perf_counter()
    table = f"{inventory.path} [server] {spec.name}"
    ssh = remote.connect(spec, inventory.path, "server")
    try:
        machine = ssh.machine()
        refusal = remote.can_run(machine, (launcher,))
        if refusal:
            raise HarnessError(f"{table}: cannot run this machine's launcher: {refusal}")
        _check_cpus(ssh, table, inventory.server_cpus, machine.cpu_count)
        package = remote.agent_package(package_folder)
        copied = [ssh.install(launcher, LAUNCHER_NAME), ssh.install(package)]
        channel = remote.open_agent(ssh, inventory.server_python, copied[1])
        installer = _Installer(ssh, machine, copied)
        installer.add(launcher, f"{ssh.bin_dir}/{LAUNCHER_NAME}")
        host = hosting.RemoteServerHost(spec.name, channel, installer)
        rtt = remote.tcp_rtt_seconds(spec.address, spec.port)
    except BaseException:
        ssh.close()
        raise
    progress(
        f"server host {spec.name}: {machine.cpu_model}, {machine.cpu_count} CPU(s), "
        f"{machine.libc}; RTT {'?' if rtt is None else f'{rtt * 1e3:.2f} ms'}; launcher and "
        "harness agent copied, checksums match; agent running"
    )
    return ServerHostSession(
        inventory, ssh, host, machine, copied, rtt, time.perf_counter() - began
    )


@dataclass
class OpenHosts:
    """Every host of an inventory, open for a run: the load hosts, a server host of its own when
    the inventory has one, and the topology they make."""

    load: tuple[SshHost, ...]
    topology: Topology
    server: ServerHostSession | None = None

    @property
    def server_host(self) -> hosting.ServerHost:
        return self.server.host if self.server is not None else hosting.LOCAL

    def settings(self, settings: ServerSettings, inventory: Inventory) -> ServerSettings:
        """Servers listen on the server host's address; the load generators' CPUs are the load
        hosts' own. On a server host of its own the servers' CPUs are its (all of them unless the
        inventory says), one worker each."""
        settings = replace(settings, listen_address=inventory.server_address, loadgen_cpus=None)
        if self.server is None:
            return settings
        cpus = inventory.server_cpus or tuple(range(self.server.machine.cpu_count))
        return replace(settings, server_cpus=cpus, parallelism=len(cpus))

    def driver(self, oha: Path, settings: ServerSettings) -> SpreadDriver:
        return SpreadDriver(oha, settings, read_stat=self.server_host.read_stat, hosts=self.load)

    def close(self) -> Topology:
        """Stop the agent, kill whatever of ours still runs on any host, close every connection:
        the topology with what was found left running and everything copied to the server host."""
        if self.server is None:
            return replace(self.topology, left_running=close_hosts(self.load))
        self.server.close()
        left = close_hosts((*self.load, self.server.ssh))
        hosts = (self.server.record(), *self.topology.hosts[1:])
        return replace(self.topology, hosts=hosts, left_running=left)


def open_all(
    inventory: Inventory, oha: Path, launcher: Path, package_folder: Path, progress=lambda _: None
) -> OpenHosts:
    """The server host (when it is not this machine), then every load host; one line naming the
    host that cannot take part, and nothing left open, otherwise."""
    server = None
    if inventory.server_host is not None:
        server = open_server_host(inventory, launcher, package_folder, progress)
    try:
        load, topology = open_hosts(inventory, oha, launcher, progress, server)
    except BaseException:
        if server is not None:
            server.close()
            close_hosts((server.ssh,))
        raise
    return OpenHosts(load, topology, server)
