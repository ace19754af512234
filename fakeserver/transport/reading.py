"""Reading what a client sends: the bookkeeping of raw bytes, message data, BDAT chunks.

Generic asyncio (a ``StreamReader``), no aiosmtpd: the adapter reads commands through
aiosmtpd and everything else through here.

:class:`Inbound` mirrors the bytes received but not yet consumed, so that each consumed
line can be reported exactly as the client sent it, and only once its meaning (a command,
a secret) is known; it also tells whether the client pipelined.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from fakeserver.session.lines import LineSplitter

__all__ = ["DROPPED", "LOST", "Inbound", "Lost", "read_chunk", "read_data", "read_line"]

_CHUNK_READ_SIZE = 64 * 1024
# Most one transport read can bring (asyncio's 256 KiB), with room to spare.
_ONE_READ_AT_MOST = 2 * 256 * 1024


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

    def clear(self) -> bytes:
        return self._take(len(self._buffer))

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def __bool__(self) -> bool:
        return bool(self._buffer)

    def has_line(self) -> bool:
        """Whether a whole line is waiting (so reading the next command will not block)."""
        return self._buffer.find(b"\n") >= 0


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
) -> bytes | Lost | None:
    """Reads DATA up to <CRLF>.<CRLF> and undoes dot-stuffing (RFC 5321 §4.5.2).

    Only CRLF ends a line here, so <LF>.<LF> and the other smuggling variants stay in the
    message, as at Gmail (replies.md §14). The data is read in large pieces, not line by
    line: a piece ends at the next ".<CRLF>" or at the reader's limit, and it ends the data
    only if that dot starts a line. Past ``size_limit`` the data is read and thrown away, so
    memory stays bounded.

    Args:
        reader: the connection's stream.
        inbound: the connection's byte bookkeeping.
        size_limit: the most octets kept.
        drop_after: a fault: give up as soon as this many octets have come.
        report: told each whole line, for transcripts; None when nobody watches. Lines past
            ``size_limit`` are not told, only the final dot.

    Returns:
        The message; None when it passed the size limit; ``LOST`` if the client went away,
        ``DROPPED`` if the fault dropped it.
    """
    data = bytearray()
    received = 0
    lines = LineSplitter()
    while True:
        if drop_after is not None and received >= drop_after:
            return DROPPED  # even if the whole message is here
        try:
            piece = await reader.readuntil(b".\r\n")
        except asyncio.LimitOverrunError as error:
            piece = await reader.readexactly(error.consumed)
        except asyncio.IncompleteReadError:
            return LOST
        received += len(piece)
        inbound.take(len(piece))
        if report is not None and received <= size_limit:
            for line in lines.feed(piece):
                report(line)
        data += piece
        if data == b".\r\n" or data.endswith(b"\r\n.\r\n"):
            if drop_after is not None and received >= drop_after:
                return DROPPED
            if report is not None and received > size_limit:
                report(b".\r\n")  # what is past the limit is not kept, nor recorded
            break
        if received > size_limit:
            del data[:-4]  # keep only what a terminator could start in
    if received > size_limit:
        return None
    # Prefixing CRLF makes the first line like the others; "<CRLF>." starts each line whose
    # leading dot the client added.
    return (b"\r\n" + bytes(data[:-3])).replace(b"\r\n.", b"\r\n")[2:]


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
        inbound.take(len(piece))
        if keep:
            parts.append(piece)
            if report is not None:
                report(piece)
    return b"".join(parts) if keep else None
