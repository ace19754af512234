"""Recording a transcript while a conversation happens, AUTH secrets redacted as it goes."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from client.transcript.model import (
    FORMAT_VERSION,
    VERSION_HEADER,
    Comment,
    Direction,
    Entry,
    Event,
    Line,
    Transcript,
)
from client.transcript.redaction import SecretRedactor

__all__ = ["Recorder"]


class _Run:
    """Whole lines recorded at once, cut into ``Line`` s only when a transcript is made."""

    __slots__ = ("data", "direction", "elapsed_s")

    def __init__(self, direction: Direction, data: bytes, elapsed_s: float | None) -> None:
        self.direction = direction
        self.data = data
        self.elapsed_s = elapsed_s

    def lines(self) -> list[Line]:
        *whole, rest = self.data.split(b"\r\n")
        lines = [Line(self.direction, line + b"\r\n", self.elapsed_s) for line in whole]
        if rest:
            lines.append(Line(self.direction, rest, self.elapsed_s))
        return lines


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
        self._entries: list[Entry | _Run] = []
        self._runs = False  # some entries are runs, to cut into lines

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

    def run(self, direction: Direction, data: bytes) -> None:
        """Record several CRLF-ended lines that came together, never redacted (message data).

        The same as calling :meth:`line` for each, for less: a message is most of the lines of
        a conversation, and they are cut into lines (sharing one time) only when a transcript
        is made.
        """
        self._entries.append(_Run(direction, data, self._elapsed_s()))
        self._runs = True

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
        """Return everything recorded so far; the recorder can keep recording.

        Reading changes nothing the recorder holds, so another thread may read while the
        conversation goes on (it may miss the latest entries): a list cut into lines and put
        back in place could lose an entry added meanwhile.
        """
        if not self._runs:
            return Transcript(self._headers, tuple(self._entries))  # type: ignore[arg-type]
        entries: list[Entry] = []
        for entry in list(self._entries):
            if isinstance(entry, _Run):
                entries.extend(entry.lines())
            else:
                entries.append(entry)
        return Transcript(self._headers, tuple(entries))

    def _elapsed_s(self) -> float | None:
        if self._clock is None:
            return None
        return round(self._clock() - self._started_s, 6)
