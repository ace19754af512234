"""A message compared as structure: what a transcript's message says, as the ``email`` package
parses it (policy ``default``), and the first difference between two messages.

``compare_messages`` parses both messages (after the ``before_record`` filter, on both), then
compares, in this order, and stops at the first difference:

1. the MIME tree: every part, depth first, with its content type, the number of its parts, its
   charset, transfer encoding, disposition and file name (``structure`` level only);
2. for each part: its header fields, in order, each name (case-insensitively, RFC 5322 §1.2.2)
   with its decoded, unfolded value; then a multipart's preamble and epilogue, or a leaf's
   decoded content: a text part line by line, anything else as bytes (``headers`` level: only
   the header fields of the message itself).

Parts are named by their place: ``the message``, then ``part 1``, ``part 1.2`` (the second part
of the first part) and so on, with the content type. Values that change on every run are masked
in header values before comparing: ``Date`` (``<date>``), ``Message-ID`` (``<message-id>``),
the ``boundary`` parameter (``<boundary>``), versions in ``X-Mailer`` and ``User-Agent``
(``<version>``), and RFC 5322 date-times inside any other value (``<date>``); then the user's
masks (``client.transcript.matching``) apply to every value, tree entry and body line.

``message_bytes`` turns a transcript's message lines back into the message (RFC 5321 §4.5.2:
without the final ``.`` and with the transparency dots removed). Parsing never raises: the
``email`` package records what it cannot read as defects and goes on; a header value it finds
malformed is compared as written, unfolded.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from client.transcript.matching import Matching, MatchLevel

__all__ = ["MessageDifference", "compare_messages", "message_bytes", "parse_message"]

# RFC 5321 §4.5.2: the client doubles a dot that starts a line; the server removes it.
_TRANSPARENCY_DOT = re.compile(rb"^\.", re.MULTILINE)
_FOLD = re.compile(r"\r?\n[ \t]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

_DATES = frozenset({"date", "resent-date"})
_IDS = frozenset({"message-id", "resent-message-id"})
_SOFTWARE = frozenset({"x-mailer", "user-agent"})
# RFC 2045 §5.1 / RFC 2046 §5.1.1: the boundary parameter, quoted or not.
_BOUNDARY = re.compile(r'(\bboundary\s*=\s*)(?:"[^"]*"|[^;\s]+)', re.IGNORECASE)
_VERSION = re.compile(r"\bv?\d+(?:\.\d+)+[\w.+-]*|\bv\d{6,}\b", re.IGNORECASE)
# RFC 5322 §3.3: [day-of-week ","] day month year hour ":" minute [":" second] zone.
_DATE_TIME = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s*)?\d{1,2}\s+"
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{2,4}\s+"
    r"\d{1,2}:\d{2}(?::\d{2})?\s*(?:[+-]\d{4}|[A-Z]{1,5})?(?:\s*\([^()]*\))?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class MessageDifference:
    """The first difference between the message a transcript holds and the one sent.

    Attributes:
        where: the part, e.g. ``the message`` or ``part 1.2 (text/html)``.
        what: what differs in it, e.g. ``header Subject``, ``line 3 of the decoded body``.
        expected: the transcript's version, masked; None if it has nothing there.
        actual: the version sent, masked; None if it has nothing there.
        summary: one sentence, e.g. ``in part 1.2 (text/html), line 3 of the decoded body
            differs``, ``in the message, header X-Campaign is missing`` or ``the MIME tree
            differs: part 2 (application/pdf) is missing``.
        details: more lines for people (both MIME trees, where binary content first differs).
    """

    where: str
    what: str
    expected: str | None
    actual: str | None
    summary: str
    details: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.summary


def _difference(
    where: str, what: str, expected: str | None, actual: str | None, *details: str
) -> MessageDifference:
    verdict = "was not expected" if expected is None else "is missing" if actual is None else ""
    summary = f"in {where}, {what} {verdict or 'differs'}"
    return MessageDifference(where, what, expected, actual, summary, details)


def message_bytes(lines: Sequence[bytes]) -> bytes:
    """The message that ``lines`` (as sent after the ``354``, the final ``.`` excluded) carry."""
    return _TRANSPARENCY_DOT.sub(b"", b"".join(lines))


def parse_message(data: bytes) -> EmailMessage:
    """Parse a message as the comparison does (``email.policy.default``)."""
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    if not isinstance(parsed, EmailMessage):  # policy.default always makes one
        raise TypeError(f"the email package returned {type(parsed).__name__}")
    return parsed


def compare_messages(
    expected: bytes, actual: bytes, matching: Matching | None = None
) -> MessageDifference | None:
    """Find the first difference between two messages, at ``matching.level``.

    Args:
        expected: the message the transcript holds.
        actual: the message sent this time.
        matching: the level, the masks and the ``before_record`` filter; the defaults if None.

    Returns:
        None if they match at that level, else the first difference. The ``bytes`` and
        ``envelope`` levels compare no structure, so they return None.
    """
    matching = matching or Matching()
    if not matching.level.parses:
        return None
    want, got = parse_message(expected), parse_message(actual)
    if matching.before_record is not None:
        matching.before_record(want)
        matching.before_record(got)
    if matching.level is MatchLevel.HEADERS:
        return _header_difference("the message", want, got, matching)
    wanted, gotten = _parts(want), _parts(got)
    found = _tree_difference(wanted, gotten, matching)
    if found is not None:
        return found
    for (path, mine_part), (_, their_part) in zip(wanted, gotten, strict=True):
        where = _where(path, mine_part)
        found = _header_difference(where, mine_part, their_part, matching)
        found = found or _content_difference(where, mine_part, their_part, matching)
        if found is not None:
            return found
    return None


def _tree_difference(
    wanted: list[tuple[str, EmailMessage]],
    gotten: list[tuple[str, EmailMessage]],
    matching: Matching,
) -> MessageDifference | None:
    """The first part whose place in the tree differs; named as a missing or an extra part
    when that is all that changed (an attachment left out moves every part after it)."""
    mine = [_outline(part, matching) for _, part in wanted]
    theirs = [_outline(part, matching) for _, part in gotten]
    if mine == theirs:
        return None
    details = (
        "expected MIME tree:",
        *_tree(wanted, mine),
        "actual MIME tree:",
        *_tree(gotten, theirs),
    )
    missing = _leaves_only_in(wanted, mine, theirs)
    extra = _leaves_only_in(gotten, theirs, mine)
    if missing and not extra:
        path, part, outline = missing[0]
        where = _where(path, part)
        summary = f"the MIME tree differs: {where} is missing"
        return MessageDifference(where, "the part", outline, None, summary, details)
    if extra and not missing:
        path, part, outline = extra[0]
        where = _where(path, part)
        summary = f"the MIME tree differs: {where} was not expected"
        return MessageDifference(where, "the part", None, outline, summary, details)
    pairs = zip(mine, theirs, strict=False)
    index = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(mine), len(theirs)))
    want, got = _at(mine, index), _at(theirs, index)
    where = _where(*(wanted[index] if want is not None else gotten[index]))
    summary = f"the MIME tree differs at {where}"
    return MessageDifference(where, "the part", want, got, summary, details)


def _at(rows: list[str], index: int) -> str | None:
    return rows[index] if index < len(rows) else None


def _leaves_only_in(
    parts: list[tuple[str, EmailMessage]], outlines: list[str], others: list[str]
) -> list[tuple[str, EmailMessage, str]]:
    """The leaf parts (path, part, outline) whose outline the other tree has fewer times."""
    left = list(others)
    found = []
    for (path, part), outline in zip(parts, outlines, strict=True):
        if part.is_multipart():
            continue
        if outline in left:
            left.remove(outline)
        else:
            found.append((path, part, outline))
    return found


def _tree(parts: list[tuple[str, EmailMessage]], outlines: list[str]) -> list[str]:
    rows = [
        f"  {path or 'message'}: {outline}"
        for (path, _), outline in zip(parts, outlines, strict=True)
    ]
    return rows or ["  (nothing)"]


def _parts(message: EmailMessage, path: str = "") -> list[tuple[str, EmailMessage]]:
    found = [(path, message)]
    for number, child in enumerate(_children(message), start=1):
        found += _parts(child, f"{path}.{number}" if path else str(number))
    return found


def _children(part: EmailMessage) -> list[EmailMessage]:
    """A multipart's parts, or the message inside a message/rfc822 part."""
    payload = part.get_payload() if part.is_multipart() else None
    return [child for child in payload or () if isinstance(child, EmailMessage)]


