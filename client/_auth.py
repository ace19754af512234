"""SASL mechanisms for SMTP AUTH (RFC 4954): what the client says, never how it is sent.

A mechanism gives the initial response (or None) and answers each later 334 challenge by its
position. It works on raw bytes; base64 and line framing belong to the protocol core. When the
initial response is not sent on the AUTH line (the caller chose so, or the line would be too
long), the driver sends it in answer to the server's first, empty challenge (RFC 4954 §4), so
``respond`` only ever sees the challenges that come after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Login", "Plain", "SASLMechanism", "XOAuth2"]


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
