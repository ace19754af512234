"""One workload against one server: the load generator's figures, and the CPU both sides used.

A :class:`Workload` says what a client does (port and TLS, pipelining or not, message size,
connections x messages); :func:`load` runs it against a running server with one or more
load-generator processes (bench/loadgen.py) and returns a :class:`Result`. The server's CPU
time is read from /proc/PID/stat before and after (user + system, all its threads); the
generators report their own, so a table can show whether the generator, not the server, was
the limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from bench.servers import Running

_RUN_TIMEOUT_S = 900


@dataclass(frozen=True)
class Workload:
    """What the clients do.

    Attributes:
        key: a short name for the tables' bookkeeping.
        tls: ``"implicit"`` (the port like 465) or ``"starttls"`` (the port like 587).
        mode: ``"ingest"`` (messages on long connections) or ``"sessions"`` (a new connection,
            TLS, AUTH and one message per session).
        connections: concurrent connections.
        count: messages per connection (ingest), or sessions in all (sessions).
        size_bytes: bytes per message.
        pipelining: pipeline (RFC 2920) when the server offers it; else one command at a time.
        generators: load-generator processes that share the connections.
    """

    key: str
    tls: str
    mode: str
    connections: int
    count: int
    size_bytes: int = 1024
    pipelining: bool = False
    generators: int = 1

    def scaled(self, scale: float) -> Workload:
        """The same with ``count`` times ``scale`` (at least one per connection)."""
        return replace(self, count=max(self.connections if self.mode == "sessions" else 1,
                                       int(self.count * scale)))  # fmt: skip

    @property
    def port_kind(self) -> str:
        return "implicit TLS (like 465)" if self.tls == "implicit" else "STARTTLS (like 587)"

    @property
    def shape(self) -> str:
        """Connections x messages, e.g. ``"1 x 2,000 messages of 1 KB"``."""
        if self.mode == "sessions":
            return f"{self.count:,} sessions, {self.connections} at a time, 1 KB message each"
        return f"{self.connections} x {self.count:,} messages of {size_text(self.size_bytes)}"


def size_text(size_bytes: int) -> str:
    """``1024`` -> ``"1 KB"``, ``100_000`` -> ``"100 KB"``, ``10_000_000`` -> ``"10 MB"``."""
    if size_bytes >= 1_000_000:
        return f"{size_bytes / 1_000_000:g} MB"
    if size_bytes >= 1000:
        return f"{round(size_bytes / 1000):d} KB"
    return f"{size_bytes} B"


@dataclass(frozen=True)
class Result:
    """One run's figures."""

    messages: int
    sessions: int
    seconds: float
    server_cpu_s: float
    generator_busy: float
    """The busiest generator process's CPU time over its run time (1.0: one core, full)."""

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.seconds

    @property
    def sessions_per_s(self) -> float:
        return self.sessions / self.seconds

    @property
    def server_cpu_us_per_message(self) -> float:
        return self.server_cpu_s / self.messages * 1e6


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid``, all threads (proc(5): stat fields 14, 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(server: Running, workload: Workload) -> Result:
    """Runs ``workload`` against ``server`` and returns the figures.

    Raises:
        RuntimeError: a generator failed, or saw SMTP errors (a figure from a run that lost
            messages would not be a figure).
    """
    shares = _split(workload.connections, workload.generators)
    before = cpu_seconds(server.pid)
    generators = [
        subprocess.Popen(
            _arguments(server, workload, connections),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for connections in shares
    ]
    outputs = []
    for generator in generators:
        try:
            stdout, stderr = generator.communicate(timeout=_RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            for other in generators:
                other.kill()
            raise RuntimeError(
                f"{server.name}: {workload.key} took over {_RUN_TIMEOUT_S} s"
            ) from None
        if generator.returncode != 0:
            raise RuntimeError(f"{server.name}: {workload.key}: the generator failed:\n{stderr}")
        outputs.append(json.loads(stdout))
    server_cpu_s = cpu_seconds(server.pid) - before
    errors = sum(output["errors"] for output in outputs)
    if errors:
        raise RuntimeError(f"{server.name}: {workload.key}: the generator saw {errors} errors")
    return Result(
        messages=sum(output["messages"] for output in outputs),
        sessions=sum(output["sessions"] for output in outputs),
        seconds=max(o["finished"] for o in outputs) - min(o["started"] for o in outputs),
        server_cpu_s=server_cpu_s,
        generator_busy=max(output["cpu_s"] / output["seconds"] for output in outputs),
    )


def _split(connections: int, generators: int) -> list[int]:
    generators = max(1, min(generators, connections))
    base, extra = divmod(connections, generators)
    return [base + (1 if index < extra else 0) for index in range(generators)]


def _arguments(server: Running, workload: Workload, connections: int) -> list[str]:
    arguments = [
        sys.executable, "-m", "bench.loadgen", "--host", server.host,
        "--port", str(server.port(workload.tls)), "--cafile", server.cafile,
        "--tls", workload.tls, "--mode", workload.mode, "--connections", str(connections),
        "--size", str(workload.size_bytes),
        "--pipelining", "auto" if workload.pipelining else "off",
    ]  # fmt: skip
    if workload.mode == "sessions":
        share = workload.count * connections // workload.connections
        return [*arguments, "--sessions", str(share)]
    return [*arguments, "--messages", str(workload.count)]