def _where(path: str, part: EmailMessage) -> str:
    return "the message" if not path else f"part {path} ({part.get_content_type()})"


def _outline(part: EmailMessage, matching: Matching) -> str:
    bits = [part.get_content_type()]
    if part.is_multipart():
        count = len(_children(part))
        bits.append(f"{count} part" + ("" if count == 1 else "s"))
    charset = part.get_param("charset")
    if isinstance(charset, str):
        bits.append(f"charset={charset.lower()}")
    encoding = part.get("Content-Transfer-Encoding")
    if encoding is not None:
        bits.append(str(encoding).strip().lower())
    disposition = part.get_content_disposition()
    if disposition is not None:
        bits.append(disposition)
    filename = part.get_filename()
    if filename is not None:
        bits.append(f'filename="{filename}"')
    return matching.mask("; ".join(bits))


def _headers(part: EmailMessage, matching: Matching) -> list[tuple[str, str]]:
    return [
        (name, matching.mask(_volatile_masked(name, _header_text(part, name, raw))))
        for name, raw in part.raw_items()
    ]


def _header_text(part: EmailMessage, name: str, raw: str) -> str:
    """The value decoded (RFC 2047) and unfolded; as written (unfolded) if the email package
    finds it malformed, since its reading of a malformed value can drop what differs."""
    try:
        parsed = part.policy.header_fetch_parse(name, raw)
        if not getattr(parsed, "defects", ()):
            return str(parsed)
    except Exception:  # a value the email package chokes on is compared as written
        pass
    return _FOLD.sub(" ", raw).strip()


