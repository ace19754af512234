"""One TCP connection read as SMTP lines, for the recording proxy and the replay server.

A :class:`LineStream` wraps an asyncio stream pair. It reads through its own buffer, so that what
it has read but not yet handed out is known: the plaintext a client pipelines after STARTTLS can
then be discarded (RFC 3207 §4.2) instead of being read as if it had come over TLS. Lines are cut
at each LF, at a length limit, or at a caller's byte count (a BDAT chunk, RFC 3030 §2), and never
anywhere else, so the same bytes give the same pieces however TCP segments them: a transcript
recorded by the proxy and the conversation a replay reads can be compared piece by piece.

Every wait takes a timeout; every I/O failure (reset, TLS alert, timeout) is an ``OSError``.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from typing import Any

__all__ = [
    "LINE_LIMIT",
    "LineStream",
    "bdat_size",
    "describe",
    "is_command",
    "reply_code",
]

LINE_LIMIT = 64 * 1024
"""The longest piece handed out; a longer line comes out in pieces (RFC 5321 §4.5.3.1.6 allows
1000 octets, but a relay must carry whatever a client sends)."""

# asyncio's default high-water mark for a transport's write buffer: drain() waits above it.
_HIGH_WATER = 64 * 1024

# RFC 3030 §2: "BDAT" SP chunk-size [SP end-marker]; verbs are case-insensitive (RFC 5321 §2.4).
_BDAT = re.compile(rb"BDAT +([0-9]{1,12})(?: +LAST)? *\r?\n", re.IGNORECASE)


def bdat_size(line: bytes) -> int | None:
    """The chunk size of a ``BDAT <size> [LAST]`` command line, or None for any other line."""
    match = _BDAT.fullmatch(line)
    return None if match is None else int(match[1])


def is_command(line: bytes, verb: bytes) -> bool:
    """Whether ``line`` is exactly the argument-less command ``verb`` (any case, CRLF or LF)."""
    return line.rstrip(b"\r\n").upper() == verb and line.endswith(b"\n")


def reply_code(line: bytes) -> tuple[bytes, bool] | None:
    """``(code, final)`` of a reply line (RFC 5321 §4.2: ``-`` after the code means more
    lines follow), or None when the line does not start with a three-digit code."""
    if len(line) < 3 or not line[:3].isdigit():
        return None
    return line[:3], line[3:4] != b"-"


def describe(error: BaseException) -> str:
    """A one-line, printable description of an I/O error, for events and replies."""
    text = str(error) or type(error).__name__
    text = " ".join(text.split())
    return "".join(char if char.isprintable() else "?" for char in text)[:300]


class LineStream:
    """One connection, read in SMTP pieces and written in bytes.

    Args:
        reader: the stream's reader.
        writer: the stream's writer.
        io_timeout_s: the longest a write may wait for the peer to take the bytes.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        io_timeout_s: float = 30.0,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.io_timeout_s = io_timeout_s
        peer = writer.get_extra_info("peername")
        self.peer: tuple[str, int] = (str(peer[0]), int(peer[1])) if peer else ("?", 0)
        self._buffer = bytearray()
        self._eof = False
        self._outgoing = bytearray()

    async def read_line(self, timeout_s: float, *, limit: int | None = None) -> bytes:
        """The next piece: up to and including an LF, at most ``limit`` (and ``LINE_LIMIT``)
        bytes; what is left at end of file; b"" once nothing is.

        Raises:
            TimeoutError: nothing complete came within ``timeout_s``.
            OSError: the connection failed.
        """
        most = LINE_LIMIT if limit is None else min(limit, LINE_LIMIT)
        piece = self._take(most)
        if piece is not None:
            return piece  # no timer for what is already here: a message is many lines
        async with asyncio.timeout(timeout_s):
            while (piece := self._take(most)) is None:
                chunk = await self.reader.read(LINE_LIMIT)
                if chunk:
                    self._buffer += chunk
                else:
                    self._eof = True
            return piece

    def _take(self, most: int) -> bytes | None:
        end = self._buffer.find(b"\n", 0, most) + 1
        if end == 0 and (len(self._buffer) >= most or self._eof):
            end = min(len(self._buffer), most)
        if end == 0 and not self._eof:
            return None
        piece = bytes(self._buffer[:end])
        del self._buffer[:end]
        return piece

    @property
    def line_ready(self) -> bool:
        """Whether ``read_line`` would return at once."""
        return b"\n" in self._buffer or len(self._buffer) >= LINE_LIMIT or self._eof

    def discard_buffered(self) -> bytes:
        """Forget, and return, what was read but not handed out."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def queue(self, data: bytes) -> None:
        """Hold ``data`` for the next ``flush``, so that lines read together leave together
        (one TCP segment, one TLS record) instead of one write per line."""
        self._outgoing += data

    @property
    def queued(self) -> int:
        """How many bytes ``queue`` holds."""
        return len(self._outgoing)

    async def flush(self) -> None:
        """Send what ``queue`` holds, waiting (bounded) while the peer is slow to take it.

        Raises:
            OSError: the connection failed, or the peer took nothing for ``io_timeout_s``.
        """
        if self._outgoing:
            self.writer.write(bytes(self._outgoing))
            self._outgoing.clear()
        if self.writer.transport.get_write_buffer_size() >= _HIGH_WATER:
            async with asyncio.timeout(self.io_timeout_s):
                await self.writer.drain()
        elif self.writer.transport.is_closing():
            raise ConnectionResetError("the connection is closed")

    async def write(self, data: bytes) -> None:
        """Send what ``queue`` holds, then ``data``; as ``flush``.

        Raises:
            OSError: as ``flush``.
        """
        self.queue(data)
        await self.flush()

    def pause_reading(self) -> None:
        """Stop taking bytes from the socket, so that a TLS ClientHello waits there for the
        handshake instead of being read as data (CPython gh-142352)."""
        transport: Any = self.writer.transport
        transport.pause_reading()

    def resume_reading(self) -> None:
        transport: Any = self.writer.transport
        if not transport.is_closing():
            transport.resume_reading()

    async def start_tls(
        self, context: ssl.SSLContext, *, server_hostname: str | None, timeout_s: float
    ) -> None:
        """Upgrade the connection: as a TLS client if ``server_hostname`` is given, else as
        the server (asyncio decides by how the stream was made; both agree here).

        Raises:
            OSError: the handshake failed or timed out (``ssl.SSLError``, ``TimeoutError``...).
        """
        try:
            async with asyncio.timeout(timeout_s + 1.0):  # a backstop to asyncio's own timeout
                await self.writer.start_tls(
                    context, server_hostname=server_hostname, ssl_handshake_timeout=timeout_s
                )
        except RuntimeError as error:  # the transport closed under asyncio's feet
            raise ConnectionError(describe(error)) from error

    @property
    def tls(self) -> str | None:
        """``"TLSv1.3 TLS_AES_256_GCM_SHA384"`` once TLS is up, else None."""
        ssl_object = self.writer.get_extra_info("ssl_object")
        if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
            return None
        cipher = ssl_object.cipher()
        return f"{ssl_object.version()} {cipher[0] if cipher else '?'}"

    def abort(self) -> None:
        """Drop the connection at once (RST), without a TLS goodbye."""
        self.writer.transport.abort()

    async def close(self, timeout_s: float = 2.0) -> None:
        """Close the connection; abort it if the peer does not finish closing in time
        (a TLS peer that never answers close_notify would otherwise hold it for 30 s)."""
        self.writer.close()
        try:
            async with asyncio.timeout(timeout_s):
                await self.writer.wait_closed()
        except OSError:
            self.writer.transport.abort()
        except asyncio.CancelledError:
            self.writer.transport.abort()
            raise
