"""What a session asks of the transport, in order: write, start TLS, read, close.

:meth:`Session.handle <fakeserver.session.session.Session.handle>` returns a list of these. The
transport carries them out one after the other and tells the session what came of each (the
bytes written, the line or message read) as new events. Everything else a session does (the
message it stores before its 250, the transcript lines) it does itself through its journal, so
that no acknowledged message can wait on the transport.
"""

from __future__ import annotations

from dataclasses import dataclass

from fakeserver.scripting.faults import BodyPlan, ReplyPlan

__all__ = [
    "Action",
    "CloseConnection",
    "ReadChunk",
    "ReadMessage",
    "ReadSaslResponse",
    "Send",
    "StartTLS",
]


@dataclass(frozen=True, slots=True)
class Send:
    """Write a reply as ``plan`` says (its bytes, and how faults shape the writing)."""

    plan: ReplyPlan


@dataclass(frozen=True, slots=True)
class StartTLS:
    """Start the server side of a TLS handshake, once everything before it is written."""


@dataclass(frozen=True, slots=True)
class ReadSaslResponse:
    """Read one line answering a 334 challenge, of at most ``limit_octets`` (CRLF included)."""

    limit_octets: int


@dataclass(frozen=True, slots=True)
class ReadMessage:
    """Read message data up to ``<CRLF>.<CRLF>``, keeping at most ``size_limit`` octets, as
    ``plan`` says (a fault may drop the connection part way)."""

    size_limit: int
    plan: BodyPlan


@dataclass(frozen=True, slots=True)
class ReadChunk:
    """Read one BDAT chunk of ``size`` octets, keeping it or throwing it away."""

    size: int
    keep: bool


@dataclass(frozen=True, slots=True)
class CloseConnection:
    """End the connection once what is written has gone, or at once by a TCP reset."""

    reset: bool = False


Action = Send | StartTLS | ReadSaslResponse | ReadMessage | ReadChunk | CloseConnection
"""Everything a session can ask of the transport."""
