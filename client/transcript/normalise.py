"""Normalisers and placeholders: what may differ between a transcript line and a live one.

A **normaliser** is a small named pure function ``(direction, text) -> text`` over one line
without its terminator (decoded as UTF-8, undecodable bytes kept by ``surrogateescape``). It
replaces a part that differs between runs by a fixed token (``<session-id>``, ``<timestamp>``...)
and leaves every other character alone, so a normalised comparison is byte-exact everywhere else:
``354  Go ahead`` and ``354 Go ahead`` still differ. ``NORMALISERS`` is the default registry, a
read-only mapping from name to function, applied in its order; to add one, pass
``{**NORMALISERS, "mine": mine}``; to compare byte for byte, pass ``{}``.

A **placeholder** is a line of the expected transcript that stands for what was not recorded
(``client.transcript`` lists those found in the Gmail captures):

- ``VALUE``: outside message data, a client line with ``<...>`` tokens whose text has no ``@``
  or starts with ``redacted`` (``AUTH PLAIN <redacted>``, ``<redacted>``, ``RCPT TO:<to>``,
  ``MAIL FROM:<...>``); each token matches any run of non-space characters;
- ``MESSAGE``: in message data (after a 354 reply or a BDAT command), a whole line ``<...>``
  about a message, its headers, body, data or bytes, optionally followed by `` ...`` and `` .``
  (``<message, ending CRLF.CRLF>``, ``<headers/body> .``, not ``<body>``, which is HTML); it
  matches any number of client lines, up to the first that matches the next expected line;
- ``NO_REPLY``: a server ``<nothing...>`` or ``<no reply...>``: the server said nothing there;
- ``UNPRINTED_REPLY``: a server ``<NNN ...>`` such as ``<250 not printed>``: any one reply
  with code NNN, however many lines.

``check_line`` is the line matcher: it names the check that failed, ``direction``, ``text`` (the
texts differ after normalising), ``placeholder`` (a ``VALUE`` placeholder that does not fit) or
``line-ending`` (CRLF, bare LF or none). A line that equals the expected one matches even if the
expected one looks like a placeholder (a real ``<html>`` line in a message body matches itself).
``advance`` matches one expected line with ``check_line``, or the run of actual lines a
multi-line placeholder stands for; ``client.transcript.compare`` walks whole conversations with
it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from client.transcript.model import Direction, Line

__all__ = [
    "NORMALISERS",
    "LineFailure",
    "Normaliser",
    "Placeholder",
    "advance",
    "auth_payload",
    "check_line",
    "client_ip",
    "date",
    "ehlo_name",
    "mail_size",
    "message_id",
    "normalise",
    "placeholder",
    "session_id",
    "split_line",
    "timestamp",
]

Normaliser = Callable[[Direction, str], str]

# replies.md §1: the id before " - gsmtp" (any era, masked ones too), and the id's shape for
# the years before the suffix (2008-2010): submission ids have "sm", MX ids "si".
_ID_BEFORE_GSMTP = re.compile(r"\S+(?= - gsmtp$)")
_ID_SHAPE = re.compile(r"(?<![\w.-])[0-9a-z-]+s[mi][0-9]+[0-9a-z]{0,4}\.[0-9]{1,3}(?![\w.])")
# replies.md: the end-of-data reply "250 2.0.0 OK <ts> <id> - gsmtp" (one or two spaces).
_TIMESTAMP = re.compile(r"^(250[ -]2\.0\.0 OK +)[0-9]{9,11}(?= )")
_CLIENT_IP = re.compile(r"(at your service, \[)(?:IPv6:)?[0-9A-Fa-f.:]+(?=\])")
# RFC 5321 §4.1.1.1 (EHLO/HELO), §2.4 (verbs are case-insensitive); RFC 5322 §3.6.1, §3.6.4.
_EHLO = re.compile(r"((?:EHLO|HELO) +)\S.*", re.IGNORECASE | re.DOTALL)
_MESSAGE_ID = re.compile(r"(Message-ID:[ \t]*)\S.*", re.IGNORECASE | re.DOTALL)
_DATE = re.compile(r"(Date:[ \t]*)\S.*", re.IGNORECASE | re.DOTALL)
# RFC 4954 §4: AUTH mechanism initial-response.
_AUTH = re.compile(r"(AUTH +\S+ +)\S.*", re.IGNORECASE | re.DOTALL)
# RFC 1870 §6: MAIL FROM:<path> SIZE=<digits>, among the other mail parameters.
_MAIL_SIZE = re.compile(r"(MAIL +FROM:.*? SIZE=)[0-9]+(?=\s|$)", re.IGNORECASE | re.DOTALL)


def _keep_head(pattern: re.Pattern[str], text: str, token: str) -> str:
    """``text`` with everything after the pattern's first group replaced by ``token``."""
    match = pattern.fullmatch(text)
    return text if match is None else match[1] + token


