"""Transcripts as data: what was said on one SMTP connection, in order.

A ``Transcript`` is header fields and entries; an entry is a wire ``Line`` (or a piece of one), an
``Event`` (something that is not a line: a TLS handshake, the close) or a ``Comment``. Every class
is a frozen value that checks on construction what the text format can hold, so a transcript
built here always has a text form (``client.transcript.text``).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = [
    "FORMAT_VERSION",
    "VERSION_HEADER",
    "Comment",
    "Direction",
    "Entry",
    "Event",
    "Line",
    "Transcript",
]

FORMAT_VERSION = 1
"""The version of the transcript format this code writes and reads."""
VERSION_HEADER = "smtprig-transcript"
"""The header field that carries it, first in every transcript."""

_EVENT_KIND = re.compile(r"[a-z][a-z0-9_-]*")


class Direction(enum.Enum):
    """Who wrote a line: the client or the server."""

    CLIENT = "C"
    SERVER = "S"


@dataclass(frozen=True, slots=True)
class Line:
    """One wire line, or one piece of one.

    Attributes:
        direction: who wrote it.
        data: the exact bytes, terminator included: ``b"EHLO x\\r\\n"``, a bare-LF line
            ``b"EHLO x\\n"``, or a partial write ``b"EHL"``.
        elapsed_s: seconds since the recording started, when timing was recorded.
    """

    direction: Direction
    data: bytes
    elapsed_s: float | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened on the connection that is not a line.

    Attributes:
        kind: a lowercase word: ``"tls"`` (handshake completed), ``"closed"``, ``"note"`` (a
            free-text marker) or any other ``[a-z][a-z0-9_-]*`` name.
        detail: free text, e.g. ``"TLSv1.3 TLS_AES_256_GCM_SHA384"`` for ``"tls"``.
        elapsed_s: seconds since the recording started, when timing was recorded.

    Raises:
        ValueError: ``kind`` is not a lowercase word, or ``detail`` is not one printable line.
    """

    kind: str
    detail: str = ""
    elapsed_s: float | None = None

    def __post_init__(self) -> None:
        if _EVENT_KIND.fullmatch(self.kind) is None:
            raise ValueError(f"event kind {self.kind!r} must match [a-z][a-z0-9_-]*")
        if not self.detail.isprintable():
            raise ValueError(f"event detail {self.detail!r} must be one printable line")


@dataclass(frozen=True, slots=True)
class Comment:
    """A remark for people reading the transcript; it plays no part in replay.

    Attributes:
        text: the remark, one printable line.

    Raises:
        ValueError: ``text`` is not one printable line.
    """

    text: str

    def __post_init__(self) -> None:
        if not self.text.isprintable():
            raise ValueError(f"comment {self.text!r} must be one printable line")


Entry = Line | Event | Comment


@dataclass(frozen=True, slots=True)
class Transcript:
    """One connection: header fields, then lines, events and comments in the order they came.

    Attributes:
        headers: ``(key, value)`` pairs, in file order; keys may repeat.
        entries: the conversation.
    """

    headers: tuple[tuple[str, str], ...]
    entries: tuple[Entry, ...]

    @property
    def lines(self) -> tuple[Line, ...]:
        """The wire lines only, in order."""
        return tuple(entry for entry in self.entries if isinstance(entry, Line))

    def header(self, key: str) -> str | None:
        """Return the value of the first header called ``key``, or None."""
        return next((value for name, value in self.headers if name == key), None)
