"""Values that cross the sans-io boundary: replies, commands, capabilities, and the events the
protocol core hands to its driver.

Every class here is a frozen, slotted dataclass or an enum: a value can be compared, hashed and
kept in a transcript without anyone changing it later. Derived facts (reply class, enhanced
status, extension lookups) are computed from the stored fields, never stored twice.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "NEED_DATA",
    "Capabilities",
    "Command",
    "ConnectionClosed",
    "EnhancedStatus",
    "Exchange",
    "NeedData",
    "Reply",
    "ReplyKind",
    "SendResult",
    "Verb",
]

# RFC 3463 §2: class "." subject "." detail, with class 2, 4 or 5, subject 1-3 digits and
# detail 1-3 digits. RFC 2034 §4 puts it first on every line of the reply text, then a space.
# ASCII digits: \d in a str pattern takes any script's (RFC 3463 §2 is ASCII).
_ENHANCED_STATUS = re.compile(r"([245])\.([0-9]{1,3})\.([0-9]{1,3})(?: |$)")


class ReplyKind(enum.Enum):
    """The class of a reply, from its first digit (RFC 5321 §4.2.1)."""

    COMPLETION = 2
    INTERMEDIATE = 3
    TRANSIENT = 4
    PERMANENT = 5


class Verb(enum.Enum):
    """What a reply answers: an SMTP command, or a step that has no command word of its own."""

    GREETING = "<greeting>"
    EHLO = "EHLO"
    HELO = "HELO"
    STARTTLS = "STARTTLS"
    TLS_HANDSHAKE = "<tls handshake>"
    AUTH = "AUTH"
    SASL_RESPONSE = "<sasl response>"
    MAIL = "MAIL"
    RCPT = "RCPT"
    DATA = "DATA"
    END_OF_DATA = "<end of data>"
    RSET = "RSET"
    NOOP = "NOOP"
    QUIT = "QUIT"


@dataclass(frozen=True, slots=True)
class EnhancedStatus:
    """An enhanced mail system status code (RFC 3463), e.g. ``5.7.8``."""

    status_class: int
    subject: int
    detail: int

    def __str__(self) -> str:
        return f"{self.status_class}.{self.subject}.{self.detail}"


@dataclass(frozen=True, slots=True)
class Reply:
    """One complete server reply, single- or multi-line (RFC 5321 §4.2).

    Attributes:
        code: the three-digit reply code, the same on every line.
        lines: the text of each line, after the code and its ``-`` or space separator.
        wire: the exact bytes of each line as received, terminators included; empty for a
            reply built in code. Not part of equality: ``Reply(250, ("OK",))`` equals the
            parsed ``250 OK`` whether it came with CRLF or a bare LF.
    """

    code: int
    lines: tuple[str, ...]
    wire: tuple[bytes, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        # RFC 5321 §4.2: reply codes are 2yz to 5yz; nothing else has a meaning.
        if not 200 <= self.code <= 599:
            raise ValueError(f"reply code {self.code} is outside 200-599")
        if not self.lines:
            raise ValueError("a reply has at least one line")

    @property
    def kind(self) -> ReplyKind:
        return ReplyKind(self.code // 100)

    @property
    def is_completion(self) -> bool:
        """2yz: the command was accepted and its action done."""
        return self.kind is ReplyKind.COMPLETION

    @property
    def is_intermediate(self) -> bool:
        """3yz: accepted so far; the server waits for more (354 for data, 334 for SASL)."""
        return self.kind is ReplyKind.INTERMEDIATE

    @property
    def is_transient(self) -> bool:
        """4yz: refused for now; the same command may succeed later."""
        return self.kind is ReplyKind.TRANSIENT

    @property
    def is_permanent(self) -> bool:
        """5yz: refused; the same command will fail again."""
        return self.kind is ReplyKind.PERMANENT

    @property
    def enhanced_status(self) -> EnhancedStatus | None:
        """The RFC 3463 code at the start of the first line, if it has one whose class matches
        the reply code's first digit (RFC 2034 §4 requires that they agree)."""
        match = _ENHANCED_STATUS.match(self.lines[0])
        if match is None or int(match[1]) != self.code // 100:
            return None
        return EnhancedStatus(int(match[1]), int(match[2]), int(match[3]))

    @property
    def message(self) -> str:
        """The human-readable text: the lines joined by newlines, each without its enhanced
        status code."""
        status = self.enhanced_status
        if status is None:
            return "\n".join(self.lines)
        prefix = str(status)
        return "\n".join(
            line[len(prefix) + 1 :] if line.startswith(prefix) else line for line in self.lines
        )

    def to_bytes(self) -> bytes:
        """The reply in canonical wire form: ``NNN-text`` lines, a final ``NNN text``, CRLF."""
        last = len(self.lines) - 1
        return b"".join(
            f"{self.code}{' ' if index == last else '-'}{text}\r\n".encode()
            for index, text in enumerate(self.lines)
        )

    def __str__(self) -> str:
        last = len(self.lines) - 1
        return "\n".join(
            f"{self.code}{' ' if index == last else '-'}{text}"
            for index, text in enumerate(self.lines)
        )