def session_id(direction: Direction, text: str) -> str:
    """Replace Gmail's per-connection session id in a server line by ``<session-id>``."""
    if direction is not Direction.SERVER:
        return text
    return _ID_SHAPE.sub("<session-id>", _ID_BEFORE_GSMTP.sub("<session-id>", text, count=1))


def timestamp(direction: Direction, text: str) -> str:
    """Replace the Unix time in the end-of-data reply ``250 2.0.0 OK <ts>`` by ``<timestamp>``."""
    if direction is not Direction.SERVER:
        return text
    return _TIMESTAMP.sub(r"\g<1><timestamp>", text)


def client_ip(direction: Direction, text: str) -> str:
    """Replace the client address in ``at your service, [ip]`` (IPv4 or IPv6) by ``<client-ip>``."""
    if direction is not Direction.SERVER:
        return text
    return _CLIENT_IP.sub(r"\g<1><client-ip>", text)


def ehlo_name(direction: Direction, text: str) -> str:
    """Replace the argument of a client EHLO or HELO by ``<ehlo-name>``; a bare EHLO stays."""
    if direction is not Direction.CLIENT:
        return text
    return _keep_head(_EHLO, text, "<ehlo-name>")


def message_id(direction: Direction, text: str) -> str:
    """Replace the value of a ``Message-ID:`` header line by ``<message-id>``."""
    if direction is not Direction.CLIENT:
        return text
    return _keep_head(_MESSAGE_ID, text, "<message-id>")


def date(direction: Direction, text: str) -> str:
    """Replace the value of a ``Date:`` header line by ``<date>``."""
    if direction is not Direction.CLIENT:
        return text
    return _keep_head(_DATE, text, "<date>")


def auth_payload(direction: Direction, text: str) -> str:
    """Replace the initial response of ``AUTH <mechanism> <response>`` by ``<redacted>``."""
    if direction is not Direction.CLIENT:
        return text
    return _keep_head(_AUTH, text, "<redacted>")


def mail_size(direction: Direction, text: str) -> str:
    """Replace the ``SIZE=`` of ``MAIL FROM`` by ``<size>``: the client's estimate of the
    message's size, which changes with every run's dates, ids and MIME boundaries."""
    if direction is not Direction.CLIENT:
        return text
    return _MAIL_SIZE.sub(r"\g<1><size>", text, count=1)


NORMALISERS: Mapping[str, Normaliser] = MappingProxyType(
    {
        "session_id": session_id,
        "timestamp": timestamp,
        "client_ip": client_ip,
        "ehlo_name": ehlo_name,
        "message_id": message_id,
        "date": date,
        "auth_payload": auth_payload,
        "mail_size": mail_size,
    }
)


def split_line(data: bytes) -> tuple[str, bytes]:
    """Return a line's text (undecodable bytes kept) and its terminator: CRLF, LF or nothing."""
    ending = b"\r\n" if data.endswith(b"\r\n") else b"\n" if data.endswith(b"\n") else b""
    return data[: len(data) - len(ending)].decode("utf-8", "surrogateescape"), ending


