"""Bytes on the wire: framing and parsing of reply lines, command lines and message data.

Pure functions and one incremental parser; no sockets, no clocks. The RFC 5321 §4.5.3.1 size
limits are named constants here, each with its section, so every other module says which limit
it applies instead of repeating a number.

Invariants:
- ``ReplyReader`` returns the same replies however the bytes are split across ``feed`` calls,
  and it never holds more than ``REPLY_LINE_LIMIT_OCTETS`` of an unfinished line nor more than
  ``REPLY_LINES_LIMIT`` lines of an unfinished reply: a server cannot make it grow unbounded.
- ``encode_message_data`` output always ends with ``CRLF.CRLF`` and contains no other line that
  is a lone ``.``, so the server sees exactly the lines it was given.
"""

from __future__ import annotations

import re
from typing import Final

from client.errors import LocalProtocolError, RemoteProtocolError
from client.protocol.events import Reply

__all__ = [
    "CRLF",
    "MAX_COMMAND_LINE_OCTETS",
    "MAX_DOMAIN_OCTETS",
    "MAX_LOCAL_PART_OCTETS",
    "MAX_PATH_OCTETS",
    "MAX_REPLY_LINE_OCTETS",
    "MAX_SASL_LINE_OCTETS",
    "MAX_TEXT_LINE_OCTETS",
    "REPLY_LINES_LIMIT",
    "REPLY_LINE_LIMIT_OCTETS",
    "ReplyReader",
    "dot_stuff",
    "encode_command_line",
    "encode_message_data",
    "normalize_line_endings",
    "parse_reply_line",
    "split_wire_lines",
]

CRLF: Final = b"\r\n"

MAX_LOCAL_PART_OCTETS: Final = 64
"""RFC 5321 §4.5.3.1.1: the longest local part (before the ``@``)."""
MAX_DOMAIN_OCTETS: Final = 255
"""RFC 5321 §4.5.3.1.2: the longest domain name or address literal."""
MAX_PATH_OCTETS: Final = 256
"""RFC 5321 §4.5.3.1.3: the longest reverse- or forward-path, angle brackets included."""
MAX_COMMAND_LINE_OCTETS: Final = 512
"""RFC 5321 §4.5.3.1.4: the longest command line, command word and CRLF included."""
MAX_REPLY_LINE_OCTETS: Final = 512
"""RFC 5321 §4.5.3.1.5: the longest reply line a server should send, code and CRLF included."""
MAX_TEXT_LINE_OCTETS: Final = 1000
"""RFC 5321 §4.5.3.1.6: the longest line of message data, CRLF included."""
MAX_SASL_LINE_OCTETS: Final = 12288
"""RFC 4954 §4: the longest line a client may send in answer to a 334 challenge."""

REPLY_LINE_LIMIT_OCTETS: Final = 8192
"""How long a reply line we accept. RFC 5321 §4.5.3.1 asks receivers to be liberal about the
§4.5.3.1.5 limit, so we take 16 times it; anything longer is a broken or hostile server, and we
stop reading instead of buffering it."""
REPLY_LINES_LIMIT: Final = 512
"""How many lines one multi-line reply may have. No RFC number exists; real EHLO replies have
about a dozen, and this keeps one reply under about 4 MiB."""

# RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39, then "-" (more lines follow) or SP and
# text, or nothing at all on a last line.
_REPLY_LINE: Final = re.compile(rb"([2-5][0-5][0-9])(?:([ -])(.*))?", re.DOTALL)
_LINE_BREAK: Final = re.compile(rb"\r\n|\r|\n")
_LINE_START_DOT: Final = re.compile(rb"^\.", re.MULTILINE)


def parse_reply_line(line: bytes) -> tuple[int, bool, str]:
    """Parse one reply line, terminator included or not.

    Returns:
        (code, is_last_line, text). Text is decoded as UTF-8, undecodable bytes replaced.

    Raises:
        RemoteProtocolError: the line is not ``NNN``, ``NNN text`` or ``NNN-text``.
    """
    body = line[:-1] if line.endswith(b"\n") else line
    body = body[:-1] if body.endswith(b"\r") else body
    match = _REPLY_LINE.fullmatch(body)
    if match is None:
        raise RemoteProtocolError(f"not an SMTP reply line: {line[:80]!r}", data=line)
    text = (match[3] or b"").decode("utf-8", "replace")
    return int(match[1]), match[2] != b"-", text


