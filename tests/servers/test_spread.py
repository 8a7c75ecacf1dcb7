"""The multi-host phase driver (harness/servers/spread.py) with load hosts that are this machine:
the real launcher, real oha and a stand-in server; only the SSH transport is replaced by FakeHost,
which runs the same commands here. tests/servers/test_hosts_e2e.py does the same over SSH into
network namespaces."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from harness.errors import HarnessError
from harness.measure.launcher import SubprocessExecutor
from harness.model import HostSpec
from harness.servers.protocol import ServerRunner
from harness.servers.remote import ClockOffset, Completed
from harness.servers.spread import LAUNCHER_NAME, OHA_NAME, SpreadDriver

sys.path.insert(0, str(Path(__file__).parent))
from test_server import (
    GO,
    WORKLOAD,
    builds_for,
    fake_server,
    run_config,
    settings,
)

# An oha that offers half the rate it is asked for: a load host that falls behind.
HALF_RATE_OHA = """#!/bin/sh
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "-q" ]; then out="$out -q $(awk "BEGIN {{print $2 / 2}}")"; shift 2; continue; fi
  out="$out '$1'"; shift
done
eval exec {oha} $out
"""


class FakeHost:
    """A load host that is this machine: what remote.SshHost does over SSH, done here."""

    def __init__(
        self, name: str, folder: Path, oha: Path, launcher: Path, die_after=None, processes=1
    ):
        folder.mkdir(parents=True, exist_ok=True)
        self.spec = HostSpec(
            name=name,
            address="127.0.0.1",
            user="me",
            work_dir=str(folder),
            shares_server=True,
            processes=processes,
        )
        self.name = name
        self.bin_dir = f"{folder}/bin"
        Path(self.bin_dir).mkdir(exist_ok=True)
        shutil.copy(launcher, Path(self.bin_dir) / LAUNCHER_NAME)
        shutil.copy(oha, Path(self.bin_dir) / OHA_NAME)
        self.die_after = die_after

    def run(self, argv, timeout=30.0) -> Completed:
        if self.die_after is not None and LAUNCHER_NAME in " ".join(argv):
            process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            threading.Event().wait(self.die_after)
            self.kill_ours()  # the host went away: its launcher and what it started die with it
            process.wait()
            raise HarnessError(f"load host {self.name}: connection lost")
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return Completed(done.returncode, done.stdout, done.stderr)

    def checked(self, argv, what) -> str:
        return self.run(argv).stdout

    def put(self, local: Path, remote: str) -> None:
        shutil.copy(local, remote)

    def get(self, remote: str, local: Path) -> bool:
        if not Path(remote).exists():
            return False
        shutil.copy(remote, local)
        return True

    def clock_offset(self) -> ClockOffset:
        return ClockOffset(offset_seconds=0.0, uncertainty_seconds=1e-5)

    def kill_ours(self) -> int:
        found = [
            p
            for p in psutil.process_iter(["cmdline", "status"])
            if p.info["status"] != psutil.STATUS_ZOMBIE
            and any(self.bin_dir in part for part in p.info["cmdline"] or ())
        ]
        for process in found:
            process.kill()
        return len(found)


def one_phase(tmp_path, oha, launcher, hosts, rate=60.0, seconds=2.0):
    server_settings = settings(connections=8)  # the stand-in answers ~20 req/s a connection (Nagle)
    driver = SpreadDriver(oha, server_settings, hosts=tuple(hosts))
    runner = ServerRunner(oha, server_settings, tmp_path, launcher, driver=driver)
    script = fake_server(tmp_path, "ok")
    params = WORKLOAD.params["quick"]
    server = runner.start(WORKLOAD, GO, builds_for(script, script)[GO.key], params, tmp_path)
    with server.process:
        bodies = runner.request_bodies(WORKLOAD, server, params)
        return runner.run_phase(
            f"rate={rate:g}",
            WORKLOAD,
            GO,
            server,
            params,
            bodies,
            rate,
            seconds,
            run_config(server_settings),
            SubprocessExecutor(launcher),
            tmp_path,
        )


def test_two_hosts_share_the_rate_and_merge_into_one_phase(tmp_path, oha, launcher):
    hosts = [FakeHost(f"load-{i}", tmp_path / f"host-{i}", oha, launcher) for i in (1, 2)]
    phase = one_phase(tmp_path, oha, launcher, hosts)
    assert phase.ok, phase.error
    assert [s.host for s in phase.load_hosts] == ["load-1", "load-2"]
    for share in phase.load_hosts:
        assert share.offered_rps == 30.0
        assert share.achieved_rps == pytest.approx(30.0, rel=0.05)
        assert share.user_seconds + share.sys_seconds > 0  # the launcher's rusage, per host
        assert share.left_running == 0 and share.error is None
    assert not [f for f in phase.flags if "fell behind" in f], phase.flags
    # One window for every host: the requests in it are the sum of theirs, merged exactly.
    answered = sum(s.responses for s in phase.load_hosts)
    assert phase.request_counts is not None
    assert phase.latency is not None
    assert phase.latency.count == answered + phase.request_counts.unsent
    assert phase.achieved_rps == pytest.approx(answered / phase.duration_seconds)
    starts = [s.started_at_seconds for s in phase.load_hosts]
    assert max(starts) - min(starts) < 0.05  # both launchers waited for the agreed instant
    assert phase.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert phase.hosts_overhead_seconds is not None and phase.hosts_overhead_seconds < 10


def test_a_host_with_two_load_processes_sends_its_share_over_both(tmp_path, oha, launcher):
    """Inventory `processes = 2`: every stream's rate is split over all processes of all hosts
    (here 1 + 2), and a host's share is its processes' part, merged like any other streams."""
    hosts = [
        FakeHost("one", tmp_path / "one", oha, launcher),
        FakeHost("two", tmp_path / "two", oha, launcher, processes=2),
    ]
    driver = SpreadDriver(oha, settings(connections=8), hosts=tuple(hosts))
    assert driver.load_processes == 3
    phase = one_phase(tmp_path, oha, launcher, hosts, rate=60.0)
    assert phase.ok, phase.error
    shares = {s.host: s for s in phase.load_hosts}
    assert (shares["one"].offered_rps, shares["two"].offered_rps) == (20.0, 40.0)
    assert shares["two"].achieved_rps == pytest.approx(40.0, rel=0.05)
    assert shares["one"].achieved_rps == pytest.approx(20.0, rel=0.05)
    assert not [f for f in phase.flags if "fell behind" in f], phase.flags
    assert phase.latency is not None and phase.request_counts is not None
    assert phase.latency.count == sum(s.responses for s in shares.values()) + (
        phase.request_counts.unsent
    )
    # two oha records came back from host "two" (one per process), one from "one"
    records = sorted(p.name for p in (tmp_path / "two" / "phases").glob("*.json"))
    assert len(records) == 2 and records[0].endswith("-two-1.json"), records


def test_a_host_that_falls_behind_flags_the_phase(tmp_path, oha, launcher):
    slow = FakeHost("slow", tmp_path / "slow", oha, launcher)
    wrapper = Path(slow.bin_dir) / OHA_NAME
    real = Path(slow.bin_dir) / "oha-real"
    wrapper.rename(real)
    wrapper.write_text(HALF_RATE_OHA.format(oha=real))
    wrapper.chmod(0o755)
    hosts = [FakeHost("steady", tmp_path / "steady", oha, launcher), slow]
    phase = one_phase(tmp_path, oha, launcher, hosts)
    behind = [f for f in phase.flags if "fell behind" in f]
    assert any(f.startswith("load host slow fell behind:") for f in behind), phase.flags
    shares = {s.host: s for s in phase.load_hosts}
    assert shares["slow"].achieved_rps == pytest.approx(15.0, rel=0.15)
    # The steady host kept (about) its share; a loaded machine may cost it a request or two.
    assert shares["steady"].achieved_rps > 1.7 * shares["slow"].achieved_rps


def test_a_host_that_dies_mid_phase_fails_it_naming_the_host(tmp_path, oha, launcher):
    hosts = [
        FakeHost("load-1", tmp_path / "host-1", oha, launcher),
        FakeHost("load-2", tmp_path / "host-2", oha, launcher, die_after=1.0),
    ]
    phase = one_phase(tmp_path, oha, launcher, hosts)
    assert not phase.ok
    assert "load host load-2 lost mid-phase: load host load-2: connection lost" in (
        phase.error or ""
    )
    assert [h.kill_ours() for h in hosts] == [0, 0]


class VagueClockHost(FakeHost):
    """A host whose clock offset is known only to ±40 ms (a slow, jittery link)."""

    def clock_offset(self) -> ClockOffset:
        return ClockOffset(offset_seconds=0.0, uncertainty_seconds=0.040)


def test_a_clock_offset_known_too_roughly_for_the_time_base_flags_the_phase(
    tmp_path, oha, launcher
):
    hosts = [
        FakeHost("load-1", tmp_path / "host-1", oha, launcher),
        VagueClockHost("vague", tmp_path / "vague", oha, launcher),
    ]
    phase = one_phase(tmp_path, oha, launcher, hosts)
    flagged = [f for f in phase.flags if "clock offset" in f]
    # needed: min(a tenth of the 0.25 s windows, 1 % of the ~2 s phase) = 20 ms
    assert len(flagged) == 1, phase.flags
    assert re.fullmatch(
        r"load host vague: clock offset known to ±40\.0 ms, more than the (19\.9|20\.[0-2]) ms "
        r"this phase's time base needs",
        flagged[0],
    ), flagged
    assert {s.host: s.clock_uncertainty_seconds for s in phase.load_hosts}["vague"] == 0.040
