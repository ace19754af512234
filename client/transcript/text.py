r"""Transcripts as text: the format, and reading and writing it.

This docstring is the format's specification. ``load`` and ``dump`` are pure and exact, between
text and the values of ``client.transcript.model``; ``read`` and ``write`` add files. Elsewhere,
``client.transcript.redaction.redact`` hides AUTH secrets in a transcript, and
``client.transcript.recorder.Recorder`` builds one while a conversation happens, redacting
secrets before anything is stored.

Format, version 1
=================
UTF-8 text, one entry per line, each line ending in LF: the ``C:``/``S:`` layout of the Gmail
captures (``tests/data/gmail_transcripts/``), which it reads as they are::

    # smtprig-transcript: 1
    # port: 587
    S: 220 smtp.gmail.com ESMTP d9443c01a7336-22fc75468e4sm22683125ad.44 - gsmtp
    C: STARTTLS
    S: 220 2.0.0 Ready to start TLS
    # --- TLS handshake TLSv1.3 TLS_AES_256_GCM_SHA384 ---
    C~ EHLO bare-lf.example\n
    C: AUTH PLAIN <redacted>
    @0.412 S: 235 2.7.0 Accepted
    # --- closed ---

Header. The leading lines ``# key: value`` (key ``[A-Za-z][A-Za-z0-9_-]*``) are
``Transcript.headers``, in order; keys may repeat. A line of ``#`` and at least two spaces right
after a header field continues it: the value gets a newline and that line's text after the
``#`` (``# notes: a`` then ``#      b`` is ``"a\n      b"``), so wrapped notes stay byte-exact.
The header ends at the first other line. ``# smtprig-transcript: 1`` is the format version; the
Recorder writes it first. Files without it (the captures) are version 1; another version is
refused with a ``TranscriptFormatError`` that says to upgrade smtprig.

Wire lines. ``C: text`` and ``S: text`` are the client's and the server's line ``text`` followed
by CRLF, byte-exact, no escapes: trailing spaces count (``C: auth login `` is
``b"auth login \r\n"``) and ``C: `` is an empty line. ``text`` must be printable
(``str.isprintable``). Every other line is written ``C~ text`` / ``S~ text``, where ``text``
spells every byte, terminator included, with the escapes ``\\ \r \n \t`` and ``\xHH``:
``C~ EHLO x\n`` is a bare-LF line, ``C~ EHL`` a partial write, ``S~ caf\xe9\r\n`` a byte that is
not UTF-8. ``dump`` escapes exactly the backslash, CR, LF, tab, bytes that are not UTF-8,
characters that are not printable, and a trailing space (``\x20``, which editors cannot strip).

Events. ``# --- body ---`` is an ``Event``. A body ``TLS handshake`` or ``TLS handshake detail``
is kind ``tls`` (a handshake completed; the detail is e.g. ``TLSv1.3 TLS_AES_256_GCM_SHA384``).
A body ``kind`` or ``kind: detail`` with a lowercase kind ``[a-z][a-z0-9_-]*`` is that kind, such
as ``closed`` (the connection closed) or ``closed: by server``. Any other body is kind ``note``
with the body as detail (``# --- session 2: after enabling ... ---``); ``dump`` writes
``note: detail`` when the bare detail would read as another kind.

Comments. Any other ``#`` line, or ``# text``, is a ``Comment`` with that text.

Timing. A wire line or an event may start with ``@seconds`` and a space: seconds since the
recording started (``@0.012 C: QUIT``), written as the float's ``repr``. Without it
``elapsed_s`` is None, as in all the captures.

Round trips. ``load(dump(t)) == t`` for every transcript ``dump`` accepts, and
``dump(load(text)) == text`` for every canonical text: whatever ``dump`` writes and every
capture. ``load`` also reads other spellings (``C~ QUIT\r\n``, ``# --- tls: x ---``, and
``C:`` or ``C~`` whose trailing space an editor stripped) that ``dump`` writes canonically.
``dump`` raises ``ValueError`` for what the format cannot hold: a bad header key or value, an
infinite or NaN ``elapsed_s``, a comment that would read back as an event (``--- x ---``), or a
first entry that is a comment that would read back as a header field or its continuation.
``load`` raises ``TranscriptFormatError`` (line number, text, what to write instead) for any
line it cannot read, blank lines included.

Secrets. ``Recorder(redact_secrets=True)`` and ``write(redact_secrets=True)``, the defaults,
replace AUTH initial responses and SASL responses by ``<redacted>``
(``client.transcript.redaction``). ``write`` takes every client line that answers a ``334`` as a
SASL response, even the ``QUIT`` that Gmail took as one in captures 27 and 28. ``load`` and
``dump`` never change a line.

Placeholders in the Gmail captures, read as ordinary lines
(``client.transcript.normalise.placeholder`` recognises them for matching):

- secrets: ``<redacted>``, ``<redacted base64 username>``, ``<redacted base64 password>``,
  ``<redacted base64 app password>``, ``<redacted: 40 bytes SASL PLAIN>``,
  ``AUTH PLAIN <redacted>``, ``AUTH LOGIN <redacted base64 username>``,
  ``AUTH XOAUTH2 <redacted base64 of "...">``;
- addresses and names: ``MAIL FROM:<redacted@gmail.com>``, ``RCPT TO:<redacted>``,
  ``MAIL FROM:<...>``, ``RCPT TO:<to>`` (``<cc>``, ``<bcc>``), ``EHLO <client>``, ``HELO <host>``;
- message data: ``<message, ending CRLF.CRLF>``, ``<message headers and body, ending with
  CRLF.CRLF>``, ``<DKIM-signed message, ending CRLF.CRLF>``, ``<message> .``,
  ``<headers/body> .``, ``<message lines> ... .``, ``<headers, body, ".">``,
  ``<headers and multipart body>`` and ``<body lines>`` (followed or surrounded by real lines),
  ``<30304 bytes of message data>`` (a BDAT chunk);
- server lines nobody recorded: ``<nothing>``, ``<nothing: connection closed>``,
  ``<no reply: ...>``, ``<250 not printed>``, ``<250 2.0.0 OK ... (not printed)>``,
  ``<221 ... (not printed)>``.

Other things in the captures, also read literally: capture 24 has two server lines ending in
``   # (not printed in the post; standard reply inferred)``; 17, 33, 36 and 38 have masked ids
and addresses; 40 has ``250 2.0.0 OK `` with a trailing space. Ends of connections are mostly
comments (``# Connection closed by foreign host.``); 16's ``# --- server closed the connection
---`` and 09's ``# --- client-side TLS failure (...) ---`` are notes. Handshakes are
``# --- TLS handshake ... ---`` (tls events), except in 23 (``TLS 1.3 handshake (...)``) and 38
(``TLS (...)``), which load as notes, and in 13 and 14, which show none. 13, 32, 41 and mx_03
hold several connections, separated by notes or comments (41's ``# ---- other ... ----`` is a
comment).
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from client.transcript import syntax
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

__all__ = [
    "FORMAT_VERSION",
    "VERSION_HEADER",
    "TranscriptFormatError",
    "dump",
    "format_line",
    "load",
    "read",
    "redact",
    "write",
]

_HEADER = re.compile(r"# (?P<key>[A-Za-z][A-Za-z0-9_-]*): (?P<value>.*)", re.DOTALL)
_CONTINUATION = re.compile(r"#  .*", re.DOTALL)
_EVENT = re.compile(r"# --- (?P<body>.*) ---", re.DOTALL)
_TIMED = re.compile(r"@(?P<elapsed>\S*) (?P<rest>.*)", re.DOTALL)


# Not in client.errors, whose tree is about SMTP conversations: this is the file format's error.
# A ValueError, so that code that validates input catches it.
class TranscriptFormatError(ValueError):
    """A transcript's text cannot be read.

    Attributes:
        line_number: 1-based number of the offending line.
        text: the offending line.
        problem: what is wrong and what to write instead.
        source: where the text came from (a path), if known.
    """

    def __init__(
        self, line_number: int, text: str, problem: str, *, source: str | None = None
    ) -> None:
        where = f"{source}:{line_number}" if source else f"line {line_number}"
        super().__init__(f"{where}: {problem}\n    {text!r}")
        self.line_number = line_number
        self.text = text
        self.problem = problem
        self.source = source


def load(text: str, *, source: str | None = None) -> Transcript:
    """Read a transcript from its text.

    Args:
        text: the whole transcript, LF line ends.
        source: where the text came from, for error messages.

    Returns:
        The transcript; ``dump`` of it gives ``text`` back when ``text`` is canonical.

    Raises:
        TranscriptFormatError: a line that is not part of the format, or an unknown version.
    """
    rows = text.split("\n")
    if rows[-1] == "":
        rows.pop()
    headers: list[tuple[str, str]] = []
    entries: list[Entry] = []
    in_header = True
    for number, row in enumerate(rows, start=1):
        try:
            if in_header and (header := _HEADER.fullmatch(row)) is not None:
                syntax.require_printable(row, "header values are plain text")
                _check_version(header["key"], header["value"])
                headers.append((header["key"], header["value"]))
                continue
            if in_header and headers and _CONTINUATION.fullmatch(row):
                syntax.require_printable(row, "header values are plain text")
                key, value = headers[-1]
                headers[-1] = (key, f"{value}\n{row[1:]}")
                continue
            in_header = False
            entries.append(_parse_entry(row))
        except ValueError as error:  # SyntaxProblem included
            raise TranscriptFormatError(number, row, str(error), source=source) from None
    return Transcript(tuple(headers), tuple(entries))


def _check_version(key: str, value: str) -> None:
    if key == VERSION_HEADER and value != str(FORMAT_VERSION):
        raise ValueError(
            f"this is transcript format version {value!r}; this smtprig reads version "
            f"{FORMAT_VERSION}: upgrade smtprig (pip install -U smtprig) to read it"
        )


def _parse_entry(row: str) -> Entry:
    elapsed_s: float | None = None
    rest = row
    if row.startswith("@"):
        timed = _TIMED.fullmatch(row)
        if timed is None:
            raise ValueError("a timed line is '@<seconds> ' then a C:/S: line or a # --- event")
        elapsed_s = syntax.parse_elapsed(timed["elapsed"])
        rest = timed["rest"]
    if rest in ("C:", "S:", "C~", "S~"):
        rest += " "  # an empty line whose trailing space an editor stripped
    marker = rest[:3]
    if marker in ("C: ", "S: "):
        syntax.require_printable(rest[3:], f"write the line as '{rest[0]}~ ' with escapes")
        return Line(Direction(rest[0]), rest[3:].encode("utf-8") + syntax.CRLF, elapsed_s)
    if marker in ("C~ ", "S~ "):
        return Line(Direction(rest[0]), syntax.parse_escaped(rest[3:]), elapsed_s)
    if rest == "#" or rest.startswith("# "):
        syntax.require_printable(rest, "comments and events are plain text")
        event = _EVENT.fullmatch(rest)
        if event is not None:
            kind, detail = syntax.parse_event_body(event["body"])
            return Event(kind, detail, elapsed_s)
        if elapsed_s is not None:
            raise ValueError("only wire lines and '# --- ... ---' events can be timed")
        return Comment(rest[2:])
    raise ValueError(
        "expected 'C: ', 'S: ' (a line), 'C~ ', 'S~ ' (an escaped line) or '# ' (a comment, "
        "an event or, at the top, a header field)"
    )


def dump(transcript: Transcript) -> str:
    """Write a transcript as text.

    Args:
        transcript: what to write; it is written as it is (see ``redact`` and ``write``).

    Returns:
        The canonical text; ``load`` of it gives ``transcript`` back.

    Raises:
        ValueError: the transcript holds something the format cannot (see the module docstring).
    """
    rows: list[str] = []
    for key, value in transcript.headers:
        rows.extend(_format_header(key, value))
    for index, entry in enumerate(transcript.entries):
        row = format_line(entry) if isinstance(entry, Line) else _format_note(entry)
        if index == 0 and isinstance(entry, Comment):
            first_row_reads_as_header = _HEADER.fullmatch(row) is not None or (
                bool(transcript.headers) and _CONTINUATION.fullmatch(row) is not None
            )
            if first_row_reads_as_header:
                raise ValueError(f"{entry!r} first would read back as a header field")
        rows.append(row)
    return "".join(f"{row}\n" for row in rows)


def _format_header(key: str, value: str) -> list[str]:
    first, *continued = value.split("\n")
    rows = [f"# {key}: {first}", *(f"#{part}" for part in continued)]
    if _HEADER.fullmatch(rows[0]) is None or not all(map(_CONTINUATION.fullmatch, rows[1:])):
        raise ValueError(
            f"header {key!r}: the key must match [A-Za-z][A-Za-z0-9_-]* and every line after "
            "the first in the value must start with two spaces"
        )
    if not all(row.isprintable() for row in rows):
        raise ValueError(f"header {key!r}: the value must be printable text")
    _check_version(key, value)
    return rows


def format_line(line: Line) -> str:
    """Return how ``line`` is written in a transcript: ``C: EHLO x``, ``C~ EHLO x\\n``...

    Raises:
        ValueError: ``line.elapsed_s`` is infinite or NaN.
    """
    marker, text = syntax.format_wire_text(line.data)
    return f"{_timing(line.elapsed_s)}{line.direction.value}{marker} {text}"


def _format_note(entry: Event | Comment) -> str:
    if isinstance(entry, Event):
        body = syntax.format_event_body(entry.kind, entry.detail)
        return f"{_timing(entry.elapsed_s)}# --- {body} ---"
    row = f"# {entry.text}" if entry.text else "#"
    if _EVENT.fullmatch(row) is not None:
        raise ValueError(f"{entry!r} would read back as an event; it cannot be '--- ... ---'")
    return row


def _timing(elapsed_s: float | None) -> str:
    return "" if elapsed_s is None else f"@{syntax.format_elapsed(elapsed_s)} "


def read(path: str | os.PathLike[str]) -> Transcript:
    """Read a transcript file (UTF-8; CRLF line ends from a Windows checkout are fine).

    Raises:
        OSError: the file cannot be read.
        TranscriptFormatError: the text is not a transcript; the message names the file.
    """
    return load(Path(path).read_text(encoding="utf-8"), source=os.fspath(path))


def write(
    path: str | os.PathLike[str], transcript: Transcript, *, redact_secrets: bool = True
) -> None:
    """Write a transcript file, with LF line ends.

    Args:
        path: the file to create or replace.
        transcript: what to write.
        redact_secrets: apply ``redact`` first, so no AUTH secret reaches the disk even if the
            transcript was recorded with ``redact_secrets=False``.

    Raises:
        OSError: the file cannot be written.
        ValueError: as ``dump``.
    """
    text = dump(redact(transcript) if redact_secrets else transcript)
    Path(path).write_text(text, encoding="utf-8", newline="\n")


def redact(transcript: Transcript) -> Transcript:
    """Return ``transcript`` with AUTH initial responses and SASL responses as ``<redacted>``.

    A SASL response is any client line after a ``334`` reply, up to its terminator. Lines
    that are already placeholders, and the ``*`` that cancels an exchange, stay as they are.
    """
    redactor = SecretRedactor()
    answering_challenge = False
    entries: list[Entry] = []
    for entry in transcript.entries:
        if isinstance(entry, Line) and entry.direction is Direction.SERVER:
            # RFC 4954 §4: a challenge is a 334 reply; the next client line answers it.
            answering_challenge = entry.data[:4] in (b"334 ", b"334\r", b"334\n", b"334")
        elif isinstance(entry, Line):
            data = redactor.client_line(entry.data, sasl_response=answering_challenge)
            if entry.data.endswith(b"\n"):
                answering_challenge = False
            if data != entry.data:  # most lines hold no secret: keep them as they are
                entry = replace(entry, data=data)
        entries.append(entry)
    return Transcript(transcript.headers, tuple(entries))