class ReplyReader:
    """Incremental reply parser: feed it bytes as they arrive, take out complete replies.

    It accepts a bare LF as a line end (servers do send them; the exact bytes stay in
    ``Reply.wire`` for anyone who wants to flag it) and holds at most one unfinished reply.
    """

    def __init__(
        self,
        *,
        line_limit_octets: int = REPLY_LINE_LIMIT_OCTETS,
        lines_limit: int = REPLY_LINES_LIMIT,
    ) -> None:
        self._buffer = bytearray()
        self._scanned = 0
        self._code: int | None = None
        self._texts: list[str] = []
        self._wire: list[bytes] = []
        self._line_limit_octets = line_limit_octets
        self._lines_limit = lines_limit

    def feed(self, data: bytes) -> None:
        """Append received bytes. Parsing happens in ``next_reply``."""
        self._buffer += data

    def pending(self) -> bytes:
        """Everything received that is not yet part of a returned reply."""
        return b"".join(self._wire) + bytes(self._buffer)

    def next_reply(self) -> Reply | None:
        """The next complete reply, or None until more bytes arrive.

        Raises:
            RemoteProtocolError: a malformed line, a continuation line whose code differs from
                the first line's (RFC 5321 §4.2.1), or a reply over the size limits.
        """
        # Each turn either consumes one whole line from the buffer or returns, so the loop
        # runs at most once per buffered line.
        while True:
            newline = self._buffer.find(b"\n", self._scanned)
            if newline < 0:
                self._scanned = len(self._buffer)
                if self._scanned > self._line_limit_octets:
                    raise self._too_long(bytes(self._buffer[:80]))
                return None
            line = bytes(self._buffer[: newline + 1])
            del self._buffer[: newline + 1]
            self._scanned = 0
            if len(line) > self._line_limit_octets:
                raise self._too_long(line[:80])
            code, is_last, text = parse_reply_line(line)
            if self._code is not None and code != self._code:
                raise RemoteProtocolError(
                    f"reply line {line[:80]!r} has code {code}, but the reply began with "
                    f"{self._code} (RFC 5321 §4.2.1 wants the same code on every line)",
                    data=line,
                )
            self._code = code
            self._texts.append(text)
            self._wire.append(line)
            if is_last:
                reply = Reply(code, tuple(self._texts), tuple(self._wire))
                self._code, self._texts, self._wire = None, [], []
                return reply
            if len(self._texts) >= self._lines_limit:
                raise RemoteProtocolError(
                    f"reply has more than {self._lines_limit} lines without a last line",
                    data=line,
                )

    def _too_long(self, start: bytes) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"reply line longer than {self._line_limit_octets} octets "
            f"(RFC 5321 §4.5.3.1.5 allows {MAX_REPLY_LINE_OCTETS}); it starts {start!r}",
            data=start,
        )


def encode_command_line(text: str, *, limit_octets: int = MAX_COMMAND_LINE_OCTETS) -> bytes:
    """Encode one command line and append CRLF.

    Raises:
        LocalProtocolError: the text contains CR, LF or NUL (which would smuggle a second
            command onto the wire), or the line is longer than ``limit_octets`` with its CRLF.
    """
    if any(character in text for character in "\r\n\0"):
        raise LocalProtocolError(f"command {text[:80]!r} contains CR, LF or NUL")
    line = text.encode() + CRLF
    if len(line) > limit_octets:
        raise LocalProtocolError(
            f"command line is {len(line)} octets; the limit is {limit_octets} "
            f"(RFC 5321 §4.5.3.1.4, RFC 4954 §4): {text[:60]!r}..."
        )
    return line


def normalize_line_endings(data: bytes) -> bytes:
    """Turn every CRLF, bare CR and bare LF into CRLF (RFC 5321 §2.3.8 allows no other)."""
    return _LINE_BREAK.sub(CRLF, data)


def dot_stuff(data: bytes) -> bytes:
    """Double the leading ``.`` of every line (RFC 5321 §4.5.2). ``data`` must use CRLF."""
    return _LINE_START_DOT.sub(b"..", data)


def encode_message_data(data: bytes) -> bytes:
    """Message data as sent after a 354 reply: CRLF line ends, dot-stuffed, ``.`` CRLF at the
    end. A last line without its line end gets one (RFC 5321 §4.1.1.4).

    Raises:
        LocalProtocolError: a line would be longer than ``MAX_TEXT_LINE_OCTETS`` with its CRLF
            (RFC 5321 §4.5.3.1.6); encode the message (quoted-printable, base64) instead.
    """
    data = normalize_line_endings(data)
    if data and not data.endswith(CRLF):
        data += CRLF
    data = dot_stuff(data)
    start = 0
    # One pass over the lines; each turn moves ``start`` past one CRLF.
    while start < len(data):
        end = data.index(CRLF, start) + len(CRLF)
        if end - start > MAX_TEXT_LINE_OCTETS:
            raise LocalProtocolError(
                f"message line is {end - start} octets with its CRLF; RFC 5321 §4.5.3.1.6 "
                f"allows {MAX_TEXT_LINE_OCTETS}: {data[start : start + 60]!r}..."
            )
        start = end
    return data + b"." + CRLF


def split_wire_lines(data: bytes) -> list[bytes]:
    """Split bytes after each LF, keeping terminators; a trailing piece without LF is kept."""
    return [piece for piece in re.split(rb"(?<=\n)", data) if piece]
