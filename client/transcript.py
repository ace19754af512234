"""Transcripts: what was said on one SMTP connection, as data and as text.

(The format specification is being written; see the next commits.)
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from client._redact import SecretRedactor

__all__ = [
    "FORMAT_VERSION",
    "VERSION_HEADER",
    "Comment",
    "Direction",
    "Entry",
    "Event",
    "Line",
    "Recorder",
    "Transcript",
]

FORMAT_VERSION = 1
VERSION_HEADER = "smtprig-transcript"

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


class Recorder:
    """Builds a transcript as a conversation happens, redacting AUTH secrets as it goes.

    The redaction happens before anything is stored, so a secret never reaches a ``Transcript``,
    a file or a log unless ``redact_secrets=False`` was asked for. Not thread-safe: feed it from
    the one thread or task that owns the connection.

    Args:
        redact_secrets: replace AUTH initial responses and SASL responses by ``<redacted>``.
        clock: returns seconds (e.g. ``time.monotonic``); when given, every line and event
            records ``elapsed_s`` since the recorder was made, rounded to the microsecond.
            Without a clock nothing is timed, which keeps recordings identical between runs.
        headers: extra header fields, after the version header.
    """

    def __init__(
        self,
        *,
        redact_secrets: bool = True,
        clock: Callable[[], float] | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        self._redactor = SecretRedactor() if redact_secrets else None
        self._clock = clock
        self._started_s = clock() if clock is not None else 0.0
        extra = tuple(pair for pair in headers if pair[0] != VERSION_HEADER)
        self._headers = ((VERSION_HEADER, str(FORMAT_VERSION)), *extra)
        self._entries: list[Entry] = []

    def line(self, direction: Direction, data: bytes, *, sasl_response: bool = False) -> None:
        """Record one wire line (or piece of one) as it was sent.

        Args:
            direction: who wrote it.
            data: the exact bytes, terminator included.
            sasl_response: a client line that answers a 334 challenge; its content is a secret.
        """
        if direction is Direction.CLIENT and self._redactor is not None:
            data = self._redactor.client_line(data, sasl_response=sasl_response)
        self._entries.append(Line(direction, data, self._elapsed_s()))

    def event(self, kind: str, detail: str = "") -> None:
        """Record an event such as ``"tls"`` (handshake done) or ``"closed"``.

        Raises:
            ValueError: ``kind`` or ``detail`` is not valid for an ``Event``.
        """
        self._entries.append(Event(kind, detail, self._elapsed_s()))

    def comment(self, text: str) -> None:
        """Record a remark for readers of the transcript."""
        self._entries.append(Comment(text))

    def transcript(self) -> Transcript:
        """Return everything recorded so far; the recorder can keep recording."""
        return Transcript(self._headers, tuple(self._entries))

    def _elapsed_s(self) -> float | None:
        if self._clock is None:
            return None
        return round(self._clock() - self._started_s, 6)