def _normalised(line: Line, normalisers: Mapping[str, Normaliser]) -> tuple[str, list[str]]:
    text, _ = split_line(line.data)
    used = []
    for name, normaliser in normalisers.items():
        changed = normaliser(line.direction, text)
        if changed != text:
            used.append(name)
            text = changed
    return text, used


def normalise(line: Line, normalisers: Mapping[str, Normaliser] = NORMALISERS) -> str:
    """Return the text of ``line`` (without terminator) after every normaliser, in order."""
    return _normalised(line, normalisers)[0]


class Placeholder(enum.Enum):
    """What an expected line stands for when it is not a recorded line."""

    VALUE = "value"
    MESSAGE = "message"
    NO_REPLY = "no reply"
    UNPRINTED_REPLY = "unprinted reply"


_TOKEN = re.compile(r"<[^<>]+>")
_MESSAGE_LINE = re.compile(r"<[^<>]+>(?: \.\.\.)?(?: \.)?")
_MESSAGE_WORDS = re.compile(r"\b(?:message|headers|body|data|bytes)\b", re.IGNORECASE)
_SEPARATOR = re.compile(r"[ ,/]")
_NO_REPLY = re.compile(r"<(?:nothing|no reply)\b[^<>]*>")
_UNPRINTED_REPLY = re.compile(r"<(?P<code>[2-5][0-9][0-9])\b[^<>]*>")


def _is_value_token(token: str) -> bool:
    inner = token[1:-1]
    return inner.startswith("redacted") or "@" not in inner


def placeholder(line: Line, *, in_data: bool = False) -> Placeholder | None:
    """Tell what an expected line stands for, if it is a placeholder.

    Args:
        line: a line of the expected transcript.
        in_data: the line is message data (it follows a 354 reply or a BDAT command).

    Returns:
        The kind of placeholder, or None for an ordinary line.
    """
    text, _ = split_line(line.data)
    if line.direction is Direction.SERVER:
        if _NO_REPLY.fullmatch(text):
            return Placeholder.NO_REPLY
        if _UNPRINTED_REPLY.fullmatch(text):
            return Placeholder.UNPRINTED_REPLY
        return None
    if in_data:
        # "<body>" and "</body>" are HTML; a stand-in has a space, "," or "/" inside, or is
        # "<message>" (captures 13, 14, 22, 31).
        inner = text[1:].split(">", 1)[0]
        stand_in = _MESSAGE_LINE.fullmatch(text) and _MESSAGE_WORDS.search(inner)
        if stand_in and (inner.lower() == "message" or _SEPARATOR.search(inner[1:])):
            return Placeholder.MESSAGE
        return None
    if any(_is_value_token(token) for token in _TOKEN.findall(text)):
        return Placeholder.VALUE
    return None


def _value_pattern(text: str) -> re.Pattern[str]:
    parts = []
    position = 0
    for match in _TOKEN.finditer(text):
        if _is_value_token(match[0]):
            parts += [re.escape(text[position : match.start()]), r"\S*"]
            position = match.end()
    parts.append(re.escape(text[position:]))
    return re.compile("".join(parts), re.DOTALL)


@dataclass(frozen=True, slots=True)
class LineFailure:
    """Why a line does not match the expected one.

    Attributes:
        matcher: ``direction``, ``text``, ``placeholder`` or ``line-ending``.
        reason: one sentence saying what was expected.
        normalisers: the names of the normalisers that changed either line.
        expected_text: the expected text after normalising, when texts were compared.
        actual_text: the actual text after normalising, when texts were compared.
    """

    matcher: str
    reason: str
    normalisers: tuple[str, ...] = ()
    expected_text: str | None = None
    actual_text: str | None = None


_ENDINGS = {b"\r\n": "CRLF", b"\n": "a bare LF", b"": "no line ending (a partial write)"}