@dataclass(frozen=True, slots=True)
class Command:
    """A command as shown to people: in errors, logs and the command line's output.

    Attributes:
        verb: which command (or pseudo-step such as the greeting) this is.
        text: the line without its terminator, with AUTH payloads replaced by ``<redacted>``.
    """

    verb: Verb
    text: str


@dataclass(frozen=True, slots=True)
class Exchange:
    """Event: the server answered ``command`` with ``reply``."""

    command: Command
    reply: Reply


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """Event: the server closed the connection.

    Attributes:
        pending: the command still waiting for a reply, if any.
        partial: the bytes of an unfinished reply line, if the close cut one short.
    """

    pending: Command | None = None
    partial: bytes = b""


class NeedData(enum.Enum):
    """Event: the core needs more bytes from the network before it can say anything."""

    NEED_DATA = "need data"


NEED_DATA: Final = NeedData.NEED_DATA


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the server said it supports in its EHLO reply (RFC 5321 §4.1.1.1).

    Attributes:
        greeting: the first line of the EHLO reply (the server's name and free text).
        extensions: each later line as (KEYWORD in upper case, parameters), in order.
    """

    greeting: str = ""
    extensions: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def from_reply(cls, reply: Reply) -> Capabilities:
        """Parse a 250 reply to EHLO. A one-line reply means no extensions; a reply to HELO
        gives an empty set too."""
        extensions: dict[str, tuple[str, ...]] = {}
        for line in reply.lines[1:]:
            if not line.split():
                continue
            keyword, *parameters = line.split()
            keyword = keyword.upper()
            # Some old servers write "AUTH=LOGIN PLAIN" (pre-RFC 2554 drafts); take it as AUTH
            # unless a proper AUTH line is there too.
            if keyword.startswith("AUTH="):
                parameters = [keyword[len("AUTH=") :], *parameters]
                keyword = "AUTH"
                if keyword in extensions:
                    continue
            extensions[keyword] = tuple(parameters)
        return cls(reply.lines[0], tuple(extensions.items()))

    def has(self, keyword: str) -> bool:
        """Whether the server advertised the extension ``keyword`` (any case)."""
        return self.parameters(keyword) is not None

    def parameters(self, keyword: str) -> tuple[str, ...] | None:
        """The parameters after ``keyword`` on its EHLO line, or None if it is not there."""
        wanted = keyword.upper()
        for name, parameters in self.extensions:
            if name == wanted:
                return parameters
        return None

    @property
    def auth_mechanisms(self) -> tuple[str, ...]:
        """SASL mechanisms offered after AUTH (RFC 4954 §3), upper case, in the server's order."""
        return tuple(name.upper() for name in self.parameters("AUTH") or ())

    @property
    def size_limit_octets(self) -> int | None:
        """The SIZE limit (RFC 1870 §4); None when SIZE is absent, has no number, or is 0
        (which RFC 1870 says means "no fixed limit")."""
        parameters = self.parameters("SIZE")
        size = parameters[0] if parameters else ""
        if not (size.isascii() and size.isdigit()) or int(size) == 0:
            return None
        return int(size)

    @property
    def pipelining(self) -> bool:
        return self.has("PIPELINING")

    @property
    def starttls(self) -> bool:
        return self.has("STARTTLS")

    @property
    def eight_bit_mime(self) -> bool:
        return self.has("8BITMIME")

    @property
    def smtputf8(self) -> bool:
        return self.has("SMTPUTF8")


@dataclass(frozen=True, slots=True)
class SendResult:
    """What happened to one message.

    Attributes:
        reply: the reply to the end of the data, or None if the conversation stopped before it.
        accepted: the recipients the server accepted.
        refused: each refused recipient with the server's reply.
    """

    reply: Reply | None
    accepted: tuple[str, ...] = ()
    refused: tuple[tuple[str, Reply], ...] = ()
