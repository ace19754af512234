"""Issue 16, finding 7: what a large message costs the server in memory at its peak.

Each run sends one case's messages to ``fakeserver serve --json`` (transcripts kept, the
default: each keeps the first 256 KiB of a message's data), each on its own connection,
logged in over implicit TLS with DATA's 354 read before the measurement starts. The server's
peak RSS is reset (``5`` to /proc/PID/clear_refs) and its VmRSS read just before the message
data is written; VmHWM is read once every 250 is in (bench/memory.py, :func:`peak_during`).
The figure is the peak's rise over that RSS: what taking the messages cost at its worst,
their kept copies included. Each run has a server of its own, started for it.

The cases (issue 16's): one message as large as the server's SIZE allows (35,882,577 octets
at Gmail), in 998-octet lines; three such at once; and 20,000,000 octets on one line.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.memory import peak_during, status_bytes
from bench.probes import WAIT_S, at_data, tls_context
from bench.servers import SERVE, Running, running
from client import SMTPClient, SMTPError

_HEADER = b"Subject: a large message\r\n\r\n"


@dataclass(frozen=True)
class Case:
    """What one run sends.

    Attributes:
        name: how the report names it.
        messages: messages sent at once, each on its own connection.
        octets: the size of each message (RFC 1870's count: unstuffed, CRLFs included).
        one_line: the body is a single line, not 998-octet lines.
    """

    name: str
    messages: int
    octets: int
    one_line: bool = False


def cases(size_limit: int, one_line_octets: int = 20_000_000) -> list[Case]:
    """Issue 16's three cases for a server whose SIZE is ``size_limit``."""
    return [
        Case("one message", 1, size_limit),
        Case("three at once", 3, size_limit),
        Case("one line", 1, one_line_octets, one_line=True),
    ]


def message(octets: int, *, one_line: bool) -> bytes:
    """A message of exactly ``octets`` octets; no line starts with a dot, so it needs no
    stuffing."""
    room = octets - len(_HEADER)
    if room < 3:
        raise ValueError(f"{octets} octets leave no room for a body")
    if one_line:
        return _HEADER + b"x" * (room - 2) + b"\r\n"
    whole, rest = divmod(room, 1000)
    if rest == 1:  # no line is one octet long: end on a 999-octet line and an empty one
        whole, tail = whole - 1, b"y" * 997 + b"\r\n" + b"\r\n"
    else:
        tail = b"z" * (rest - 2) + b"\r\n" if rest else b""
    return _HEADER + (b"y" * 998 + b"\r\n") * whole + tail


def size_limit(server: Running) -> int:
    """The SIZE the server's EHLO advertises on the implicit-TLS port.

    Raises:
        RuntimeError: the server advertises no SIZE limit.
    """
    with SMTPClient.connect(
        server.host, server.smtps_port, implicit_tls=True, ssl_context=tls_context(server),
        tls_hostname="localhost", timeout_s=WAIT_S,
    ) as client:  # fmt: skip
        client.ehlo()
        capabilities = client.capabilities
        limit = capabilities.size_limit_octets if capabilities is not None else None
    if limit is None:
        raise RuntimeError("the server's EHLO has no SIZE limit to fill")
    return limit


@dataclass(frozen=True)
class PeakGrowth:
    """One run of one case.

    Attributes:
        case: the case's name.
        messages: how many were sent at once.
        octets: the size of each.
        one_line: each was a single line.
        rss_before: the server's RSS just before the data was written, in bytes.
        growth: its peak RSS during the run above ``rss_before``, in bytes.
        method: how the peak was read (``"VmHWM"`` or ``"sampled VmRSS"``).
        reply: the first line of the reply to the (first) message.
    """

    case: str
    messages: int
    octets: int
    one_line: bool
    rss_before: int
    growth: int
    method: str
    reply: str

    @property
    def times_message(self) -> float:
        """The growth as a multiple of all the message data sent at once."""
        return self.growth / (self.messages * self.octets)


def peak_growth(server: Running, case: Case) -> PeakGrowth:
    """Sends ``case``'s messages at once and measures the server's peak RSS rise; on a
    server that took no large message before (:func:`growth_rounds` starts one per run).

    Raises:
        RuntimeError: a message could not be sent, or no reply came.
    """
    data = message(case.octets, one_line=case.one_line) + b".\r\n"
    clients = [at_data(server) for _ in range(case.messages)]
    replies: list[str] = [""] * case.messages
    failed: list[BaseException] = []

    def send(index: int) -> None:
        try:
            clients[index].send_bytes(data)
            reply = clients[index].read_reply()
            replies[index] = f"{reply.code} {reply.lines[0]}"
        except (SMTPError, OSError) as error:
            failed.append(error)

    def send_all() -> None:
        threads = [threading.Thread(target=send, args=(i,)) for i in range(case.messages)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT_S * case.messages)

    try:
        before = status_bytes(server.pid, "VmRSS")
        peak, method = peak_during(server.pid, send_all)
    finally:
        for client in clients:
            client.close()
    if failed or not all(replies):
        raise RuntimeError(f"{case.name}: {failed[0] if failed else 'a reply is missing'!r}")
    growth = peak - before
    return PeakGrowth(
        case.name, case.messages, case.octets, case.one_line, before, growth, method, replies[0]
    )


def growth_rounds(
    certs_dir: Path, plan: Sequence[Case], rounds: int, options: Sequence[str] = ()
) -> list[PeakGrowth]:
    """Every case once per round, each run on a server started for it alone (``fakeserver
    serve --json`` with ``options``): memory a process has freed is often not given back to
    the system, so a server that took a large message before would hide part of the next
    one's cost."""
    runs = []
    for _ in range(rounds):
        for case in plan:
            with running(SERVE, certs_dir, options) as server:
                runs.append(peak_growth(server, case))
    return runs
