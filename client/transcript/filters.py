"""Edit the messages a transcript holds before it is written: VCR.py's ``before_record`` for SMTP.

``filter_messages(transcript, edit)`` parses each message in the transcript (the client lines
from a ``354`` reply to the final ``.``), lets ``edit`` change it in place (an
``email.message.EmailMessage``: ``del message["X-Customer-Id"]``, a text part's content
replaced), and puts the edited message back as lines, dot-stuffed again (RFC 5321 §4.5.2) and
ended with CRLF as SMTP requires. A message that ``edit`` leaves as it was keeps its lines byte
for byte; so does a message the transcript holds only as a placeholder (``<message ...>``), and
one the client did not finish. Everything outside messages is left alone.

``drop_headers(*names)`` makes the commonest edit, like VCR.py's ``filter_headers``: it removes
header fields from the message and from every part.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage

from client.transcript.matching import MessageFilter
from client.transcript.message import message_bytes, parse_message
from client.transcript.model import Direction, Entry, Line, Transcript
from client.transcript.normalise import Placeholder, placeholder

__all__ = ["drop_headers", "filter_messages"]

_LINE = re.compile(rb"[^\n]*\n|[^\n]+\Z")
_END_OF_DATA = (b".\r\n", b".\n")


def filter_messages(transcript: Transcript, edit: MessageFilter) -> Transcript:
    """Return ``transcript`` with ``edit`` applied to each message it holds.

    Args:
        transcript: a recorded conversation.
        edit: changes one message in place.

    Returns:
        The transcript with the edited messages; the same object if nothing changed.
    """
    entries = transcript.entries
    kept: list[Entry] = []
    previous: Line | None = None
    index = 0
    while index < len(entries):
        entry = entries[index]
        end = _message_end(entries, index) if _opens_message(previous, entry) else None
        if end is None:
            kept.append(entry)
            previous = entry if isinstance(entry, Line) else previous
            index += 1
            continue
        lines = [line for line in entries[index:end] if isinstance(line, Line)]
        kept += _edited(lines, edit)
        previous = lines[-1]
        index = end
    if tuple(kept) == entries:
        return transcript
    return Transcript(transcript.headers, tuple(kept))


def drop_headers(*names: str) -> MessageFilter:
    """A filter that removes the header fields called ``names`` (any case) everywhere.

    Args:
        names: header field names, e.g. ``"X-Customer-Id"``.

    Returns:
        An edit for ``filter_messages`` or ``Matching(before_record=...)``.
    """

    def drop(message: EmailMessage) -> None:
        for part in message.walk():
            for name in names:
                del part[name]

    return drop


def _opens_message(previous: Line | None, entry: Entry) -> bool:
    """Whether ``entry`` is the first client line after a 354 (RFC 5321 §4.1.1.4)."""
    return (
        isinstance(entry, Line)
        and entry.direction is Direction.CLIENT
        and previous is not None
        and previous.direction is Direction.SERVER
        and previous.data[:4] in (b"354 ", b"354\r", b"354\n")
    )


def _message_end(entries: Sequence[Entry], start: int) -> int | None:
    """The index after the final ``.`` of the message that starts at ``start``, or None if it
    is not a whole message of client lines and nothing else."""
    for index in range(start, len(entries)):
        entry = entries[index]
        if not isinstance(entry, Line) or entry.direction is not Direction.CLIENT:
            return None
        if placeholder(entry, in_data=True) is Placeholder.MESSAGE:
            return None
        if entry.data in _END_OF_DATA:
            return index + 1
    return None


def _edited(lines: list[Line], edit: MessageFilter) -> list[Line]:
    message = parse_message(message_bytes([line.data for line in lines[:-1]]))
    before = message.as_bytes(policy=policy.SMTP)
    edit(message)
    after = message.as_bytes(policy=policy.SMTP)
    if after == before:
        return lines
    if not after.endswith(b"\r\n"):
        after += b"\r\n"  # RFC 5321 §4.1.1.4: the data ends with CRLF before the final dot
    rows = [b"." + row if row.startswith(b".") else row for row in _LINE.findall(after)]
    first = Line(Direction.CLIENT, rows[0], lines[0].elapsed_s)
    return [first, *(Line(Direction.CLIENT, row) for row in rows[1:]), lines[-1]]
