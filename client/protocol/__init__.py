"""The client's sans-io core: SMTP framing, replies and commands as values, the state machine,
SASL exchanges and message preparation, with no socket anywhere.

Feed :class:`ReplyReader` the bytes received and it hands back :class:`Reply` values;
:class:`ClientProtocol` checks each command against the state it is in and encodes it;
:func:`prepare_message` turns a message into a :class:`PreparedMessage` and
:func:`judge_envelope` judges the replies to its envelope. The socket driver,
:class:`client.SMTPClient`, is built on these; so can any other driver be.
"""

from __future__ import annotations

from client.protocol.connection import ClientProtocol
from client.protocol.events import (
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
from client.protocol.message import (
    EnvelopeVerdict,
    PreparedMessage,
    judge_envelope,
    prepare_message,
)
from client.protocol.sasl import Login, Plain, SASLConversation, SASLMechanism, XOAuth2
from client.protocol.states import ClientState, state_diagram
from client.protocol.wire import ReplyReader, dot_stuff, encode_command_line, encode_message_data

__all__ = [
    "NEED_DATA",
    "Capabilities",
    "ClientProtocol",
    "ClientState",
    "Command",
    "ConnectionClosed",
    "EnhancedStatus",
    "EnvelopeVerdict",
    "Exchange",
    "Login",
    "NeedData",
    "Plain",
    "PreparedMessage",
    "Reply",
    "ReplyKind",
    "ReplyReader",
    "SASLConversation",
    "SASLMechanism",
    "SendResult",
    "Verb",
    "XOAuth2",
    "dot_stuff",
    "encode_command_line",
    "encode_message_data",
    "judge_envelope",
    "prepare_message",
    "state_diagram",
]
