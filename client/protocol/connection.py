"""The SMTP client as a sans-io state machine: everything that changes client state lives here.

The driver feeds it received bytes (``receive_data``; ``b""`` means the server closed), asks it
for the next event (``next_event``: an ``Exchange``, ``ConnectionClosed`` or ``NEED_DATA``), and
asks it to encode commands (``ehlo()``, ``mail()``, ...), each of which returns the bytes to
send. It never touches a socket, a clock, randomness or a logger.

Theory of operation:
- ``TRANSITIONS`` (``client.protocol.states``) is the whole state machine: for each (state,
  verb) a command is allowed in, the state each class of reply leads to. A reply class missing
  from an entry is a protocol violation by the server. This module runs the table.
- A command is checked before any byte is produced: the state it would be sent in, the
  extension it needs, and its arguments. Misuse raises ``LocalProtocolError``.
- Commands may be pipelined (RFC 2920) only if the server offered PIPELINING, and only after
  MAIL, RCPT, RSET and the end of data; every other command ends a group and must be
  answered first. A command
  queued behind others is checked against the state they lead to if all of them succeed.
- Replies are matched to commands in order. If an earlier command of a pipelined group was
  refused, a later one arrives in a state it was not sent for: a refusal then changes nothing,
  and an acceptance is a protocol violation.
- A reply answers only a command sent before it arrived (RFC 5321 §4.2: one reply per command,
  after it). The core counts the octets received and notes, for each command, how many had
  arrived when it was encoded; a reply whose first octet came earlier answers nothing, e.g. a
  250 sent with the 354, before the end of data. Only a closing notice may come early, and it
  ends the connection: a 421 (RFC 5321 §3.8 lets a server announce its shutdown
  asynchronously, to be read after the next command), or a 4yz about the connection (4.4.x),
  as Gmail's idle timeout ``451 4.4.2 Timeout - closing connection.``
  The driver must hand over what has arrived before it asks for the next command, or an early
  reply looks like a late one.
- After a ``LocalProtocolError`` or a ``RemoteProtocolError`` the state is ``ERROR`` for good.
  ``CLOSED`` is reached by QUIT, by a 421 reply or an early closing notice, or when the server
  closes.
"""

from __future__ import annotations

import base64
import collections
from collections.abc import Sequence
from typing import Final

from client.errors import LocalProtocolError, RemoteProtocolError
from client.protocol.events import (
    NEED_DATA,
    Capabilities,
    Command,
    ConnectionClosed,
    Exchange,
    NeedData,
    Reply,
    ReplyKind,
    Verb,
)
from client.protocol.states import TRANSITIONS, ClientState
from client.protocol.wire import (
    MAX_PATH_OCTETS,
    MAX_SASL_LINE_OCTETS,
    ReplyReader,
    encode_command_line,
    encode_message_data,
)

__all__ = ["ClientProtocol"]


_S = ClientState
_V = Verb
_DONE = ReplyKind.COMPLETION

# RFC 2920 §3.1 (and RFC 3207 §4.2, RFC 4954 §4 for STARTTLS and AUTH): every other command
# must be the last of a pipelined group, so nothing may be queued behind it. The end of data
# is no command: whatever its reply, the transaction is over (RFC 5321 §4.1.1.4), so what
# follows it is sent in a known state, as in RFC 2920's example ("." then QUIT in one group).
_PIPELINABLE: Final = frozenset({_V.MAIL, _V.RCPT, _V.RSET, _V.END_OF_DATA})

# Extensions a command needs the server to have offered.
_REQUIRED_EXTENSION: Final = {_V.STARTTLS: "STARTTLS", _V.AUTH: "AUTH"}

