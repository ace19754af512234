"""A raw-socket SMTP client that shows every line, and the wire vocabulary smtprig shares.

Standard library only. ``fakeserver`` builds on this package; this package never imports it.

The sans-io core (``ClientProtocol``, ``ReplyReader``) works without any socket.
"""

from __future__ import annotations

from client._auth import Login, Plain, SASLMechanism, XOAuth2
from client._events import (
    NEED_DATA,
    Capabilities,
    Command,
    ConnectionClosed,
    EnhancedStatus,
    Exchange,
    NeedData,
    Reply,
    ReplyKind,
    SendResult,
    Verb,
)
from client._protocol import ClientProtocol, ClientState
from client._wire import ReplyReader
from client.errors import (
    ConnectionLostError,
    LocalProtocolError,
    PermanentReplyError,
    ProtocolError,
    RemoteProtocolError,
    ReplyError,
    SMTPError,
    SMTPTimeoutError,
    TLSNegotiationError,
    TransientReplyError,
)

__all__ = [
    "NEED_DATA",
    "Capabilities",
    "ClientProtocol",
    "ClientState",
    "Command",
    "ConnectionClosed",
    "ConnectionLostError",
    "EnhancedStatus",
    "Exchange",
    "LocalProtocolError",
    "Login",
    "NeedData",
    "PermanentReplyError",
    "Plain",
    "ProtocolError",
    "RemoteProtocolError",
    "Reply",
    "ReplyError",
    "ReplyKind",
    "ReplyReader",
    "SASLMechanism",
    "SMTPError",
    "SMTPTimeoutError",
    "SendResult",
    "TLSNegotiationError",
    "TransientReplyError",
    "Verb",
    "XOAuth2",
]
