"""A raw-socket SMTP client that shows every line, and the wire vocabulary smtprig shares.

Standard library only. ``fakeserver`` builds on this package; this package never imports it.

Three ways to use it:

- step by step, like the seed: ``SMTPClient.connect(...)``, then ``ehlo()``, ``starttls()``,
  ``auth_login()``, ``mail()``, ``rcpt()``, ``data()``, ``message_data()``, ``quit()``;
- a message at a time: ``client.send_message(email_message)``, or ``submit(Submission(...))``
  for the whole conversation, with swaks-style ``quit_after`` / ``drop_after``;
- raw, to test servers: ``send_bytes()`` any bytes, ``read_reply()`` structured replies.

The sans-io core (``ClientProtocol``, ``ReplyReader``) works without any socket. The transcript
format is ``client.transcript``; comparing a conversation with one is ``compare`` /
``assert_match`` (with ``NORMALISERS`` for what may differ), and ``client.replay`` replays a
transcript's client side against a server.
"""

from __future__ import annotations

from client._auth import Login, Plain, SASLMechanism, XOAuth2
from client._compare import Mismatch, TranscriptMismatch, assert_match, compare
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
from client._normalise import NORMALISERS, Normaliser
from client._protocol import ClientProtocol, ClientState
from client._socket import DEFAULT_TIMEOUT_S, SMTPClient
from client._submit import Step, Submission, TLSMode, submit
from client._transport import TranscriptSink
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
    "DEFAULT_TIMEOUT_S",
    "NEED_DATA",
    "NORMALISERS",
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
    "Mismatch",
    "NeedData",
    "Normaliser",
    "PermanentReplyError",
    "Plain",
    "ProtocolError",
    "RemoteProtocolError",
    "Reply",
    "ReplyError",
    "ReplyKind",
    "ReplyReader",
    "SASLMechanism",
    "SMTPClient",
    "SMTPError",
    "SMTPTimeoutError",
    "SendResult",
    "Step",
    "Submission",
    "TLSMode",
    "TLSNegotiationError",
    "TranscriptMismatch",
    "TranscriptSink",
    "TransientReplyError",
    "Verb",
    "XOAuth2",
    "assert_match",
    "compare",
    "submit",
]
