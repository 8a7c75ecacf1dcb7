"""The harness's agent on a server host: `python -m harness.servers.agent --dir FOLDER`, started
over SSH by the harness (harness/servers/remote.py open_agent), from a copy of the harness's own
package the harness put there.

It reads one JSON request per line on stdin and answers each with one JSON line on stdout:
{"value": ...} or {"error": "..."}. Every request is done by LocalServerHost, the code that does
it on the harness's own machine (harness/servers/hosting.py): the launcher starts the servers,
psutil samples them, VmHWM is reset and read in /proc, stderr (Go's GC trace) is read from the
files the launcher wrote. The agent needs the standard library and psutil, nothing else.

Nothing outlives it: at end of input (the harness closed the channel, or its SSH connection
dropped) it stops every server it started; each launcher also has PR_SET_PDEATHSIG, so an agent
that is SIGKILLed takes its servers with it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from harness.measure.launcher import PSUTIL_VERSION, Sampler, ServerProcess
from harness.servers import hosting

PROCESS_METHODS = ("exit_code", "cpu_seconds", "rss_bytes", "peak_rss_bytes", "reset_peak_rss")


class Agent:
    def __init__(self, folder: Path):
        self.folder = folder
        self.host = hosting.LocalServerHost()
        self.processes: dict[int, ServerProcess] = {}
        self.samplers: dict[int, Sampler] = {}
        self._ids = 0

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _file(self, name: str) -> Path:
        """A file of the agent's folder: a bare name, never a path elsewhere."""
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"not a file name of the agent's folder: {name!r}")
        return self.folder / name

    def hello(self) -> dict[str, Any]:
        import harness

        return {
            "python": list(sys.version_info[:3]),
            "psutil": PSUTIL_VERSION,
            "harness": harness.__file__,
        }

    def spawn(self, launcher, argv, env, cpus, stdout, stderr) -> dict[str, Any]:
        process = self.host.process(
            Path(launcher),
            argv,
            env,
            tuple(cpus) if cpus is not None else None,
            self._file(stdout),
            self._file(stderr),
        )
        process_id = self._next_id()
        self.processes[process_id] = process
        return {
            "id": process_id,
            "pid": process.pid,
            "since_start": time.perf_counter() - process.started,
        }

    def process(self, id: int, method: str, **fields) -> Any:
        process = self.processes[id]
        if method in PROCESS_METHODS:
            return getattr(process, method)()
        if method == "sampler_start":
            sampler = process.sampler(fields["interval"])
            sampler.start()
            sampler_id = self._next_id()
            self.samplers[sampler_id] = sampler
            return sampler_id
        if method == "stop":
            code = process.stop(fields["grace"])
            del self.processes[id]
            return {"exit": code, "leftover": process.leftover_processes}
        raise ValueError(f"unknown process method {method!r}")

    def sampler_stop(self, sampler: int) -> list[dict[str, float]]:
        return [
            {
                "t_seconds": s.t_seconds,
                "rss_bytes": s.rss_bytes,
                "user_seconds": s.user_seconds,
                "sys_seconds": s.sys_seconds,
            }
            for s in self.samplers.pop(sampler).stop()
        ]

    def stop_all(self, grace: float = 2.0) -> int:
        count = len(self.processes)
        for process_id in list(self.processes):
            self.processes.pop(process_id).stop(grace)
        return count

    def handle(self, request: dict[str, Any]) -> Any:
        op = request.pop("op")
        host = self.host
        if op == "hello":
            return self.hello()
        if op == "spawn":
            return self.spawn(**request)
        if op == "process":
            return self.process(**request)
        if op == "sampler_stop":
            return self.sampler_stop(**request)
        if op == "stop_all":
            return self.stop_all()
        if op == "free_port":
            return host.free_port(request["address"])
        if op == "accepts":
            return host.accepts(request["listen"])
        if op == "socket_path":
            return host.socket_path(request["name"])
        if op == "remove":
            path = request["path"]
            if Path(path).parent != Path(host.socket_path("x")).parent:
                raise ValueError(f"not a socket of the agent's: {path!r}")
            return host.remove(path)
        if op == "read":
            return host.read_text(self._file(request["name"]))
        if op == "stat":
            return hosting.encode_cpu_times(host.read_stat())
        if op == "cpu_set":
            found = host.cpu_set(request["pid"])
            return None if found is None else list(found)
        if op == "transport":
            return host.observe_transport(**request)
        if op == "rtt":
            return host.rtt_seconds(request["address"], request["port"])
        raise ValueError(f"unknown request {op!r}")


def serve(agent: Agent, lines, out) -> None:
    """Answer every request line until end of input, then stop whatever still runs."""
    try:
        for line in lines:
            if not line.strip():
                continue
            try:
                reply = {"value": agent.handle(json.loads(line))}
            except Exception as exc:  # each request's failure is its answer; the agent goes on
                where = traceback.extract_tb(exc.__traceback__)[-1]
                reply = {"error": f"{exc!r} (at {Path(where.filename).name}:{where.lineno})"}
            out.write(json.dumps(reply) + "\n")
            out.flush()
    finally:
        agent.stop_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness-agent")
    parser.add_argument(
        "--dir", required=True, help="the folder the agent writes servers' output to"
    )
    args = parser.parse_args(argv)
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    serve(Agent(folder), sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
