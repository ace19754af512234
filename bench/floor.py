"""The floor: what a Python SMTP server on asyncio pays for the benchmark's work when it does
nothing else, to read the other figures against.

It answers the load generator's commands with fixed replies, over the same TLS (asyncio's
``SSLProtocol``, the certificate from the benchmark's certs dir) as the fake and aiosmtpd: no
parsing beyond finding line ends and the verb, no checks, no password, nothing kept. A Python
server on asyncio's TLS can hardly take less for one command at a time; a figure near the
floor has little left to win but in the TLS layer or the loop.

    python -m bench.floor CERTS_DIR

prints one ready line of JSON (as ``python -m bench.servers aiosmtpd`` does), then serves
implicit TLS and STARTTLS on two free loopback ports until terminated.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from pathlib import Path

from bench.servers import ProtocolFactory, serve_reference

_EHLO = b"250-floor\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n"
_REPLIES = {
    b"EHLO": _EHLO,
    b"AUTH": b"235 ok\r\n",
    b"MAIL": b"250 ok\r\n",
    b"RCPT": b"250 ok\r\n",
    b"DATA": b"354 go ahead\r\n",
    b"QUIT": b"221 bye\r\n",
}
_LINE_LIMIT = 1 << 20  # a client that never ends a line is cut off


class Floor(asyncio.Protocol):
    """One connection: a fixed reply per command, the message data skipped to its dot."""

    def __init__(self, context: ssl.SSLContext | None) -> None:
        self._starttls = context  # the port that upgrades; None on the implicit-TLS one
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._in_data = False
        self._upgrading = False
        self._upgrade_task: asyncio.Task[None] | None = None  # kept: the loop holds tasks weakly

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(b"220 floor ready\r\n")

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        buffer = self._buffer + data
        if self._upgrading:
            # The client's first lines under TLS can come before start_tls() has returned
            # the TLS transport to write the replies to: they wait for it.
            self._buffer = buffer
            return
        replies = []
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            line, start = buffer[start:end].rstrip(b"\r"), end + 1
            if self._in_data:
                self._in_data = line != b"."
                if not self._in_data:
                    replies.append(b"250 ok\r\n")
                continue
            if self._starttls is not None and line.upper() == b"STARTTLS":
                self._transport.write(b"".join(replies) + b"220 go ahead\r\n")
                self._buffer, self._upgrading = b"", True
                self._upgrade_task = asyncio.ensure_future(self._upgrade(self._starttls))
                return
            verb = line[:4].upper()
            replies.append(_REPLIES.get(verb, b"250 ok\r\n"))
            self._in_data = verb == b"DATA"
            if verb == b"QUIT":
                self._transport.write(b"".join(replies))
                self._transport.close()
                return
        self._buffer = buffer[start:]
        if len(self._buffer) > _LINE_LIMIT:
            self._transport.abort()
        elif replies:
            self._transport.write(b"".join(replies))

    async def _upgrade(self, context: ssl.SSLContext) -> None:
        assert self._transport is not None
        loop = asyncio.get_running_loop()
        try:
            upgraded = await loop.start_tls(self._transport, self, context, server_side=True)
        except (OSError, ssl.SSLError):
            self._transport.abort()
            return
        assert isinstance(upgraded, asyncio.Transport)
        self._transport, self._starttls, self._upgrading = upgraded, None, False
        self.data_received(b"")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m bench.floor CERTS_DIR")

    def factories(
        context: ssl.SSLContext, loop: asyncio.AbstractEventLoop
    ) -> tuple[ProtocolFactory, ProtocolFactory]:
        return (lambda: Floor(None)), (lambda: Floor(context))

    serve_reference(Path(sys.argv[1]), factories)


if __name__ == "__main__":
    main()
