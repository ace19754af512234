"""Transcripts: the ``C:`` / ``S:`` text format of an SMTP conversation, and the vocabulary both
sides of smtprig share to record, redact, normalise and compare conversations, and the messages
in them (as structure, at the level a ``Matching`` names: :mod:`client.transcript.matching`).

The format is specified in :mod:`client.transcript.text`'s docstring. ``fakeserver`` records and
replays with these names; this package needs only the standard library.
"""

from __future__ import annotations

from client.transcript.compare import (
    Mismatch,
    ReplayResult,
    TranscriptMismatch,
    assert_match,
    compare,
)
from client.transcript.filters import drop_headers, filter_messages
from client.transcript.matching import Matching, MatchLevel
from client.transcript.message import MessageDifference, compare_messages
from client.transcript.model import Comment, Direction, Entry, Event, Line, Transcript
from client.transcript.normalise import NORMALISERS, Normaliser, Placeholder, normalise
from client.transcript.recorder import Recorder
from client.transcript.redaction import REDACTED, SecretRedactor
from client.transcript.text import (
    FORMAT_VERSION,
    VERSION_HEADER,
    TranscriptFormatError,
    dump,
    format_line,
    load,
    read,
    redact,
    write,
)

__all__ = [
    "FORMAT_VERSION",
    "NORMALISERS",
    "REDACTED",
    "VERSION_HEADER",
    "Comment",
    "Direction",
    "Entry",
    "Event",
    "Line",
    "MatchLevel",
    "Matching",
    "MessageDifference",
    "Mismatch",
    "Normaliser",
    "Placeholder",
    "Recorder",
    "ReplayResult",
    "SecretRedactor",
    "Transcript",
    "TranscriptFormatError",
    "TranscriptMismatch",
    "assert_match",
    "compare",
    "compare_messages",
    "drop_headers",
    "dump",
    "filter_messages",
    "format_line",
    "load",
    "normalise",
    "read",
    "redact",
    "write",
]