# MAIL and RCPT parameters, and the EHLO keyword that must be offered before they are used
# (RFC 1870 §6, RFC 6152 §2, RFC 6531 §3.4, RFC 4954 §5, RFC 3461 §4).
_PARAMETER_EXTENSIONS: Final = {
    "SIZE": "SIZE",
    "BODY": "8BITMIME",
    "SMTPUTF8": "SMTPUTF8",
    "AUTH": "AUTH",
    "RET": "DSN",
    "ENVID": "DSN",
    "NOTIFY": "DSN",
    "ORCPT": "DSN",
}

# RFC 5321 §3.8: a 421 reply means the server is closing the channel, whatever it answers.
_CLOSING_CODE: Final = 421
# RFC 3463 §3.5: X.4.Y is about the network or the connection. Gmail closes an idle
# connection with an unsolicited "451 4.4.2 Timeout - closing connection." (replies.md §12.5),
# a notice that, like a 421, comes before the command it ends up answering.
_CONNECTION_SUBJECT: Final = 4


def _closing_notice(reply: Reply) -> bool:
    """The server says it is closing: a 421, or a 4yz about the connection (4.4.x)."""
    if reply.code == _CLOSING_CODE:
        return True
    status = reply.enhanced_status
    return reply.code // 100 == 4 and status is not None and status.subject == _CONNECTION_SUBJECT


