"""What a session leaves behind: each accepted message, and the record of the connection.

Values only, made by the session (:mod:`fakeserver.session.session`) and read by tests, the
live log and the HTTP API in any thread. A captured message keeps its bytes and parses them on
first use, so that nothing on the server's loop thread pays for parsing.
"""

from __future__ import annotations

import email.header
import email.parser
import email.policy
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from client.transcript.model import Transcript
from fakeserver.personas.vocabulary import Listener
from fakeserver.session.envelope import Envelope

__all__ = [
    "CapturedMessage",
    "EndReason",
    "Envelope",
    "SessionInfo",
    "SessionRecord",
    "SessionView",
    "header",
]

_PARSER = email.parser.BytesParser(policy=email.policy.default)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """Facts about the connection a message arrived on.

    Attributes:
        connection_id: a number unique within one server, in order of arrival.
        listener: which port kind the client used.
        peer: the client's (host, port).
        session_id: the persona's session id of the connection.
        helo_name: the client's EHLO/HELO argument.
        tls_version: e.g. ``"TLSv1.3"``, or None on a connection without TLS.
        tls_cipher: the cipher suite name, or None.
        user: the account that logged in, or None.
        auth_mechanism: ``"LOGIN"``, ``"PLAIN"``, ``"XOAUTH2"``..., or None.
        started_at: Unix time the connection was accepted.
    """

    connection_id: int
    listener: Listener
    peer: tuple[str, int]
    session_id: str
    helo_name: str | None
    tls_version: str | None
    tls_cipher: str | None
    user: str | None
    auth_mechanism: str | None
    started_at: float


@dataclass(frozen=True, slots=True)
class CapturedMessage:
    """One accepted message.

    Attributes:
        envelope: MAIL FROM, RCPT TO and the MAIL parameters.
        raw: the message exactly as received, dot-unstuffed, line endings untouched.
        session: the connection it came on.
        received_at: Unix time of the 250.
        id: its number in the server's outbox, from 1, in order of arrival (0 until stored).
    """

    envelope: Envelope
    raw: bytes
    session: SessionInfo
    received_at: float
    id: int = 0
    _parsed: EmailMessage | None = field(default=None, repr=False, compare=False)

    @property
    def mail_from(self) -> str:
        return self.envelope.mail_from

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.envelope.recipients

    @property
    def subject(self) -> str:
        """The decoded Subject (RFC 2047), or ``""``, found by scanning the header block only:
        the live log and the API show it for every message, and parsing a whole message for
        one header would cost more than receiving it."""
        return header(self.raw, b"subject")

    @property
    def message(self) -> EmailMessage:
        """The message parsed with ``email.policy.default``, on first use.

        Line endings are LF in the parsed message, as in one built in Python, so that
        ``message.get_content()`` compares equal to what the sender set; ``raw`` keeps the
        wire's CRLFs.
        """
        # Parsing lazily keeps a captured message close to its raw size in memory.
        parsed = self._parsed
        if parsed is None:
            made = _PARSER.parsebytes(self.raw.replace(b"\r\n", b"\n"))
            if not isinstance(made, EmailMessage):
                raise TypeError("email.policy.default did not produce an EmailMessage")
            parsed = made
            object.__setattr__(self, "_parsed", parsed)  # a cache, not a change of value
        return parsed


def header(raw: bytes, name: bytes) -> str:
    """The decoded value of header ``name`` (lower case, without the colon) in the message
    ``raw``, unfolded (RFC 5322 §2.2.3) and with encoded words decoded; ``""`` if absent.
    Never raises: a header that cannot be decoded is given as it came, undecodable bytes
    replaced."""
    head_end = raw.find(b"\r\n\r\n")
    head = raw if head_end < 0 else raw[: head_end + 2]
    wanted = name + b":"
    found: list[bytes] = []
    for line in head.split(b"\n"):
        if found:
            if line[:1] in (b" ", b"\t"):
                found.append(line)
                continue
            break
        if line[: len(wanted)].lower() == wanted:
            found.append(line[len(wanted) :])
    if not found:
        return ""
    value = b"".join(part.rstrip(b"\r") for part in found).strip()
    text = value.decode("utf-8", "replace")
    if "=?" not in text:
        return text
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except (ValueError, LookupError, UnicodeError):  # a malformed encoded word
        return text


