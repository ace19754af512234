"""Reading what a client sends outside aiosmtpd's command loop: SASL lines, message data, BDAT.

Generic asyncio (a ``StreamReader``), no aiosmtpd: the adapter reads commands through
aiosmtpd and everything else through here.

:class:`Inbound` mirrors the bytes received but not yet consumed, so that each consumed line
can be reported exactly as the client sent it, and only once its meaning (a command, a secret)
is known; it also tells whether the client pipelined, and lets :func:`read_data` find the end
of the data in everything that has arrived at once, without consuming a byte past it.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["DROPPED", "LOST", "Inbound", "Lost", "read_chunk", "read_data", "read_line"]

_CHUNK_READ_SIZE = 64 * 1024
# Most one transport read can bring (asyncio's 256 KiB), with room to spare.
_ONE_READ_AT_MOST = 2 * 256 * 1024
_TERMINATOR = b"\r\n.\r\n"
_DOT_LINE = b".\r\n"


@dataclass(frozen=True, slots=True)
class Lost:
    """A read ended before its end: the client went away, or a fault dropped it."""

    by_fault: bool


LOST = Lost(by_fault=False)
DROPPED = Lost(by_fault=True)


class Inbound:
    """Client bytes received but not yet consumed.

    Args:
        line_limit: the longest line the reader takes. The mirror keeps at most a little more
            than that of a line not yet ended: a longer one is being thrown away by whoever
            reads commands (it gets 555 or 500), so only its start is kept, to report. Flow
            control keeps the reader's own buffer, which this mirrors, far below that bound
            at every other time, so nothing still to be read is ever dropped.
    """

    __slots__ = ("_buffer", "_keep_unended")

    def __init__(self, line_limit: int) -> None:
        self._buffer = bytearray()
        # Above what the reader holds before it pauses (2 limits), a line read but not yet
        # taken (1 limit) and one more read.
        self._keep_unended = _ONE_READ_AT_MOST + 4 * line_limit

    def feed(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > self._keep_unended:
            start = self._buffer.rfind(b"\n") + 1
            if len(self._buffer) - start > self._keep_unended:
                del self._buffer[start + self._keep_unended :]

    def take_line(self) -> bytes:
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        return self._take(end)

    def take(self, size: int) -> bytes:
        return self._take(min(size, len(self._buffer)))

    def discard(self, size: int) -> None:
        """Forgets ``size`` octets that were read (a bytearray drops its head in O(1))."""
        del self._buffer[:size]

    def clear(self) -> bytes:
        return self._take(len(self._buffer))

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def __bool__(self) -> bool:
        return bool(self._buffer)

    def __len__(self) -> int:
        return len(self._buffer)

    def has_line(self) -> bool:
        """Whether a whole line is waiting (so reading the next command will not block)."""
        return self._buffer.find(b"\n") >= 0

    def data_end(self, at_line_start: bool) -> int:
        """Where the data that has arrived ends: the index just past its ``.<CRLF>``, or -1."""
        if at_line_start and self._buffer.startswith(_DOT_LINE):
            return len(_DOT_LINE)
        found = self._buffer.find(_TERMINATOR)
        return found + len(_TERMINATOR) if found >= 0 else -1

    def data_safe_to_take(self) -> int:
        """How much of the data that has arrived can be taken without its end being there:
        every whole line, and an unfinished line too when it is too long to be the ``.<CRLF>``
        that ends the data, except a CR whose LF has not come (a CRLF is never cut)."""
        buffer = self._buffer
        last = buffer.rfind(b"\r\n")
        whole = last + 2 if last >= 0 else 0
        if len(buffer) - whole > len(_DOT_LINE):
            return len(buffer) - (1 if buffer.endswith(b"\r") else 0)
        return whole


async def read_line(reader: asyncio.StreamReader, limit: int) -> bytes | None:
    """Reads one line of up to ``limit`` octets, which may be more than the reader's own limit.

    Returns:
        The line; None when it was longer (it has been read to its end and thrown away).

    Raises:
        asyncio.IncompleteReadError: the client went away first.
    """
    parts: list[bytes] = []
    size = 0
    while True:
        try:
            piece = await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError as error:
            piece = await reader.readexactly(error.consumed)
            ended = False
        else:
            ended = True
        size += len(piece)
        if size <= limit:
            parts.append(piece)
        if ended:
            return b"".join(parts) if size <= limit else None


async def read_data(
    reader: asyncio.StreamReader,
    inbound: Inbound,
    *,
    size_limit: int,
    drop_after: int | None,
    report: Callable[[bytes], None] | None,
    more: Callable[[], Awaitable[None]],
) -> bytes | Lost | None:
    """Reads DATA up to <CRLF>.<CRLF> and undoes dot-stuffing (RFC 5321 §4.5.2).

    Only CRLF ends a line here, so <LF>.<LF> and the other smuggling variants stay in the
    message, as at Gmail (replies.md §14). Each turn takes everything that has arrived (found
    in the ``inbound`` mirror, so the end of the data is found without reading a byte past
    it), however many lines that is: a body of lines that are single dots costs what its
    bytes cost. The message size is counted as RFC 1870 §3 counts it, without the stuffing
    dots and the final ``.<CRLF>``; past ``size_limit`` the data is read and thrown away, and
    the kept part is written piece by piece into one buffer that becomes the message without
    a copy (``BytesIO.getvalue``), so memory stays near one copy of the message.

    Args:
        reader: the connection's stream.
        inbound: the connection's byte bookkeeping.
        size_limit: the most octets kept.
        drop_after: a fault: give up as soon as this many octets have come.
        report: told each piece read, as it came, for transcripts; None when nobody watches.
        more: waits until more bytes have come (or the connection has ended).

    Returns:
        The message; None when it passed the size limit; ``LOST`` if the client went away,
        ``DROPPED`` if the fault dropped it.
    """
    body = io.BytesIO()
    kept = received = 0
    at_line_start = True
    while True:
        end = inbound.data_end(at_line_start)
        take = end - len(_DOT_LINE) if end >= 0 else inbound.data_safe_to_take()
        if drop_after is not None and received + max(end, take) >= drop_after:
            if drop_after > received:
                piece = await reader.readexactly(drop_after - received)
                inbound.discard(len(piece))
                if report is not None:
                    report(piece)
            return DROPPED  # even if the whole message is here
        if take:
            piece = await reader.readexactly(take)
            inbound.discard(take)
            received += take
            if report is not None:
                report(piece)
            content = _unstuffed(piece, at_line_start)
            at_line_start = piece.endswith(b"\r\n")
            kept += len(content)
            if kept <= size_limit:
                body.write(content)
            elif body.tell():
                body = io.BytesIO()  # past the limit: nothing more is kept
        if end >= 0:
            await reader.readexactly(len(_DOT_LINE))
            inbound.discard(len(_DOT_LINE))
            if report is not None:
                report(_DOT_LINE)
            return body.getvalue() if kept <= size_limit else None
        if not take:
            if reader.at_eof():
                return LOST
            await more()


def _unstuffed(piece: bytes, at_line_start: bool) -> bytes:
    """``piece`` with the dot the client added at the start of each line removed; pieces are
    cut only after a CRLF or inside a long line, so every line start is seen whole."""
    if at_line_start and piece.startswith(b"."):
        piece = piece[1:]
    return piece.replace(b"\r\n.", b"\r\n")


async def read_chunk(
    reader: asyncio.StreamReader,
    inbound: Inbound,
    size: int,
    *,
    keep: bool,
    report: Callable[[bytes], None] | None,
) -> bytes | Lost | None:
    """Reads one BDAT chunk of ``size`` octets (RFC 3030 §2), keeping it or not.

    A chunk that is not kept is not told to ``report`` either: it may be far past the size
    limit, and a transcript must not hold what the server threw away.

    Returns:
        The chunk; None when not kept; ``LOST`` if the client went away.
    """
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        piece = await reader.read(min(remaining, _CHUNK_READ_SIZE))
        if not piece:
            return LOST
        remaining -= len(piece)
        inbound.discard(len(piece))
        if keep:
            parts.append(piece)
            if report is not None:
                report(piece)
    return b"".join(parts) if keep else None
