"""What the transport tells a session: one small value per thing that happened on the wire.

The transport (:mod:`fakeserver.transport`) reads bytes, and hands each result to
:meth:`Session.handle <fakeserver.session.session.Session.handle>` as one of these. Raw lines
come exactly as the client sent them (line ending included), so the session can record them
as they were and decide itself which are secrets.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ChunkReceived",
    "ClientData",
    "Command",
    "Connected",
    "ConnectionLost",
    "Event",
    "IdleTimeout",
    "InternalError",
    "LineTooLong",
    "MessageLost",
    "MessageReceived",
    "SaslResponse",
    "TLSFailed",
    "TLSStarted",
    "Unrecognized",
    "Written",
]


@dataclass(frozen=True, slots=True)
class Connected:
    """The client is connected (on an implicit-TLS port, its handshake is done): greet it."""


@dataclass(frozen=True, slots=True)
class TLSStarted:
    """A TLS handshake finished: on an implicit-TLS port before the greeting, or after
    STARTTLS, in which case ``discarded`` octets the client pipelined in clear text were thrown
    away (RFC 3207 §4.2). ``bad_certificate`` names the kind of bad certificate a fault
    presented (``"untrusted"``, ``"wrong_name"``, ``"expired"``), which the client accepted."""

    tls_version: str | None
    tls_cipher: str | None
    discarded: int = 0
    bad_certificate: str | None = None


@dataclass(frozen=True, slots=True)
class TLSFailed:
    """A TLS handshake failed (on an implicit-TLS port, before anything else was said), for
    ``reason``: the client refused the certificate, spoke clear text, or never finished.
    ``scripted`` is true when a fault refused the handshake itself."""

    reason: str
    scripted: bool = False


@dataclass(frozen=True, slots=True)
class Command:
    """A command line whose verb the session knows (``verb`` in upper case).

    Attributes:
        verb: the command name, upper case.
        argument: the rest of the line, stripped.
        line: the line as received, ending included.
        more_waiting: the client had already sent more when this line was taken (it pipelined).
    """

    verb: str
    argument: str
    line: bytes
    more_waiting: bool = False


@dataclass(frozen=True, slots=True)
class Unrecognized:
    """A line that is no command: an unknown verb, an empty line, or bytes that are not ASCII."""

    line: bytes


@dataclass(frozen=True, slots=True)
class LineTooLong:
    """A command line past the persona's limit (``line`` is its start)."""

    line: bytes


@dataclass(frozen=True, slots=True)
class SaslResponse:
    """The line after a 334 challenge, as received; ``too_long`` when it passed the limit (then
    ``line`` is only its start)."""

    line: bytes
    too_long: bool = False


@dataclass(frozen=True, slots=True)
class ClientData:
    """Octets of a message body or BDAT chunk, as they came (for the transcript)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """The end of DATA: the message dot-unstuffed, or None when it passed the size limit."""

    content: bytes | None
    more_waiting: bool = False


@dataclass(frozen=True, slots=True)
class MessageLost:
    """Reading the message stopped before its end: the client went away, or the body plan said
    to drop the connection after so many octets (``by_fault``)."""

    by_fault: bool


@dataclass(frozen=True, slots=True)
class ChunkReceived:
    """A BDAT chunk, or None when it was read and thrown away (refused, or past the limit)."""

    chunk: bytes | None


@dataclass(frozen=True, slots=True)
class Written:
    """Octets handed to the transport: what reached the wire, after every fault."""

    data: bytes


@dataclass(frozen=True, slots=True)
class IdleTimeout:
    """The client made no progress for the idle timeout."""


@dataclass(frozen=True, slots=True)
class InternalError:
    """Something failed inside the fake while it answered (the error is reported apart)."""


@dataclass(frozen=True, slots=True)
class ConnectionLost:
    """The connection is gone. ``unread`` octets the client sent were never read; ``aborted``
    when the server dropped it (stopped, or reset between tests)."""

    unread: int = 0
    aborted: bool = False


Event = (
    Connected
    | TLSStarted
    | TLSFailed
    | Command
    | Unrecognized
    | LineTooLong
    | SaslResponse
    | ClientData
    | MessageReceived
    | MessageLost
    | ChunkReceived
    | Written
    | IdleTimeout
    | InternalError
    | ConnectionLost
)
"""Everything a session can be told."""
