"""Issue 16, finding 6: a client that drips one byte at a time is cut by the idle timeout,
inside a message body as well as inside a command.

Against ``fakeserver serve --idle-timeout T``, two clients drip one octet every
``interval_s``, never ending a line (so no byte is progress: fakeserver/transport/idle.py):

- ``body``: over implicit TLS, logged in, after DATA's 354, ``x`` octets of message data;
- ``command``: on the STARTTLS port, after EHLO's 250, the octets of a command.

Each figure is the time from the client's last whole line (the reply to it read) to the
server's ``451 4.4.2`` reply, or None when no such reply came within ``bound_s``; both run at
once, in each of a few rounds. asyncio drives them, so one task drips while another waits
for the reply on the same TLS connection.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import ssl
from dataclasses import dataclass

from bench.probes import RECIPIENT, SENDER, tls_context
from bench.servers import Running
from fakeserver.session.accounts import DEFAULT_ACCOUNT

TIMEOUT_REPLY = b"451 4.4.2 "
DRIPPED = {"body": b"x", "command": b"MAIL FROM:<dripping@example.org> "}
"""What each client drips, over and over: never a line end."""


@dataclass(frozen=True)
class Drip:
    """One dripping client's end.

    Attributes:
        where: ``"body"`` or ``"command"``.
        cut_s: from the last whole line to the 451 4.4.2; None: not cut within the bound.
        reply: the last reply line the client read (the 451, or what came instead).
        closed: the server closed the connection after it.
    """

    where: str
    cut_s: float | None
    reply: str
    closed: bool


async def _reply(reader: asyncio.StreamReader) -> bytes:
    """The last line of one reply (the one with a space after the code), or b"" at EOF."""
    while (line := await reader.readline()) and line[3:4] == b"-":
        pass
    return line


async def _expect(reader: asyncio.StreamReader, code: bytes) -> None:
    if not (line := await _reply(reader)).startswith(code):
        raise RuntimeError(f"expected {code.decode()}, the server said {line!r}")


async def _command(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes, code: bytes
) -> None:
    writer.write(line + b"\r\n")
    await _expect(reader, code)


async def _drip(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    where: str,
    interval_s: float,
    bound_s: float,
) -> Drip:
    """Drips until a reply comes or ``bound_s`` passes; the clock starts now."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    reply = asyncio.ensure_future(_reply(reader))
    octets = itertools.cycle(DRIPPED[where])
    try:
        while not reply.done() and loop.time() - started < bound_s:
            with contextlib.suppress(OSError):  # the server closed: its reply tells more
                writer.write(bytes([next(octets)]))
                await writer.drain()
            await asyncio.wait({reply}, timeout=interval_s)
        if not reply.done():
            return Drip(where, None, "(no reply)", closed=False)
        line = reply.result()
        cut_s = loop.time() - started if line.startswith(TIMEOUT_REPLY) else None
        closed = await asyncio.wait_for(reader.read(1), interval_s + 5) == b""
        return Drip(where, cut_s, line.decode(errors="replace").strip(), closed)
    finally:
        reply.cancel()
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 5)


async def _body(
    server: Running, context: ssl.SSLContext, interval_s: float, bound_s: float
) -> Drip:
    reader, writer = await asyncio.open_connection(
        server.host, server.smtps_port, ssl=context, server_hostname="localhost"
    )
    await _expect(reader, b"220")
    await _command(reader, writer, b"EHLO drip.example", b"250")
    credentials = f"\0{SENDER}\0{DEFAULT_ACCOUNT.password}".encode()
    await _command(reader, writer, b"AUTH PLAIN " + base64.b64encode(credentials), b"235")
    await _command(reader, writer, f"MAIL FROM:<{SENDER}>".encode(), b"250")
    await _command(reader, writer, f"RCPT TO:<{RECIPIENT}>".encode(), b"250")
    await _command(reader, writer, b"DATA", b"354")
    return await _drip(reader, writer, "body", interval_s, bound_s)


async def _command_drip(server: Running, interval_s: float, bound_s: float) -> Drip:
    reader, writer = await asyncio.open_connection(server.host, server.submission_port)
    await _expect(reader, b"220")
    await _command(reader, writer, b"EHLO drip.example", b"250")
    return await _drip(reader, writer, "command", interval_s, bound_s)


def drip_round(server: Running, *, interval_s: float = 0.5, bound_s: float = 10.0) -> list[Drip]:
    """A dripped body and a dripped command, at the same time, against ``server`` (started
    with ``--idle-timeout``)."""

    async def both() -> list[Drip]:
        context = tls_context(server)
        return list(
            await asyncio.gather(
                _body(server, context, interval_s, bound_s),
                _command_drip(server, interval_s, bound_s),
            )
        )

    return asyncio.run(both())


def drip_rounds(
    server: Running, rounds: int, *, interval_s: float = 0.5, bound_s: float = 10.0
) -> list[Drip]:
    """``rounds`` of :func:`drip_round`."""
    return [
        drip
        for _ in range(rounds)
        for drip in drip_round(server, interval_s=interval_s, bound_s=bound_s)
    ]
