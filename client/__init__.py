"""A raw-socket SMTP client that shows every line, and the wire vocabulary smtprig shares.

Standard library only. ``fakeserver`` builds on this package; this package never imports it.

Three ways to use it:

- step by step, like the seed: ``SMTPClient.connect(...)``, then ``ehlo()``, ``starttls()``,
  ``auth_login()``, ``mail()``, ``rcpt()``, ``data()``, ``message_data()``, ``quit()``;
- a message at a time: ``client.send_message(email_message)``, or ``submit(Submission(...))``
  for the whole conversation, with swaks-style ``quit_after`` / ``drop_after``;
- raw, to test servers: ``send_bytes()`` any bytes, ``read_reply()`` structured replies.

The sans-io core (``ClientProtocol``, ``ReplyReader``...) is ``client.protocol``, and works
without any socket. The transcript format, and comparing a conversation with one (``compare``,
``assert_match``, ``NORMALISERS``), is ``client.transcript``; ``client.replay`` replays a
transcript's client side against a server.
"""

from __future__ import annotations

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
from client.protocol.events import Capabilities, EnhancedStatus, Reply, ReplyKind, SendResult
from client.protocol.sasl import Login, Plain, SASLMechanism, XOAuth2
from client.protocol.states import ClientState
from client.smtp_client import DEFAULT_TIMEOUT_S, SMTPClient
from client.submit import StopPoint, Submission, submit
from client.tls_mode import TLSMode
from client.transport import TranscriptSink

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "Capabilities",
    "ClientState",
    "ConnectionLostError",
    "EnhancedStatus",
    "LocalProtocolError",
    "Login",
    "PermanentReplyError",
    "Plain",
    "ProtocolError",
    "RemoteProtocolError",
    "Reply",
    "ReplyError",
    "ReplyKind",
    "SASLMechanism",
    "SMTPClient",
    "SMTPError",
    "SMTPTimeoutError",
    "SendResult",
    "StopPoint",
    "Submission",
    "TLSMode",
    "TLSNegotiationError",
    "TranscriptSink",
    "TransientReplyError",
    "XOAuth2",
    "submit",
]
