"""Issue 16, findings 1 and 2: how long a bystander waits while another client floods the
server, and what a body of dot lines costs the server against a body of long lines.

The floods, each from its own connection (issue 16's probes, at their sizes by default):

- ``unread NOOPs``: on the STARTTLS port, ``NOOP`` x 350,000 in one write, no reply ever read;
- ``read EHLOs``: on the STARTTLS port, ``EHLO a`` x 24,000 in one write, every reply read;
- ``dot-line body``: logged in over implicit TLS, a 2,000,000-octet DATA body of lines that
  are a single dot, each sent stuffed as ``..`` (RFC 5321 §4.5.2);
- ``none``: the baseline.

A flood's bytes are handed to the kernel by a thread; the bystander starts once the server
has spent ``under_way_cpu_s`` of CPU since the flood's write began (so the server is working
on it), or after ``under_way_bound_s`` if it never does, which the run records. The bystander
(bench/probes.py) connects to the STARTTLS port, reads the greeting, sends EHLO and reads the
whole reply. The run also records the CPU the server still spent on the flood after the
bystander was served: above zero, the flood was still being worked on, so the bystander did
not merely come after it. Before each run the fake is reset (``POST /api/v1/reset``); after it,
the server is left to go quiet, so no run inherits another's work.

The body figure is the server's CPU time (user + system, /proc/PID/stat, 10 ms ticks) from
just before the body is written to its 250, for 2,000,000 octets of ``..`` lines and for
2,000,000 octets of 998-octet lines, in alternating order.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from bench.measure import cpu_seconds
from bench.probes import WAIT_S, at_data, busy, bystander, until_quiet
from bench.servers import Running, reset
from client import SMTPError


@dataclass(frozen=True)
class FloodPlan:
    """How big each flood is, and when the bystander starts.

    Attributes:
        noops: NOOP commands in the unread flood's one write.
        ehlos: EHLO commands in the read flood's one write.
        body_octets: octets of each 2 MB body on the wire (a multiple of 4000).
        under_way_cpu_s: server CPU spent on a flood before the bystander starts.
        under_way_bound_s: the bystander starts after this long in any case.
    """

    noops: int = 350_000
    ehlos: int = 24_000
    body_octets: int = 2_000_000
    under_way_cpu_s: float = 0.03
    under_way_bound_s: float = 5.0


Flood = Callable[[Running, FloodPlan], AbstractContextManager[bool]]
"""Starts a flood, yields once it is under way (True) or its bound passed (False), and ends
it on exit."""


def dot_lines(octets: int) -> bytes:
    """Message data of lines that are a single dot, stuffed (``..``), ``octets`` on the wire."""
    return b"..\r\n" * (octets // 4)


def long_lines(octets: int) -> bytes:
    """Message data of 998-octet lines (RFC 5321 §4.5.3.1.6's most), ``octets`` on the wire."""
    return (b"x" * 998 + b"\r\n") * (octets // 1000)


@contextmanager
def no_flood(server: Running, plan: FloodPlan) -> Iterator[bool]:
    """The baseline: nothing to wait for."""
    yield True


@contextmanager
def unread_noops(server: Running, plan: FloodPlan) -> Iterator[bool]:
    """NOOP x ``plan.noops`` in one write on the STARTTLS port; no reply is ever read."""
    with _flooder(server) as sock:
        since = cpu_seconds(server.pid)
        writer = _start(lambda: sock.sendall(b"NOOP\r\n" * plan.noops))
        try:
            yield busy(
                server.pid, since, cpu_s=plan.under_way_cpu_s, bound_s=plan.under_way_bound_s
            )
            # The server stops reading a client that reads no replies; once it is quiet, it
            # has done all it will for this one.
            until_quiet(server.pid)
        finally:
            _hang_up(sock)  # which ends the writer's blocked write
            writer.join(WAIT_S)


@contextmanager
def read_ehlos(server: Running, plan: FloodPlan) -> Iterator[bool]:
    """EHLO x ``plan.ehlos`` in one write on the STARTTLS port, every reply read."""
    with _flooder(server) as sock, sock.makefile("rb") as replies:

        def read_all() -> None:
            # Each EHLO reply ends with its one line whose fourth octet is a space.
            ends = 0
            while ends < plan.ehlos and (line := replies.readline()):
                ends += line[3:4] == b" "

        reader = _start(read_all)
        since = cpu_seconds(server.pid)
        writer = _start(lambda: sock.sendall(b"EHLO a\r\n" * plan.ehlos))
        try:
            yield busy(
                server.pid, since, cpu_s=plan.under_way_cpu_s, bound_s=plan.under_way_bound_s
            )
            writer.join(WAIT_S)
            reader.join(WAIT_S)
        finally:
            _hang_up(sock)  # which ends a read or write still blocked
            writer.join(WAIT_S)
            reader.join(WAIT_S)


@contextmanager
def dot_body(server: Running, plan: FloodPlan) -> Iterator[bool]:
    """A DATA body of ``plan.body_octets`` octets of ``..`` lines, then its 250."""
    client = at_data(server)
    failed: list[BaseException] = []

    def send() -> None:
        try:
            client.send_bytes(dot_lines(plan.body_octets) + b".\r\n")
            if (reply := client.read_reply()).code != 250:
                failed.append(RuntimeError(f"the dot-line body was answered {reply}"))
        except (SMTPError, OSError) as error:
            failed.append(error)

    try:
        since = cpu_seconds(server.pid)
        writer = _start(send)
        yield busy(server.pid, since, cpu_s=plan.under_way_cpu_s, bound_s=plan.under_way_bound_s)
        writer.join(WAIT_S)
    finally:
        client.close()
    if failed:
        raise RuntimeError(f"the dot-line flood failed: {failed[0]!r}")


FLOODS: dict[str, Flood] = {
    "none": no_flood,
    "unread NOOPs": unread_noops,
    "read EHLOs": read_ehlos,
    "dot-line body": dot_body,
}


@dataclass(frozen=True)
class FloodRun:
    """The bystander's wait under one flood, in one round.

    Attributes:
        flood: a key of :data:`FLOODS`.
        bystander_s: connect to the end of the EHLO reply; None: not served (see ``problem``).
        under_way: the server was working on the flood when the bystander started.
        cpu_after_s: server CPU spent after the bystander was served, until it went quiet.
        problem: why the bystander was not served, if it was not.
    """

    flood: str
    bystander_s: float | None
    under_way: bool
    cpu_after_s: float
    problem: str = ""


def bystander_during(server: Running, flood: str, plan: FloodPlan) -> FloodRun:
    """One run: reset the fake, start ``flood``, time the bystander, end the flood."""
    reset(server)
    until_quiet(server.pid)
    with FLOODS[flood](server, plan) as under_way:
        waited = bystander(server)
        served_cpu = cpu_seconds(server.pid)
    after = until_quiet(server.pid) - served_cpu
    return FloodRun(flood, waited.seconds, under_way, after, waited.problem)


def bystander_rounds(server: Running, plan: FloodPlan, rounds: int) -> list[FloodRun]:
    """Every flood once per round, the order rotated each round so none always goes first."""
    names = list(FLOODS)
    runs = []
    for number in range(rounds):
        shift = number % len(names)
        for flood in names[shift:] + names[:shift]:
            runs.append(bystander_during(server, flood, plan))
    return runs


def body_cpu_s(server: Running, data: bytes) -> float:
    """Server CPU seconds from just before ``data`` (stuffed, without its end) is sent after
    DATA's 354 to its 250.

    Raises:
        RuntimeError: the message was not answered 250.
    """
    client = at_data(server)
    try:
        before = cpu_seconds(server.pid)
        client.send_bytes(data + b".\r\n")
        reply = client.read_reply()
        spent = cpu_seconds(server.pid) - before
    finally:
        client.close()
    if reply.code != 250:
        raise RuntimeError(f"a {len(data)}-octet body was answered {reply}")
    return spent


def body_cpu_rounds(server: Running, plan: FloodPlan, rounds: int) -> dict[str, list[float]]:
    """Server CPU per body of dot lines and of 998-octet lines, alternating which goes first."""
    bodies = {
        "dot lines": dot_lines(plan.body_octets),
        "998-octet lines": long_lines(plan.body_octets),
    }
    spent: dict[str, list[float]] = {name: [] for name in bodies}
    for number in range(rounds):
        order = list(bodies) if number % 2 == 0 else list(reversed(bodies))
        for name in order:
            reset(server)
            until_quiet(server.pid)
            spent[name].append(body_cpu_s(server, bodies[name]))
    return spent


@contextmanager
def _flooder(server: Running) -> Iterator[socket.socket]:
    """A plain connection to the STARTTLS port, its greeting read."""
    with socket.create_connection((server.host, server.submission_port), WAIT_S) as sock:
        with sock.makefile("rb") as lines:
            greeting = lines.readline()  # nothing else is sent before the client speaks
        if not greeting.startswith(b"220"):
            raise RuntimeError(f"the flooding client was greeted with {greeting!r}")
        yield sock


def _start(work: Callable[[], object]) -> threading.Thread:
    """Runs ``work`` in a daemon thread; a write or read broken by the hang-up is its end."""

    def run() -> None:
        with contextlib.suppress(OSError):
            work()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _hang_up(sock: socket.socket) -> None:
    """Shuts the connection down both ways, which wakes a thread blocked writing to it."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