class EndReason(enum.StrEnum):
    """How a connection ended."""

    QUIT = "quit"
    """The client said QUIT and the server closed after its reply."""
    SERVER_CLOSED = "server closed"
    """The server closed after a reply that ends the connection (421, 501 5.5.4, 555...)."""
    IDLE_TIMEOUT = "idle timeout"
    """The client was silent too long."""
    TLS_FAILED = "TLS failed"
    """The TLS handshake failed: the client refused the certificate, spoke clear text to an
    implicit-TLS port, or did not finish it in time (the transcript's ``tls-failed`` event
    says which)."""
    FAULT = "fault"
    """A scripted fault closed or reset the connection."""
    CLIENT_CLOSED = "client closed"
    """The client went away without QUIT."""
    ABORTED = "aborted"
    """The server dropped it: it was stopped, or reset between tests."""


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """What happened on one connection, as it reached the wire.

    Attributes:
        info: the connection's facts (listener, peer, TLS, login...).
        commands: the verbs the client sent, in order, upper case (``"?"`` for one the persona
            does not know); SASL responses and message lines are not commands.
        reply_codes: the code of every reply the server sent, in order.
        offered: the extensions the last EHLO reply advertised (``"PIPELINING"``...), as the
            client received it: an extension a fault withheld is not there.
        pipelined: the client sent a command before it had the reply to the previous one.
        messages: messages accepted on this connection.
        ended: how the connection ended; None while it is open.
        end_detail: what ``ended`` leaves out: why a TLS handshake failed, or a hint when the
            client left as soon as TLS was up, without a word.
        ended_at: Unix time it ended; None while it is open.
        faults: each fault applied on the connection, described, in order.
        transcript: the conversation (AUTH payloads redacted), when transcripts are kept.
    """

    info: SessionInfo
    commands: tuple[str, ...]
    reply_codes: tuple[int, ...]
    offered: frozenset[str]
    pipelined: bool
    messages: int
    ended: EndReason | None = None
    ended_at: float | None = None
    faults: tuple[str, ...] = ()
    # The transcript, or for a closed connection what makes it when first read (see
    # ``transcript``).
    _transcript: Transcript | Callable[[], Transcript] | None = field(
        default=None, repr=False, compare=False
    )
    end_detail: str | None = None

    @property
    def transcript(self) -> Transcript | None:
        # (Documented with the attributes above.) Made when first read, then kept: cutting
        # a long connection's message data into lines costs about as much as recording it, and
        # most transcripts are never read.
        held = self._transcript
        if held is None or isinstance(held, Transcript):
            return held
        made = held()
        object.__setattr__(self, "_transcript", made)  # frozen, but only a cache
        return made

    @property
    def open(self) -> bool:
        """The connection had not ended when this record was made."""
        return self.ended is None

    @property
    def used_starttls(self) -> bool:
        return "STARTTLS" in self.commands

    @property
    def ehlo_after_starttls(self) -> bool:
        """The client greeted again after STARTTLS (RFC 3207 §4.2 says it must forget all
        it learnt before, so it needs the new EHLO to learn that AUTH is offered)."""
        if not self.used_starttls:
            return False
        after = self.commands[self.commands.index("STARTTLS") + 1 :]
        return "EHLO" in after or "HELO" in after

    @property
    def sent_quit(self) -> bool:
        return "QUIT" in self.commands

    @property
    def last_reply_code(self) -> int | None:
        return self.reply_codes[-1] if self.reply_codes else None

    def describe(self) -> str:
        """One line for failure messages: ``#2 submission: EHLO STARTTLS AUTH ... (codes ...)``."""
        codes = " ".join(str(code) for code in self.reply_codes)
        return (
            f"connection {self.info.connection_id} ({self.info.listener}): "
            f"{' '.join(self.commands) or '(no commands)'}; replies {codes or '(none)'}; "
            f"{self.ended or 'open'}{f': {self.end_detail}' if self.end_detail else ''}"
        )


class SessionView(Protocol):
    """A connection while it is open, as observers see it (read only).

    Attributes:
        number: the connection's number within the server, from 1, in order of arrival.
        listener: the port kind it came in on.
        peer: the client's ``(host, port)``.
        session_id: the persona's id for the connection.
        started_at: Unix time it was accepted.
    """

    number: int
    listener: Listener
    peer: tuple[str, int]
    session_id: str
    started_at: float

    @property
    def tls_version(self) -> str | None: ...

    @property
    def user(self) -> str | None: ...

    @property
    def auth_mechanism(self) -> str | None: ...

    @property
    def helo_name(self) -> str | None: ...

    @property
    def messages_accepted(self) -> int: ...

    def info(self) -> SessionInfo:
        """The connection's facts now."""
        ...

    def record(self) -> SessionRecord:
        """What happened on the connection so far (``ended`` is None while it is open)."""
        ...
