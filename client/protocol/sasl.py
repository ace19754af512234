"""SASL for SMTP AUTH (RFC 4954): what the client says, never how it is sent. No I/O.

A mechanism gives the initial response (or None) and answers each later 334 challenge by its
position. It works on raw bytes; base64 and line framing belong to the protocol core.
``SASLConversation`` runs one exchange: whether the initial response fits on the AUTH line,
and which answer each challenge gets. When the initial response is not on the AUTH line (the
caller chose so, or the line would be too long), it answers the server's first, empty
challenge (RFC 4954 §4), so a mechanism's ``respond`` only sees the challenges after it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Final, Protocol

from client.protocol.events import Reply
from client.protocol.wire import MAX_COMMAND_LINE_OCTETS

__all__ = ["MAX_SASL_CHALLENGES", "Login", "Plain", "SASLConversation", "SASLMechanism", "XOAuth2"]

MAX_SASL_CHALLENGES: Final = 8
"""No mechanism here needs more than two challenges; a server sending more is stuck."""


class SASLMechanism(Protocol):
    """What the driver needs from a mechanism."""

    @property
    def name(self) -> str:
        """The mechanism name as in the EHLO AUTH list, e.g. ``"PLAIN"``."""
        ...

    def initial_response(self) -> bytes | None:
        """The client's first message, or None for a mechanism where the server speaks first."""
        ...

    def respond(self, step: int, challenge: bytes) -> bytes | None:
        """The answer to the ``step``-th challenge (from 0), decoded from base64; None means
        the mechanism has no answer, and the driver cancels the exchange."""
        ...


@dataclass(frozen=True, slots=True)
class Plain:
    """PLAIN (RFC 4616): one message, ``authzid NUL authcid NUL password``, in UTF-8.

    Raises:
        ValueError: a field contains NUL, which would shift the fields (RFC 4616 §2).
    """

    username: str
    password: str = field(repr=False)
    authorization_id: str = ""
    name: str = field(default="PLAIN", init=False)

    def __post_init__(self) -> None:
        if any("\0" in value for value in (self.username, self.password, self.authorization_id)):
            raise ValueError("PLAIN credentials cannot contain NUL (RFC 4616 §2)")

    def initial_response(self) -> bytes:
        return f"{self.authorization_id}\0{self.username}\0{self.password}".encode()

    def respond(self, step: int, challenge: bytes) -> bytes | None:
        return None


@dataclass(frozen=True, slots=True)
class Login:
    """LOGIN (draft-murchison-sasl-login): the server prompts twice, the client answers with
    the user name and then the password.

    The prompts' text is not checked: Gmail sends ``Username:`` and ``Password:``, aiosmtpd
    sends ``User Name`` and ``Password``, and the draft says the client should ignore it.
    """

    username: str
    password: str = field(repr=False)
    name: str = field(default="LOGIN", init=False)

    def initial_response(self) -> bytes | None:
        return None

    def respond(self, step: int, challenge: bytes) -> bytes | None:
        answers = (self.username.encode(), self.password.encode())
        return answers[step] if step < len(answers) else None


@dataclass(frozen=True, slots=True)
class XOAuth2:
    """XOAUTH2 (Google's SASL XOAUTH2 protocol): ``user=U ^A auth=Bearer T ^A ^A``.

    On a bad token the server sends a 334 challenge carrying a JSON error; the client must
    answer it with an empty line to get the final 5yz reply.

    Raises:
        ValueError: a field contains ^A (0x01), the separator of the message.
    """

    username: str
    access_token: str = field(repr=False)
    name: str = field(default="XOAUTH2", init=False)

    def __post_init__(self) -> None:
        if "\x01" in self.username or "\x01" in self.access_token:
            raise ValueError("XOAUTH2 fields cannot contain ^A (0x01)")

    def initial_response(self) -> bytes:
        return f"user={self.username}\x01auth=Bearer {self.access_token}\x01\x01".encode()

    def respond(self, step: int, challenge: bytes) -> bytes | None:
        return b"" if step == 0 else None


class SASLConversation:
    """One SASL exchange for ``mechanism``: the AUTH line's initial response, then the answer
    to each 334 challenge.

    Args:
        mechanism: the mechanism to run.
        send_initial_response: put the initial response on the AUTH line if it fits.

    Attributes:
        initial_response: what goes on the AUTH line, or None.
    """

    def __init__(self, mechanism: SASLMechanism, *, send_initial_response: bool = True) -> None:
        self._mechanism = mechanism
        initial = mechanism.initial_response()
        if initial is not None and send_initial_response:
            # RFC 4954 §4: if the initial response would make the AUTH line too long, send it
            # after the server's empty challenge instead.
            octets = len(f"AUTH {mechanism.name} ") + len(base64.b64encode(initial)) + 2
            send_initial_response = octets <= MAX_COMMAND_LINE_OCTETS
        self.initial_response = initial if send_initial_response else None
        self._owed = None if send_initial_response else initial
        self._step = 0
        self._challenges = 0

    def answer(self, challenge: Reply) -> bytes | None:
        """The answer to a 334 ``challenge``; None means cancel (no answer, or too many)."""
        self._challenges += 1
        if self._challenges > MAX_SASL_CHALLENGES:
            return None
        if self._owed is not None:
            owed, self._owed = self._owed, None
            return owed
        self._step += 1
        return self._mechanism.respond(self._step - 1, _decode(challenge))


def _decode(challenge: Reply) -> bytes:
    """A challenge's payload. It should be base64 (RFC 4954 §4); text that is not is passed on
    as is, since LOGIN and XOAUTH2 answer without reading it."""
    text = challenge.lines[0].strip()
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode()
