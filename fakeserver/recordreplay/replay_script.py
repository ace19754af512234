"""What the replay server says next, decided without a socket.

The replay server keeps the conversation so far as a list of lines: every client line it read,
and, for every server line it sent, the transcript's line (or what stood in for a placeholder).
:meth:`ReplayScript.step` compares that list with the transcript using
:func:`client.transcript.compare.compare`, so replay matches lines exactly as ``assert_match`` does
(normalisers, ``<redacted>`` and ``<message ...>`` placeholders, the first difference). A
comparison that runs out of actual lines says where the transcript has got to:

- at a server line: the server's turn; :class:`Send` the run of server lines from there
  (``<nothing>`` stands for no line; ``<250 not printed>`` for a one-line reply with that code);
- at a client line, or right after a ``354``: :class:`Await` the client's next line;
- past the end: :class:`Done`.

A comparison that fails on a line the client sent is :class:`Failed`, with the ``Mismatch``.

Messages are compared at the level of the script's ``Matching`` (``client.transcript.matching``).
At ``structure`` and ``headers`` that parses them, which can take a while for a large message:
:meth:`ReplayScript.parses` says when a step will, so that the replay server runs that step off
its event loop.

:class:`FreshValues` renders a transcript's server line for this connection: Gmail's session id,
the end-of-data timestamp and the client address in ``at your service, [ip]`` are replaced by a
new session id (one per connection), the time now and the client's real address. It finds them
with the same normalisers that ignore them when comparing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from client.transcript import Direction, Line, Transcript
from client.transcript.compare import Mismatch, compare
from client.transcript.matching import Matching, MatchLevel
from client.transcript.normalise import (
    NORMALISERS,
    Normaliser,
    Placeholder,
    client_ip,
    placeholder,
    session_id,
    split_line,
    timestamp,
)
from fakeserver.recordreplay.linestream import reply_code

__all__ = [
    "Await",
    "Done",
    "Failed",
    "FreshValues",
    "ReplayScript",
    "Send",
    "Step",
]

S = Direction.SERVER

# How far past the conversation's length the transcript is compared: room for <nothing>
# stand-ins, which match no line.
_MARGIN = 32


@dataclass(frozen=True, slots=True)
class Send:
    """The server's turn: send these lines (as the transcript has them; render each with
    :class:`FreshValues`), then step again."""

    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Await:
    """The client's turn: read its next line, then step again."""


@dataclass(frozen=True, slots=True)
class Done:
    """The conversation followed the transcript to its end."""


@dataclass(frozen=True, slots=True)
class Failed:
    """The client said something the transcript does not."""

    mismatch: Mismatch


Step = Send | Await | Done | Failed


