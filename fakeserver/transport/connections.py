"""What serves each listener's connections: a protocol per connection (the aiosmtpd adapter's,
handed in), behind an implicit-TLS handshake on an implicit-TLS port; and the set of open
connections, which a reset between tests or a shutdown drops."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

from fakeserver.transport.implicit_tls import ImplicitTLS, Served

__all__ = ["ProtocolFactory"]


class ProtocolFactory:
    """Makes the protocol for each connection of one listener, and can close them all.

    Args:
        make: makes the protocol that serves a connection, given the set of open ones, which
            it joins while it is open.
        implicit_tls: whether the listener's clients start with a TLS handshake.
        tls_context: the server context for those handshakes.
        loop: the server's event loop.
        idle_timeout_s: a client that connects and never finishes its handshake is idle too.
    """

    def __init__(
        self,
        make: Callable[[set[Served]], Served],
        *,
        implicit_tls: bool,
        tls_context: ssl.SSLContext,
        loop: asyncio.AbstractEventLoop,
        idle_timeout_s: float,
    ) -> None:
        self._make = make
        self._implicit_tls = implicit_tls
        self._tls_context = tls_context
        self._loop = loop
        self._idle_timeout_s = idle_timeout_s
        self._live: set[Served] = set()

    def __call__(self) -> asyncio.BaseProtocol:
        served = self._make(self._live)
        if self._implicit_tls:
            return ImplicitTLS(served, self._tls_context, self._loop, self._idle_timeout_s)
        assert isinstance(served, asyncio.Protocol)
        return served

    async def close_all(self, *, timeout_s: float) -> None:
        """Drops every open connection and waits, at most ``timeout_s``, until they are gone.

        Aborting rather than closing: a TLS close waits for the client's close_notify,
        which an idle client never sends, and shutdown must not wait for clients.
        """
        protocols = list(self._live)
        for protocol in protocols:
            protocol.abort()
        if protocols:
            await asyncio.wait([protocol.lost for protocol in protocols], timeout=timeout_s)

    @property
    def open_connections(self) -> int:
        return len(self._live)