class ClientProtocol:
    """One SMTP client connection's protocol state, without any I/O.

    Attributes:
        capabilities: what the last EHLO reply offered (empty after HELO); None before any
            EHLO or HELO succeeded, and again after STARTTLS (RFC 3207 §4.2).
        tls_active: whether the TLS handshake after STARTTLS completed.
        extended: the session was opened with EHLO, so ``capabilities`` is what the server
            offers; after HELO nothing is known.
    """

    def __init__(self, *, reader: ReplyReader | None = None) -> None:
        self._state = ClientState.CONNECTED
        self._reader = reader if reader is not None else ReplyReader()
        # Each command waiting for its reply, with the octets received when it was encoded.
        self._pending: collections.deque[tuple[Command, int]] = collections.deque(
            [(Command(_V.GREETING, "<greeting>"), 0)]
        )
        self._received_octets = 0
        self._replied_octets = 0
        self._eof = False
        self.capabilities: Capabilities | None = None
        self.tls_active = False
        self.extended = False

    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def pending(self) -> tuple[Command, ...]:
        """Commands sent whose replies have not arrived yet, oldest first."""
        return tuple(command for command, _ in self._pending)

    def receive_data(self, data: bytes) -> None:
        """Hand over bytes read from the network; ``b""`` means the server closed.

        Hand over what has arrived before encoding the next command: bytes received later
        count as sent after it.
        """
        if data:
            self._reader.feed(data)
            self._received_octets += len(data)
        else:
            self._eof = True

    def next_event(self) -> Exchange | ConnectionClosed | NeedData:
        """The next thing that happened: a reply to a command, the close, or ``NEED_DATA``.

        Raises:
            RemoteProtocolError: the server sent a malformed or unexpected reply.
            LocalProtocolError: called in ``ERROR`` or ``RAW`` state.
        """
        if self._state in (_S.ERROR, _S.RAW):
            raise LocalProtocolError(f"no events in state {self._state.name}")
        try:
            reply = self._reader.next_reply()
        except RemoteProtocolError:
            self._state = _S.ERROR
            raise
        if reply is None:
            if not self._eof:
                return NEED_DATA
            self._state = _S.CLOSED
            pending = self._pending[0][0] if self._pending else None
            return ConnectionClosed(pending, self._reader.pending())
        began_at = self._replied_octets
        self._replied_octets += sum(map(len, reply.wire))
        if not self._pending:
            raise self._remote_error(f"unsolicited reply {str(reply)[:80]!r}", reply)
        command, sent_at = self._pending.popleft()
        early = began_at < sent_at
        if early and _closing_notice(reply):
            # It answers the command in the sense that matters: the command was not done, and
            # the connection is over. (A 4.4.x that answers its command closes nothing.)
            self._state = _S.CLOSED
            return Exchange(command, reply)
        if early:
            raise self._remote_error(
                f"{str(reply)[:80]!r} came before {command.text!r} was sent, so it answers "
                "nothing (RFC 5321 §4.2: a reply follows its command)",
                reply,
            )
        self._apply(command, reply)
        return Exchange(command, reply)

    def allows(self, verb: Verb) -> bool:
        """Whether a command with ``verb`` could be sent now, as far as state and pipelining
        go (its extension and arguments are checked only when it is encoded)."""
        if self._state in (_S.ERROR, _S.CLOSED, _S.RAW) or self._must_wait() is not None:
            return False
        return (self._projected_state(), verb) in TRANSITIONS

    def connection_closed(self) -> None:
        """Record that the driver closed the connection; the state becomes ``CLOSED`` unless it
        is ``ERROR``."""
        if self._state is not _S.ERROR:
            self._state = _S.CLOSED

    def take_over(self) -> bytes:
        """Hand the wire to the caller (raw mode) and return any received bytes not yet
        parsed. From now on the state is ``RAW`` and no command method works."""
        self._state = _S.RAW
        self._pending.clear()
        return self._reader.pending()

    def ehlo(self, name: str) -> bytes:
        """``EHLO name`` (RFC 5321 §4.1.1.1)."""
        self._check_name(name)
        return self._command(_V.EHLO, f"EHLO {name}")

    def helo(self, name: str) -> bytes:
        """``HELO name``, for servers that refuse EHLO (RFC 5321 §4.1.1.1)."""
        self._check_name(name)
        return self._command(_V.HELO, f"HELO {name}")

    def starttls(self) -> bytes:
        """``STARTTLS`` (RFC 3207 §4)."""
        if self.tls_active:
            raise self._local_error("TLS is already active (RFC 3207 §4.2: STARTTLS only once)")
        return self._command(_V.STARTTLS, "STARTTLS")

    def tls_established(self) -> None:
        """Record that the driver completed the TLS handshake after a 220 to STARTTLS."""
        self._check_allowed(_V.TLS_HANDSHAKE, self._state)
        self._state = TRANSITIONS[(self._state, _V.TLS_HANDSHAKE)][_DONE]
        self.capabilities = None
        self.extended = False
        self.tls_active = True

    def auth(self, mechanism: str, initial_response: bytes | None = None) -> bytes:
        """``AUTH mechanism [initial-response]`` (RFC 4954 §4); the response is base64-encoded
        here, and an empty one is sent as ``=``."""
        mechanism = mechanism.upper()
        self._check_allowed(_V.AUTH, self._projected_state())
        offered = self.capabilities.auth_mechanisms if self.capabilities else ()
        if offered and mechanism not in offered:
            raise self._local_error(
                f"AUTH {mechanism} is not offered; the server offers {' '.join(offered)}"
            )
        text = f"AUTH {mechanism}"
        if initial_response is None:
            return self._command(_V.AUTH, text)
        encoded = base64.b64encode(initial_response).decode() or "="
        return self._command(_V.AUTH, f"{text} {encoded}", shown=f"{text} <redacted>")

    def sasl_response(self, response: bytes) -> bytes:
        """Answer a 334 challenge with ``response``, base64-encoded (RFC 4954 §4)."""
        encoded = base64.b64encode(response).decode()
        return self._command(
            _V.SASL_RESPONSE, encoded, shown="<redacted>", limit_octets=MAX_SASL_LINE_OCTETS
        )

    def sasl_cancel(self) -> bytes:
        """Cancel the SASL exchange with ``*`` (RFC 4954 §4); the server answers 501."""
        return self._command(_V.SASL_RESPONSE, "*")

    def mail(self, sender: str, parameters: Sequence[str] = ()) -> bytes:
        """``MAIL FROM:<sender>`` with ESMTP parameters such as ``SIZE=1234`` (RFC 5321
        §4.1.1.2). An empty sender is the null reverse-path ``<>``."""
        self._check_address(sender)
        self._check_parameters(parameters)
        return self._command(_V.MAIL, " ".join([f"MAIL FROM:<{sender}>", *parameters]))

    def rcpt(self, recipient: str, parameters: Sequence[str] = ()) -> bytes:
        """``RCPT TO:<recipient>`` (RFC 5321 §4.1.1.3)."""
        if not recipient:
            raise self._local_error("a recipient cannot be empty (RFC 5321 §4.1.1.3)")
        self._check_address(recipient)
        self._check_parameters(parameters)
        return self._command(_V.RCPT, " ".join([f"RCPT TO:<{recipient}>", *parameters]))

    def data(self) -> bytes:
        """``DATA`` (RFC 5321 §4.1.1.4); send the message with ``message_data`` after 354."""
        return self._command(_V.DATA, "DATA")

    def message_data(self, data: bytes) -> bytes:
        """The message after a 354 reply: line ends made CRLF, dot-stuffed, ``.`` at the end."""
        self._check_allowed(_V.END_OF_DATA, self._projected_state())
        try:
            wire = encode_message_data(data)
        except LocalProtocolError as error:
            raise self._local_error(error.message) from None
        self._pending.append((Command(_V.END_OF_DATA, "<end of data>"), self._received_octets))
        return wire

    def rset(self) -> bytes:
        """``RSET`` (RFC 5321 §4.1.1.5): abort the mail transaction."""
        return self._command(_V.RSET, "RSET")

    def noop(self) -> bytes:
        """``NOOP`` (RFC 5321 §4.1.1.9)."""
        return self._command(_V.NOOP, "NOOP")

    def quit(self) -> bytes:
        """``QUIT`` (RFC 5321 §4.1.1.10)."""
        return self._command(_V.QUIT, "QUIT")

    def _command(
        self,
        verb: Verb,
        text: str,
        *,
        shown: str | None = None,
        limit_octets: int | None = None,
    ) -> bytes:
        self._check_allowed(verb, self._projected_state())
        extension = _REQUIRED_EXTENSION.get(verb)
        # Only an EHLO reply says what is offered. After HELO nothing is known, and servers
        # take AUTH and STARTTLS anyway (Gmail: the seed's HELO + AUTH LOGIN, transcripts
        # 12, 17, 23, 24), so the check applies only when there is a list to check against.
        known = self.extended and self.capabilities is not None
        if extension and known and not (self.capabilities and self.capabilities.has(extension)):
            hint = " (after STARTTLS the server may offer more)" if not self.tls_active else ""
            raise self._local_error(f"{verb.value} needs the {extension} extension{hint}")
        if not text.isascii() and not (self.capabilities and self.capabilities.smtputf8):
            raise self._local_error(
                f"{text[:60]!r} is not ASCII and the server does not offer SMTPUTF8 (RFC 6531)"
            )
        try:
            if limit_octets is None:
                line = encode_command_line(text)
            else:
                line = encode_command_line(text, limit_octets=limit_octets)
        except LocalProtocolError as error:
            raise self._local_error(error.message) from None
        command = Command(verb, shown if shown is not None else text)
        self._pending.append((command, self._received_octets))
        return line

    def _projected_state(self) -> ClientState:
        """The state once every pending command has been answered with success.

        Raises:
            LocalProtocolError: a pending command must be answered before anything follows.
        """
        if self._state in (_S.ERROR, _S.CLOSED, _S.RAW):
            return self._state
        reason = self._must_wait()
        if reason is not None:
            raise self._local_error(reason)
        state: ClientState = self._state
        for command, _ in self._pending:
            state = TRANSITIONS.get((state, command.verb), {}).get(_DONE, state)
        return state

    def _must_wait(self) -> str | None:
        """Why nothing may be queued behind the pending commands, or None if it may."""
        if not self._pending:
            return None
        last_command = self._pending[-1][0]
        last = last_command.text
        if last_command.verb not in _PIPELINABLE:
            return f"waiting for the reply to {last!r}; RFC 2920 §3.1 lets nothing follow it"
        if not (self.capabilities and self.capabilities.pipelining):
            return f"waiting for the reply to {last!r}; the server does not offer PIPELINING"
        return None

    def _check_allowed(self, verb: Verb, state: ClientState) -> None:
        if (state, verb) in TRANSITIONS:
            return
        if state in (_S.ERROR, _S.CLOSED, _S.RAW):
            raise LocalProtocolError(f"cannot send {verb.value} in state {state.name}")
        allowed = sorted({key[0].name for key in TRANSITIONS if key[1] is verb})
        raise self._local_error(
            f"{verb.value} is not allowed in state {state.name}; "
            f"it is allowed in {', '.join(allowed)}"
        )

    def _check_name(self, name: str) -> None:
        if not name or not name.isascii() or any(character.isspace() for character in name):
            raise self._local_error(
                f"EHLO/HELO name {name!r} must be a domain or address literal (RFC 5321 §4.1.1.1)"
            )

    def _check_address(self, address: str) -> None:
        if any(character in address for character in "<>"):
            raise self._local_error(f"address {address!r} must be given without angle brackets")
        if len(address.encode()) + 2 > MAX_PATH_OCTETS:
            raise self._local_error(
                f"address {address[:40]!r}... is longer than RFC 5321 §4.5.3.1.3 allows "
                f"({MAX_PATH_OCTETS} octets with its brackets)"
            )

    def _check_parameters(self, parameters: Sequence[str]) -> None:
        for parameter in parameters:
            keyword, _, value = parameter.partition("=")
            extension = _PARAMETER_EXTENSIONS.get(keyword.upper())
            if extension and not (self.capabilities and self.capabilities.has(extension)):
                raise self._local_error(
                    f"parameter {parameter!r} needs the {extension} extension, not offered"
                )
            limit = self.capabilities.size_limit_octets if self.capabilities else None
            number = value.isascii() and value.isdigit()
            too_big = limit is not None and number and int(value) > limit
            if keyword.upper() == "SIZE" and too_big:
                raise self._local_error(
                    f"message is {value} octets; the server's SIZE limit is {limit} (RFC 1870)"
                )

    def _apply(self, command: Command, reply: Reply) -> None:
        outcomes = TRANSITIONS.get((self._state, command.verb))
        if outcomes is None:
            # An earlier command of this pipelined group was refused, so this one arrived in a
            # state it was not sent for (RFC 2920 §3.1): the server must refuse it too.
            if reply.is_transient or reply.is_permanent:
                return
            raise self._remote_error(
                f"{reply.code} accepts {command.text!r} although an earlier command in the "
                "same pipelined group was refused",
                reply,
            )
        target = outcomes.get(reply.kind)
        if target is None:
            raise self._remote_error(
                f"{reply.code} is not a valid reply to {command.text!r}: {str(reply)[:80]!r}",
                reply,
            )
        if command.verb is _V.STARTTLS and reply.is_completion and self._reader.pending():
            # RFC 3207 §5 and CVE-2011-0411: bytes after the 220 and before the handshake were
            # injected in clear text; acting on them would let an attacker speak for the server.
            raise self._remote_error("the server sent data after 220 to STARTTLS", reply)
        self._state = _S.CLOSED if reply.code == _CLOSING_CODE else target
        if command.verb in (_V.EHLO, _V.HELO) and reply.is_completion:
            is_ehlo = command.verb is _V.EHLO
            self.capabilities = Capabilities.from_reply(reply) if is_ehlo else Capabilities()
            self.extended = is_ehlo

    def _local_error(self, message: str) -> LocalProtocolError:
        self._state = _S.ERROR
        return LocalProtocolError(message)

    def _remote_error(self, message: str, reply: Reply) -> RemoteProtocolError:
        self._state = _S.ERROR
        return RemoteProtocolError(message, data=b"".join(reply.wire), reply=reply)
