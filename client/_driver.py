"""The loop under ``SMTPClient``: one protocol core, one transport, and the round trip between
them.

Every command goes the same way: the core encodes it (or refuses it before a byte is sent), the
transport writes the bytes, then reads until the core has the reply. Each round trip has its
own deadline of the transport's ``timeout_s``, so a server that stalls, or drips one byte at a
time, cannot hold the caller longer than that.

Before the core encodes a command, the driver hands it whatever the server has sent meanwhile,
read without waiting: a reply that came before its command was sent answers nothing, and the
core can tell only if it has the bytes before it has the command (issue 16: a ``250`` sent with
the ``354``, before the end of data, must not count as the end of data's reply).

The step methods of ``SMTPClient``, message sending (``client._sending``) and raw mode
(``client._raw``) all go through one ``Driver``; it is the only owner of the core and the
transport, and knows nothing of what the commands are for.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import ParamSpec

from client.errors import (
    ConnectionLostError,
    ProtocolError,
    ReplyError,
    SMTPTimeoutError,
    TLSNegotiationError,
)
from client.protocol.connection import ClientProtocol
from client.protocol.events import ConnectionClosed, Exchange, Reply, Verb
from client.protocol.states import ClientState
from client.transport import Transport

__all__ = ["FATAL_ERRORS", "Driver", "reply_or_raise"]

FATAL_ERRORS = (ProtocolError, ConnectionLostError, SMTPTimeoutError, TLSNegotiationError)
"""Errors after which the conversation is out of step: the connection is closed."""

_P = ParamSpec("_P")


class Driver:
    """Moves bytes between a ``ClientProtocol`` and a ``Transport``.

    Args:
        transport: a connected transport; the driver owns it from now on.
        ssl_context: the context for TLS; the system's trust store by default.

    Attributes:
        core: the protocol state of this connection.
        transport: the connection itself.
    """

    def __init__(self, transport: Transport, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.transport = transport
        self.core = ClientProtocol()
        self._ssl_context = ssl_context

    def encode(self, encode: Callable[_P, bytes], /, *args: _P.args, **kwargs: _P.kwargs) -> bytes:
        """Have the core encode one command: ``encode`` is one of its command methods. If no
        command is waiting for its reply, what the server sent meanwhile is handed to the core
        first.

        Raises:
            LocalProtocolError: the core refused the command; nothing was sent.
            ConnectionLostError: the connection broke.
        """
        # With nothing outstanding, any byte that arrived is early. Behind a command already
        # encoded (a pipelined group), its check covered the group: one read per write keeps
        # a server that floods from filling memory before the replies are parsed.
        if not self.core.pending and not self.transport.closed:
            self._take_early_bytes()
        return encode(*args, **kwargs)

    def command(self, encode: Callable[_P, bytes], /, *args: _P.args, **kwargs: _P.kwargs) -> Reply:
        """Encode, send and wait for the reply, as ``exchange``; a 4yz or 5yz reply raises.

        Raises:
            ReplyError: the server refused.
        """
        return reply_or_raise(self.exchange(encode, *args, **kwargs))

    def exchange(
        self, encode: Callable[_P, bytes], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> Exchange:
        """Encode one command with the core's method ``encode``, send it, and wait for its
        reply, all within one ``timeout_s``.

        Raises:
            LocalProtocolError: the core refused the command; nothing was sent.
            RemoteProtocolError, ConnectionLostError, SMTPTimeoutError: see ``client.errors``.
        """
        wire = self.encode(encode, *args, **kwargs)
        # A line that answers a 334 challenge is a secret: the transcript and the log hide it.
        sasl_response = self.core.pending[-1].verb is Verb.SASL_RESPONSE
        deadline = self.transport.deadline()
        self.transport.send(wire, deadline, sasl_response=sasl_response)
        return self.next_exchange(deadline)

    def send(self, wire: bytes) -> None:
        """Write commands the core has already encoded, within one ``timeout_s``."""
        self.transport.send(wire, self.transport.deadline())

    def next_exchange(self, deadline: float | None = None) -> Exchange:
        """Read until the core has the next reply, by ``deadline`` (one ``timeout_s`` from now
        by default).

        Raises:
            ConnectionLostError: the server closed first.
            RemoteProtocolError, SMTPTimeoutError: see ``client.errors``.
        """
        deadline = self.transport.deadline() if deadline is None else deadline
        # Each turn either returns, raises, or waits for bytes before the deadline.
        while True:
            event = self.core.next_event()
            if isinstance(event, Exchange):
                self.transport.report_received(event.reply.wire)
                if self.core.state is ClientState.CLOSED and event.command.verb is not Verb.QUIT:
                    self.transport.close()
                return event
            if isinstance(event, ConnectionClosed):
                self.transport.close()
                raise ConnectionLostError(
                    "the server closed", command=event.pending, partial=event.partial
                )
            waiting_for = self.core.pending[0] if self.core.pending else None
            self.core.receive_data(self.transport.receive(deadline, waiting_for=waiting_for))

    def start_tls(self, deadline: float | None = None) -> None:
        """The client side of the TLS handshake, by ``deadline`` (one ``timeout_s`` from now by
        default).

        Raises:
            TLSNegotiationError, SMTPTimeoutError, ConnectionLostError: see ``client.errors``.
        """
        deadline = self.transport.deadline() if deadline is None else deadline
        self.transport.start_tls(self._tls_context(), deadline)

    def close(self) -> None:
        """Close the connection; safe to call more than once."""
        self.transport.close()
        self.core.connection_closed()

    def _take_early_bytes(self) -> None:
        # One read at most: enough to see that the server spoke out of turn, and a server that
        # never stops writing cannot keep the client here.
        data = self.transport.receive_nowait()
        if data is not None:
            self.core.receive_data(data)

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            # Loaded on first use: reading the system trust store costs tens of milliseconds.
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context


def reply_or_raise(exchange: Exchange) -> Reply:
    """The exchange's reply, or its ``ReplyError`` when the server refused (4yz, 5yz)."""
    if exchange.reply.code >= 400:
        raise ReplyError.for_reply(exchange.reply, exchange.command)
    return exchange.reply