def check_line(
    expected: Line, actual: Line, normalisers: Mapping[str, Normaliser], *, in_data: bool
) -> LineFailure | None:
    """Match one actual line against one expected line.

    Args:
        expected: the transcript's line, possibly a ``VALUE`` placeholder.
        actual: the line said this time.
        normalisers: applied to both texts before comparing them.
        in_data: the lines are message data (placeholders are read differently there).

    Returns:
        None if ``actual`` matches, else why not.
    """
    if expected.direction is not actual.direction:
        return LineFailure(
            "direction",
            f"expected a {expected.direction.name.lower()} line, "
            f"got a {actual.direction.name.lower()} line",
        )
    expected_text, expected_used = _normalised(expected, normalisers)
    actual_text, actual_used = _normalised(actual, normalisers)
    used = tuple(name for name in normalisers if name in expected_used + actual_used)
    texts = (used, expected_text, actual_text)
    if expected_text != actual_text:
        if placeholder(expected, in_data=in_data) is not Placeholder.VALUE:
            return LineFailure("text", "the lines differ", *texts)
        if _value_pattern(expected_text).fullmatch(actual_text) is None:
            reason = "each <...> stands for one run of non-space characters; the rest must match"
            return LineFailure("placeholder", reason, *texts)
    expected_end, actual_end = split_line(expected.data)[1], split_line(actual.data)[1]
    if expected_end != actual_end:
        reason = f"expected {_ENDINGS[expected_end]}, got {_ENDINGS[actual_end]}"
        return LineFailure("line-ending", reason, *texts)
    return None


def _reply_end(lines: Sequence[Line], start: int, code: str) -> int | None:
    """Index after the one reply with ``code`` that starts at ``start`` (RFC 5321 §4.2.1)."""
    index = start
    prefix = code.encode("ascii")
    while index < len(lines) and lines[index].direction is Direction.SERVER:
        data = lines[index].data
        if data[:3] != prefix:
            return None
        index += 1
        if data[3:4] != b"-":
            return index
    return None


def advance(
    expected: Line,
    following: Line | None,
    lines: Sequence[Line],
    start: int,
    normalisers: Mapping[str, Normaliser],
    *,
    in_data: bool,
) -> int | LineFailure:
    """Match one expected line, or the run of lines a multi-line placeholder stands for.

    Args:
        expected: the transcript's line.
        following: the transcript's next line (where a ``MESSAGE`` placeholder stops), if any.
        lines: the actual lines.
        start: where in ``lines`` to match from.
        normalisers: as for ``check_line``.
        in_data: the line is message data.

    Returns:
        The index of the first actual line after those ``expected`` matched, or why none do.
    """
    actual = lines[start] if start < len(lines) else None
    failure = None
    if actual is not None:
        failure = check_line(expected, actual, normalisers, in_data=in_data)
        if failure is None:
            return start + 1
    kind = placeholder(expected, in_data=in_data)
    if kind is Placeholder.MESSAGE:
        return _message_end(lines, start, following, normalisers)
    if kind is Placeholder.NO_REPLY:
        if actual is not None and actual.direction is Direction.SERVER:
            return LineFailure("placeholder", "expected no reply from the server")
        return start
    if kind is Placeholder.UNPRINTED_REPLY:
        code = split_line(expected.data)[0][1:4]
        end = _reply_end(lines, start, code)
        if end is None:
            matcher = "end" if actual is None else "placeholder"
            return LineFailure(matcher, f"expected a {code} reply (its text was not recorded)")
        return end
    return failure or LineFailure("end", "the conversation ended before the transcript")


def _message_end(
    lines: Sequence[Line], start: int, following: Line | None, normalisers: Mapping[str, Normaliser]
) -> int:
    """Where the client lines a message stand-in covers end: lazily, at the first one that the
    next expected line accepts, or at the first server line."""
    index = start
    while index < len(lines) and lines[index].direction is Direction.CLIENT:
        if following is not None:
            failure = check_line(following, lines[index], normalisers, in_data=True)
            if failure is None:
                break
        index += 1
    return index
