"""What a captured message is made of: ordered headers, text and HTML bodies, numbered parts.

Parts are numbered in ``EmailMessage.walk()`` order, 0 being the message itself, so
``/parts/{n}`` is stable for one message. Nothing here raises on a malformed message: a body
that cannot be decoded is shown with replacement characters, and a header that cannot be
parsed is shown as received.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage, Message

__all__ = ["Part", "body", "headers", "part", "parts"]


@dataclass(frozen=True, slots=True)
class Part:
    """One MIME part.

    Attributes:
        number: its place in ``walk()`` order (0: the message itself).
        content_type: e.g. ``text/plain``.
        filename: the attachment's file name, if it has one.
        disposition: ``attachment``, ``inline`` or None.
        size: octets of its decoded content (0 for a multipart container).
    """

    number: int
    content_type: str
    filename: str | None
    disposition: str | None
    size: int


def headers(message: EmailMessage) -> list[tuple[str, str]]:
    """Every header in order, values decoded (RFC 2047) where they can be."""
    result = []
    for name, raw in message.raw_items():
        try:
            value = str(message.policy.header_fetch_parse(name, raw))
        except Exception:  # shown as received rather than lost
            value = str(raw)
        result.append((name, value))
    return result


def body(message: EmailMessage, subtype: str) -> str | None:
    """The ``text/<subtype>`` body (``plain`` or ``html``) a mail reader would show, or None."""
    try:
        found = message.get_body(preferencelist=(subtype,))
    except Exception:
        return None
    if found is None or found.get_content_subtype() != subtype:
        return None
    return _text(found)


def parts(message: EmailMessage) -> list[Part]:
    """Every part, in ``walk()`` order."""
    return [_describe(number, item) for number, item in enumerate(message.walk())]


def part(message: EmailMessage, number: int) -> tuple[Part, bytes] | None:
    """Part ``number`` and its decoded content (a container: its source), or None."""
    for index, item in enumerate(message.walk()):
        if index == number:
            return _describe(number, item), _content(item)
    return None


def _describe(number: int, item: Message) -> Part:
    try:
        filename = item.get_filename()
    except Exception:
        filename = None
    return Part(
        number,
        item.get_content_type(),
        filename,
        item.get_content_disposition(),
        0 if item.is_multipart() else len(_content(item)),
    )


def _content(item: Message) -> bytes:
    if item.is_multipart():
        return item.as_bytes()
    payload = item.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _text(item: Message) -> str:
    charset = item.get_content_charset() or "utf-8"
    data = _content(item)
    try:
        return data.decode(charset, "replace")
    except LookupError:  # a charset Python does not know
        return data.decode("utf-8", "replace")
