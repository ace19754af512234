"""The outbox: every message the fake accepted, with its envelope and session facts.

Messages are added by the server's event-loop thread *before* it sends the 250 that
acknowledges them, so a client that saw the 250 always finds its message here. Readers in
other threads use :meth:`Outbox.wait_for` instead of sleeping.
"""

from __future__ import annotations

import email.parser
import email.policy
import mailbox
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from fakeserver._waiting import wait_for_count
from fakeserver.session.rules import Envelope, Listener

__all__ = ["CapturedMessage", "Outbox", "SessionInfo"]

_PARSER = email.parser.BytesParser(policy=email.policy.default)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """Facts about the connection a message arrived on.

    Attributes:
        connection_id: a number unique within one server, in order of arrival.
        listener: which port kind the client used.
        peer: the client's (host, port).
        session_id: the Gmail session id of the connection.
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
    """

    envelope: Envelope
    raw: bytes
    session: SessionInfo
    received_at: float
    _parsed: EmailMessage | None = field(default=None, repr=False, compare=False)

    @property
    def mail_from(self) -> str:
        return self.envelope.mail_from

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.envelope.recipients

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


class Outbox:
    """Accepted messages in arrival order; safe to read from any thread.

    Args:
        maildir: also store each message in this Maildir (created if missing).
    """

    def __init__(self, *, maildir: Path | None = None) -> None:
        self._messages: list[CapturedMessage] = []
        self._changed = threading.Condition()
        self._maildir = mailbox.Maildir(maildir, create=True) if maildir is not None else None

    def add(self, message: CapturedMessage) -> None:
        """Stores ``message``; raises if the Maildir cannot take it (so no 250 is sent)."""
        if self._maildir is not None:
            self._maildir.add(message.raw)
        with self._changed:
            self._messages.append(message)
            self._changed.notify_all()

    def __len__(self) -> int:
        with self._changed:
            return len(self._messages)

    def __iter__(self) -> Iterator[CapturedMessage]:
        return iter(self.messages)

    def __getitem__(self, index: int) -> CapturedMessage:
        with self._changed:
            return self._messages[index]

    @property
    def messages(self) -> list[CapturedMessage]:
        """A snapshot of the messages so far."""
        with self._changed:
            return list(self._messages)

    def clear(self) -> None:
        with self._changed:
            self._messages.clear()

    def wait_for(self, count: int = 1, timeout_s: float = 5.0) -> list[CapturedMessage]:
        """Waits until at least ``count`` messages are here.

        Returns:
            A snapshot of all the messages.

        Raises:
            TimeoutError: fewer than ``count`` arrived within ``timeout_s``; the message says
                how many did.
        """
        with self._changed:
            wait_for_count(
                self._changed,
                self._messages,
                count,
                timeout_s,
                awaited="message(s)",
                happened="arrived",
            )
            return list(self._messages)