class ReplayScript:
    """One transcript, being replayed on one connection from the server's side.

    Comparing the whole conversation at every step would cost time in the square of its
    length (a 10 MB message is 130 000 lines), so each step compares from the last point
    where everything before was matched and nothing before still matters: the start of a
    server reply, or the client's turn after a reply that was neither a 334 challenge nor a
    354. Neither message data nor a challenge (whose answer must stay redacted in what a
    mismatch shows) runs across such a point.

    Args:
        transcript: what the conversation must look like.
        normalisers: as for ``client.transcript.compare.compare``.
        matching: how messages are compared, and the masks; ``Matching()`` by default.
    """

    def __init__(
        self,
        transcript: Transcript,
        normalisers: Mapping[str, Normaliser] = NORMALISERS,
        matching: Matching | None = None,
    ) -> None:
        self.transcript = transcript
        self.normalisers = normalisers
        self.matching = matching or Matching()
        # For failures that are not about a line: where the conversation got to, found
        # without parsing any message.
        self._unparsed = self.matching
        if self.matching.level.parses:
            self._unparsed = Matching(MatchLevel.ENVELOPE, masks=self.matching.masks)
        self._lines = transcript.lines
        # Where each line is among the entries; the end as one more.
        self._entry_of = [
            index for index, entry in enumerate(transcript.entries) if isinstance(entry, Line)
        ] + [len(transcript.entries)]
        self._start = (0, 0)  # (expected line, actual line): compare from here

    @property
    def greeting_missing(self) -> bool:
        """Whether the transcript starts with a client line: its greeting was not recorded (as
        in capture 02), and a client would wait for one forever."""
        return bool(self._lines) and self._lines[0].direction is Direction.CLIENT

    def parses(self, actual: Sequence[Line]) -> bool:
        """Whether ``step(actual)`` may parse a message: the level parses messages, and the
        client has ended one (a ``.`` line, RFC 5321 §4.1.1.4) since the last step's start."""
        if not self.matching.level.parses:
            return False
        return any(
            line.direction is Direction.CLIENT and line.data in (b".\r\n", b".\n")
            for line in actual[self._start[1] :]
        )

    def step(self, actual: Sequence[Line]) -> Step:
        """What to do after ``actual``, the conversation so far on this connection."""
        found = self._compare(actual, self.matching)
        if found is None:
            return Done()
        if found.actual is not None:
            return Failed(found)
        index = found.expected_index
        if self._lines[index].direction is Direction.CLIENT or _go_ahead(actual[-1:]):
            # After a 354 the message is due (RFC 5321 §4.1.1.4), even where the transcript
            # has only a <message ...> stand-in, which would match no line at all.
            if index > 0 and _plain_reply_end(self._lines[index - 1]):
                self._start = (index, len(actual))
            return Await()
        # A server line starts afresh: no message data or challenge runs across it.
        self._start = (index, len(actual))
        lines: list[Line] = []
        for line in self._lines[index:]:
            if line.direction is not S:
                break
            kind = placeholder(line)
            if kind is Placeholder.UNPRINTED_REPLY:
                code = split_line(line.data)[0][1:4]
                text = f"{code} smtprig replay: the transcript did not record this reply\r\n"
                lines.append(Line(S, text.encode()))
            elif kind is not Placeholder.NO_REPLY:
                lines.append(line)
        return Send(tuple(lines))

    def mismatch(self, actual: Sequence[Line], matcher: str, reason: str) -> Mismatch:
        """A mismatch at the point ``actual`` has reached, for a failure that is not about a
        line (a timeout, a failed TLS handshake)."""
        found = self._compare(actual, self._unparsed)
        if found is None:
            return Mismatch(len(self._lines), len(actual), None, None, matcher, reason)
        return dataclasses.replace(
            found, matcher=matcher, reason=reason, expected_text=None, actual_text=None
        )

    def _compare(self, actual: Sequence[Line], matching: Matching) -> Mismatch | None:
        """``compare`` from ``_start`` on, with indexes and line numbers for the whole.

        The transcript is cut a little past where the conversation can have got to, since
        compare prepares every line it is given; a result that touches the cut, or a failure
        (a message longer than the conversation may cross the cut), is redone uncut (the last
        line given has no successor for a ``<message>`` to stop at).
        """
        expected_start, actual_start = self._start
        rest = actual[actual_start:]
        end = min(expected_start + len(rest) + _MARGIN, len(self._lines))
        found = self._compare_part(expected_start, end, rest, matching)
        redo = found is None or found.actual is not None or found.expected_index >= end - 1
        if end < len(self._lines) and redo:
            found = self._compare_part(expected_start, len(self._lines), rest, matching)
        if found is None:
            return None
        return dataclasses.replace(found, actual_index=found.actual_index + actual_start)

    def _compare_part(
        self, start: int, end: int, actual: Sequence[Line], matching: Matching
    ) -> Mismatch | None:
        skipped = self._entry_of[start]
        part = Transcript(
            self.transcript.headers, self.transcript.entries[skipped : self._entry_of[end]]
        )
        found = compare(part, actual, normalisers=self.normalisers, matching=matching)
        if found is None:
            return None
        return dataclasses.replace(
            found,
            expected_index=found.expected_index + start,
            file_line=None if found.file_line is None else found.file_line + skipped,
        )


def _plain_reply_end(line: Line) -> bool:
    """Whether ``line`` ends a server reply after which the client's next line is a command."""
    code = reply_code(line.data) if line.direction is S else None
    return code is not None and code[1] and code[0] not in (b"334", b"354")


def _go_ahead(last: Sequence[Line]) -> bool:
    return bool(last) and last[0].direction is S and reply_code(last[0].data) == (b"354", True)


# Each normaliser leaves its token where it took a value out (client.transcript.normalise).
_FRESH: tuple[tuple[str, Normaliser, str], ...] = (
    ("session_id", session_id, "<session-id>"),
    ("timestamp", timestamp, "<timestamp>"),
    ("client_ip", client_ip, "<client-ip>"),
)


class FreshValues:
    """This connection's values for the parts of server lines that differ between runs.

    Args:
        session_id: the connection's session id.
        client_ip: the client's address as the server shows it (no brackets).
        clock: Unix time in seconds, read at every end-of-data reply.
    """

    def __init__(self, session_id: str, client_ip: str, clock: Callable[[], float]) -> None:
        self.session_id = session_id
        self.client_ip = client_ip
        self._clock = clock

    def render(self, line: Line) -> bytes:
        """The bytes to send for the transcript's server line ``line``."""
        text, ending = split_line(line.data)
        values = {
            "session_id": self.session_id,
            "timestamp": str(int(self._clock())),
            "client_ip": self.client_ip,
        }
        for name, normaliser, token in _FRESH:
            text = normaliser(S, text).replace(token, values[name])
        return text.encode("utf-8", "surrogateescape") + ending
