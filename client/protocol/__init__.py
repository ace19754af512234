"""The client's sans-io core: SMTP framing, replies and commands as values, the state machine,
SASL exchanges and envelope preparation, with no socket anywhere.

Feed :class:`ReplyReader` the bytes received and it hands back :class:`Reply` values;
:class:`ClientProtocol` checks each command against the state it is in and encodes it. The socket
driver, :class:`client.SMTPClient`, is built on these; so can any other driver be.
"""

from __future__ import annotations

from client.protocol.connection import ClientProtocol, ClientState, state_diagram
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
from client.protocol.sasl import SASLConversation
from client.protocol.wire import ReplyReader, dot_stuff, encode_command_line, encode_message_data

__all__ = [
    "NEED_DATA",
    "Capabilities",
    "ClientProtocol",
    "ClientState",
    "Command",
    "ConnectionClosed",
    "EnhancedStatus",
    "Exchange",
    "NeedData",
    "Reply",
    "ReplyKind",
    "ReplyReader",
    "SASLConversation",
    "SendResult",
    "Verb",
    "dot_stuff",
    "encode_command_line",
    "encode_message_data",
    "state_diagram",
]
