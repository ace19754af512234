"""Every exception the client raises. Each one carries structured attributes and builds its own
message, so no caller ever has to parse message text.

::

    SMTPError                        root of everything raised by this package
    ├── ProtocolError                one side broke the SMTP rules; the connection is finished
    │   ├── LocalProtocolError       we asked for something illegal; nothing was sent
    │   └── RemoteProtocolError      the server sent something that is not valid SMTP here
    ├── ReplyError                   a well-formed reply that refuses the command (.reply, .command)
    │   ├── TransientReplyError      4yz: try again later (RFC 5321 §4.2.1)
    │   └── PermanentReplyError      5yz: do not retry as is (RFC 5321 §4.2.1)
    ├── ConnectionLostError          the connection closed or broke while we needed it
    ├── SMTPTimeoutError             an operation did not finish in time (also a TimeoutError)
    └── TLSNegotiationError          the TLS handshake failed (untrusted CA, wrong name, ...)

After a ``ProtocolError``, a ``ConnectionLostError``, an ``SMTPTimeoutError`` or a
``TLSNegotiationError`` the client is closed. After a ``ReplyError`` the session goes on: the
server refused one command, and the caller decides what to do next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from client.protocol.events import Command, Reply

__all__ = [
    "ConnectionLostError",
    "LocalProtocolError",
    "PermanentReplyError",
    "ProtocolError",
    "RemoteProtocolError",
    "ReplyError",
    "SMTPError",
    "SMTPTimeoutError",
    "TLSNegotiationError",
    "TransientReplyError",
]


class SMTPError(Exception):
    """Root of every exception raised by the client."""


class ProtocolError(SMTPError):
    """One side broke the SMTP rules. Not raised itself: see its two subclasses."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LocalProtocolError(ProtocolError):
    """We asked for something SMTP does not allow here. Nothing was sent."""


class RemoteProtocolError(ProtocolError):
    """The server sent something that is not valid SMTP at this point.

    Attributes:
        data: the offending bytes, when there are some (a bad line, an unexpected reply).
        reply: the offending reply, when it parsed as one but was not allowed here.
    """

    def __init__(self, message: str, *, data: bytes = b"", reply: Reply | None = None) -> None:
        super().__init__(message)
        self.data = data
        self.reply = reply


class ReplyError(SMTPError):
    """The server refused a command with a well-formed 4yz or 5yz reply.

    Attributes:
        reply: the server's reply.
        command: the command it answers (AUTH payloads already redacted).
    """

    def __init__(self, reply: Reply, command: Command) -> None:
        super().__init__(f"{command.text!r} refused: {reply}")
        self.reply = reply
        self.command = command

    @staticmethod
    def for_reply(reply: Reply, command: Command) -> ReplyError:
        """The right subclass for ``reply``: transient for 4yz, permanent otherwise."""
        if reply.is_transient:
            return TransientReplyError(reply, command)
        return PermanentReplyError(reply, command)


class TransientReplyError(ReplyError):
    """A 4yz reply: the command may succeed if tried again later."""


class PermanentReplyError(ReplyError):
    """A 5yz reply: the same command will fail again."""


class ConnectionLostError(SMTPError):
    """The connection closed or broke while a reply was still owed, or while sending.

    Attributes:
        command: the command whose reply was pending, if any.
        partial: bytes of an unfinished reply line received before the loss.
    """

    def __init__(
        self, detail: str, *, command: Command | None = None, partial: bytes = b""
    ) -> None:
        waiting = f" while waiting for the reply to {command.text!r}" if command else ""
        tail = f" (unfinished reply line: {partial[:80]!r})" if partial else ""
        super().__init__(f"connection lost{waiting}: {detail}{tail}")
        self.command = command
        self.partial = partial


class SMTPTimeoutError(SMTPError, TimeoutError):
    """An operation (connect, handshake, send, or waiting for a reply) ran out of time.

    Attributes:
        operation: what was being done, e.g. ``"connect"`` or ``"reply to 'EHLO x'"``.
        timeout_s: the time allowed, in seconds.
    """

    def __init__(self, operation: str, timeout_s: float) -> None:
        super().__init__(f"{operation} did not finish within {timeout_s:g} s")
        self.operation = operation
        self.timeout_s = timeout_s


class TLSNegotiationError(SMTPError):
    """The TLS handshake failed; the cause is chained as ``__cause__``.

    Attributes:
        server_hostname: the name the certificate was checked against (``None`` if unchecked).
        reason: the TLS library's short explanation.
    """

    def __init__(self, reason: str, *, server_hostname: str | None) -> None:
        name = f" with {server_hostname!r}" if server_hostname else ""
        super().__init__(f"TLS handshake{name} failed: {reason}")
        self.server_hostname = server_hostname
        self.reason = reason
