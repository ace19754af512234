"""The handshake of a connection to an implicit-TLS port, done so that a failed one is seen.

asyncio's server can do the handshake itself (``create_server(ssl=...)``), but it drops a
connection whose handshake fails without a word to the protocol: a client that does not trust
the fake's CA, or speaks clear text to port 465, would leave no trace, and that is the failure
a test most needs explained. So the implicit-TLS listener accepts in clear text, and each
connection's protocol is :class:`ImplicitTLS`: asyncio's own TLS protocol (what
``create_server(ssl=...)`` puts there), which also opens the session when the client connects,
and tells it why when the handshake fails.

``asyncio.sslproto.SSLProtocol`` is not in asyncio's documentation, but aiosmtpd's STARTTLS
is built on it too, and its constructor has kept its shape since Python 3.7. ``loop.start_tls``
would do without it, at the price of a task per connection, and of a gap: a loop that reads
before ``start_tls`` has put its protocol in place (uvloop does) loses the ClientHello.
"""

from __future__ import annotations

import asyncio
import ssl
from asyncio import sslproto
from typing import Protocol

from fakeserver.session.events import TLSFailed
from fakeserver.transport.tls import failed_handshake

__all__ = ["ImplicitTLS", "Served"]

_HANDSHAKE_TIMEOUT_S = 30.0
# How long a closing TLS connection waits for the client's close_notify (asyncio's default
# is 30 s, which would keep a connection whose client has gone quiet).
_SHUTDOWN_TIMEOUT_S = 5.0


class Served(Protocol):
    """The protocol that serves one connection (the aiosmtpd adapter's), as the implicit-TLS
    handshake and the listener's factory (connections.py) need it."""

    lost: asyncio.Future[None]
    """Done once the connection is gone."""

    def connection_started(self, transport: asyncio.BaseTransport) -> None:
        """The client connected; its handshake starts."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """The handshake is done: ``transport`` is the TLS one."""

    def handshake_failed(self, failure: TLSFailed) -> None:
        """The handshake failed, as ``failure`` says, and the connection is closed (ignored
        once ``connection_made`` has been called)."""

    def abort(self) -> None:
        """Drops the connection at once."""


class ImplicitTLS(sslproto.SSLProtocol):
    """asyncio's TLS protocol for one connection, telling ``served`` how its handshake went.

    Args:
        served: what serves the connection under TLS.
        context: the server's TLS context.
        loop: the server's loop.
        idle_timeout_s: a client that connects and never finishes its handshake is idle too.
    """

    def __init__(
        self,
        served: Served,
        context: ssl.SSLContext,
        loop: asyncio.AbstractEventLoop,
        idle_timeout_s: float,
    ) -> None:
        self._served = served
        self._timeout_s = min(_HANDSHAKE_TIMEOUT_S, idle_timeout_s)
        handshake: asyncio.Future[None] = loop.create_future()
        handshake.add_done_callback(self._handshake_done)
        super().__init__(
            loop,
            served,  # type: ignore[arg-type]  # an asyncio.Protocol, as typeshed wants
            context,
            handshake,
            server_side=True,
            ssl_handshake_timeout=self._timeout_s,  # type: ignore[arg-type]  # seconds, float
            ssl_shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._served.connection_started(transport)
        super().connection_made(transport)

    def _handshake_done(self, handshake: asyncio.Future[None]) -> None:
        # Done with an error (refused, timed out), or with none when the client closed first.
        error = None if handshake.cancelled() else handshake.exception()
        # (asyncio's SSLProtocol keeps its SSLObject as _sslobj, as since Python 3.7)
        ssl_object = getattr(self, "_sslobj", None)
        self._served.handshake_failed(failed_handshake(error, ssl_object, self._timeout_s))