def _volatile_masked(name: str, value: str) -> str:
    key = name.lower()
    if key in _DATES:
        return "<date>"
    if key in _IDS:
        return "<message-id>"
    value = _BOUNDARY.sub(r'\g<1>"<boundary>"', value)
    if key in _SOFTWARE:
        value = _VERSION.sub("<version>", value)
    return _DATE_TIME.sub("<date>", value)


def _header_difference(
    where: str, expected: EmailMessage, actual: EmailMessage, matching: Matching
) -> MessageDifference | None:
    mine, theirs = _headers(expected, matching), _headers(actual, matching)
    for index in range(max(len(mine), len(theirs))):
        want = mine[index] if index < len(mine) else None
        got = theirs[index] if index < len(theirs) else None
        if want is not None and got is not None and want[0].lower() == got[0].lower():
            if want[1] != got[1]:
                return _difference(where, f"header {want[0]}", want[1], got[1])
            continue
        names_left = {name.lower() for name, _ in mine[index:]}
        if got is not None and (want is None or got[0].lower() not in names_left):
            return _difference(where, f"header {got[0]}", None, got[1])
        if want is not None:
            if got is None or want[0].lower() not in {name.lower() for name, _ in theirs[index:]}:
                return _difference(where, f"header {want[0]}", want[1], None)
            order = ("header order", f"{want[0]} next", f"{got[0]} next")
            return _difference(where, *order)
    return None


def _content_difference(
    where: str, expected: EmailMessage, actual: EmailMessage, matching: Matching
) -> MessageDifference | None:
    if expected.is_multipart():
        for what in ("preamble", "epilogue"):
            recorded = matching.mask(getattr(expected, what) or "")
            sent = matching.mask(getattr(actual, what) or "")
            if recorded != sent:
                return _difference(where, f"the {what}", recorded, sent)
        return None
    want_bytes, got_bytes = _decoded(expected), _decoded(actual)
    if expected.get_content_maintype() != "text":
        return _binary_difference(where, want_bytes, got_bytes)
    mine, mine_ends = _text_lines(expected, want_bytes)
    theirs, theirs_ends = _text_lines(actual, got_bytes)
    for index in range(max(len(mine), len(theirs))):
        want = matching.mask(mine[index]) if index < len(mine) else None
        got = matching.mask(theirs[index]) if index < len(theirs) else None
        if want != got:
            return _difference(where, f"line {index + 1} of the decoded body", want, got)
    if mine_ends != theirs_ends:
        endings = ("a line break" if ends else "no line break" for ends in (mine_ends, theirs_ends))
        return _difference(where, "the end of the decoded body", *endings)
    return None


def _decoded(part: EmailMessage) -> bytes:
    """The content with its transfer encoding undone (RFC 2045 §6)."""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _text_lines(part: EmailMessage, content: bytes) -> tuple[list[str], bool]:
    """The decoded text's lines, and whether the last one ends with a line break."""
    charset = part.get_content_charset() or "us-ascii"
    try:
        text = content.decode(charset, "replace")
    except LookupError:  # a charset Python does not know: compare what UTF-8 makes of it
        text = content.decode("utf-8", "replace")
    lines = _LINE_BREAK.split(text)
    ends_with_break = len(lines) > 1 and lines[-1] == ""
    return (lines[:-1] if ends_with_break else lines), ends_with_break


def _binary_difference(where: str, expected: bytes, actual: bytes) -> MessageDifference | None:
    if expected == actual:
        return None
    offset = next(
        (i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
        min(len(expected), len(actual)),
    )
    return _difference(
        where,
        "the decoded content",
        _digest(expected),
        _digest(actual),
        f"first difference at byte {offset}",
    )


def _digest(content: bytes) -> str:
    return f"{len(content)} bytes, sha256 {hashlib.sha256(content).hexdigest()[:16]}"
