"""Compare a whole conversation with its transcript and report the first difference.

``compare`` walks the expected and the actual lines with ``client.transcript.normalise.advance``
(``check_line``, and the multi-line placeholders ``MESSAGE``, ``NO_REPLY``, ``UNPRINTED_REPLY``),
and returns the first ``Mismatch``, or None; ``assert_match`` raises it as a
``TranscriptMismatch``, an ``AssertionError``. A mismatch names the failed matcher (those of
``check_line``, ``end`` when one side ended first, or ``message``), shows both lines as a
transcript writes them, the compared texts after normalising, and the first differing column.
AUTH secrets in the lines it shows are redacted as ``client.transcript.write`` would, so a
failing test never prints one.

A message (the client lines from a ``354`` reply to the final ``.``) is compared as a whole at the
level ``matching`` asks for (``client.transcript.matching``): at ``structure`` and ``headers`` by
``client.transcript.message.compare_messages``, and a difference is a ``message`` mismatch that
names the part and what differs in it, with both versions. At ``bytes`` it is compared line by
line like the rest; so is a message the transcript holds only as a placeholder (``<message
...>``), one sent with BDAT (RFC 3030), and one that the client did not finish. The masks of
``matching`` apply to every line too, as one more normaliser, ``masks``.

``ReplayResult`` is how one replayed connection went, on either side: what was said, and its first
mismatch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from client.transcript.matching import Matching, MatchLevel
from client.transcript.message import MessageDifference, compare_messages, message_bytes
from client.transcript.model import Direction, Line, Transcript
from client.transcript.normalise import (
    NORMALISERS,
    LineFailure,
    Normaliser,
    Placeholder,
    advance,
    normalise,
    placeholder,
    split_line,
)
from client.transcript.syntax import CRLF, format_wire_text
from client.transcript.text import format_line, redact

__all__ = ["Mismatch", "ReplayResult", "TranscriptMismatch", "assert_match", "compare"]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The first place where a conversation differs from its transcript.

    Attributes:
        expected_index: 0-based index among the expected lines.
        actual_index: 0-based index among the actual lines.
        expected: the expected line, None if the transcript had ended.
        actual: the actual line, None if the conversation had ended.
        matcher: the check that failed: ``direction``, ``text``, ``placeholder``,
            ``line-ending``, ``end`` or ``message``.
        reason: one sentence saying what was expected.
        normalisers: the names of the normalisers that changed either line.
        expected_text: the expected text after normalising, when it was compared.
        actual_text: the actual text after normalising, when it was compared.
        file_line: the expected line's 1-based line number in the transcript text, if known.
        message: for a ``message`` mismatch, what differs in the message; ``expected`` and
            ``actual`` are then the first lines of the two messages, and ``expected_text`` and
            ``actual_text`` the two versions of what differs.

    ``expected`` and ``actual`` have their AUTH secrets redacted, as ``write`` would.
    """

    expected_index: int
    actual_index: int
    expected: Line | None
    actual: Line | None
    matcher: str
    reason: str
    normalisers: tuple[str, ...] = ()
    expected_text: str | None = None
    actual_text: str | None = None
    file_line: int | None = None
    message: MessageDifference | None = None

    def __str__(self) -> str:
        where = f"expected line {self.expected_index + 1}"
        if self.file_line is not None:
            where += f" (transcript line {self.file_line})"
        rows = [
            f"transcript mismatch at {where}, actual line {self.actual_index + 1}: "
            f"matcher {self.matcher!r} failed: {self.reason}"
        ]
        if self.message is not None:
            versions = (self.message.expected, self.message.actual)
            rows += _versions(*(_printable(v) if v is not None else None for v in versions))
            return "\n".join([*rows, *(f"  {detail}" for detail in self.message.details)])
        rows += [f"  expected: {_shown(self.expected)}", f"  actual:   {_shown(self.actual)}"]
        if self.expected_text is not None and self.actual_text is not None:
            after = f" after normalising {', '.join(self.normalisers)}" if self.normalisers else ""
            rows.append(f"  compared{after}:")
            rows += _versions(_printable(self.expected_text), _printable(self.actual_text))
        return "\n".join(rows)


def _versions(expected: str | None, actual: str | None) -> list[str]:
    """Both versions, one under the other, and a caret under their first difference."""
    rows = [
        f"  expected: {'(nothing)' if expected is None else expected}",
        f"  actual:   {'(nothing)' if actual is None else actual}",
    ]
    if expected is not None and actual is not None and expected != actual:
        column = next(
            (i for i, (e, a) in enumerate(zip(expected, actual, strict=False)) if e != a),
            min(len(expected), len(actual)),
        )
        rows.append(" " * (12 + column) + f"^ first difference, column {column + 1}")
    return rows


def _shown(line: Line | None) -> str:
    return "(nothing: it had ended)" if line is None else format_line(line)


def _printable(text: str) -> str:
    """``text`` as a transcript would show it, escaped only if it has to be."""
    marker, shown = format_wire_text(text.encode("utf-8", "surrogateescape") + CRLF)
    return shown if marker == ":" else shown.removesuffix("\\r\\n")


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """How one replayed connection went, whichever side played the transcript.

    ``client.replay.replay`` (the client side against a live server) returns one;
    ``fakeserver``'s replay server (the server side to a live client) makes one per connection.

    Attributes:
        transcript: what was said on the connection this time, AUTH payloads redacted.
        mismatch: the first difference from the transcript, or None if it was followed to its
            end.
        connection: 1-based, in order of arrival at a replay server; 1 for a client's replay.
        peer: the other end's ``(host, port)`` when known (a replay server knows its client).
    """

    transcript: Transcript
    mismatch: Mismatch | None
    connection: int = 1
    peer: tuple[str, int] | None = None

    @property
    def passed(self) -> bool:
        """Whether the conversation followed the transcript to its end."""
        return self.mismatch is None


class TranscriptMismatch(AssertionError):
    """A conversation did not go as its transcript says.

    Attributes:
        mismatch: where and how, as data.
    """

    def __init__(self, mismatch: Mismatch) -> None:
        super().__init__(str(mismatch))
        self.mismatch = mismatch


def _in_data_after(line: Line, in_data: bool) -> bool:
    """Whether the lines after ``line`` are message data (RFC 5321 §4.1.1.4, RFC 3030)."""
    text, _ = split_line(line.data)
    if line.direction is Direction.SERVER:
        # A "<354 not printed>" placeholder stands for a 354 too.
        return text.startswith(("354", "<354"))
    if text == ".":
        return False
    return in_data or text[:5].upper() == "BDAT "


class _Numbered(NamedTuple):
    number: int | None  # in the transcript text, when known
    line: Line
    shown: Line  # as it may be shown: secrets redacted
    opens_message: bool  # the first client line after a 354 reply


def _numbered(source: Transcript | Sequence[Line], direction: Direction | None) -> list[_Numbered]:
    """Every line of one direction or both, numbered, redacted and marked."""
    if isinstance(source, Transcript):
        first = 1 + sum(1 + value.count("\n") for _, value in source.headers)
        numbers: list[int | None] = [
            first + i for i, entry in enumerate(source.entries) if isinstance(entry, Line)
        ]
        lines = source.lines
    else:
        numbers = [None for _ in source]
        lines = tuple(source)
    # Redact before filtering: a SASL response is known by the 334 challenge before it; and a
    # message is known by the 354 before it (RFC 5321 §4.1.1.4), even when only the client's
    # lines are compared.
    shown = redact(Transcript((), lines)).lines
    opens = [
        line.direction is Direction.CLIENT
        and index > 0
        and lines[index - 1].direction is Direction.SERVER
        and lines[index - 1].data[:4] in (b"354 ", b"354\r", b"354\n")
        for index, line in enumerate(lines)
    ]
    return [
        _Numbered(*row)
        for row in zip(numbers, lines, shown, opens, strict=True)
        if direction is None or row[1].direction is direction
    ]


def compare(
    expected: Transcript | Sequence[Line],
    actual: Transcript | Sequence[Line],
    *,
    normalisers: Mapping[str, Normaliser] = NORMALISERS,
    direction: Direction | None = None,
    matching: Matching | None = None,
) -> Mismatch | None:
    """Find the first place where a conversation differs from its transcript.

    Args:
        expected: the transcript (or its lines), placeholders allowed.
        actual: what was said this time.
        normalisers: applied to both sides before comparing texts.
        direction: compare only the client's or only the server's lines, e.g. when the
            recording was pipelined and this run was not.
        matching: how messages are compared, and the user's masks; by default ``Matching()``:
            messages as structure, no masks.

    Returns:
        None if they match, else the first ``Mismatch``.
    """
    matching = matching or Matching()
    if matching.masks:
        normalisers = {**normalisers, "masks": lambda _, text: matching.mask(text)}
    wanted = _numbered(expected, direction)
    got = _numbered(actual, direction)
    got_lines = [row.line for row in got]
    i = j = 0
    in_data = False
    while i < len(wanted):
        if wanted[i].opens_message and matching.level is not MatchLevel.BYTES:
            ends = _message_ends(wanted, got, i, j)
            if ends is not None:
                difference = compare_messages(
                    message_bytes([row.line.data for row in wanted[i : ends[0] - 1]]),
                    message_bytes([row.line.data for row in got[j : ends[1] - 1]]),
                    matching,
                )
                if difference is not None:
                    return _message_mismatch(wanted[i], got[j], i, j, difference)
                (i, j), in_data = ends, False
                continue
        expected_line = wanted[i].line
        following = wanted[i + 1].line if i + 1 < len(wanted) else None
        step = advance(expected_line, following, got_lines, j, normalisers, in_data=in_data)
        if isinstance(step, LineFailure):
            return _mismatch(wanted, got, i, j, step, normalisers)
        j = step
        in_data = _in_data_after(expected_line, in_data)
        i += 1
    if j < len(got):
        failure = LineFailure("end", "the conversation went on after the transcript ended")
        return _mismatch(wanted, got, len(wanted), j, failure, normalisers)
    return None


def _message_ends(
    wanted: Sequence[_Numbered], got: Sequence[_Numbered], i: int, j: int
) -> tuple[int, int] | None:
    """Where the messages that start at ``wanted[i]`` and ``got[j]`` end (after their final
    ``.``), or None if either is not a whole message: one side ended or the server spoke first,
    or the transcript stands in for it with a placeholder."""
    ends = []
    for rows, start, expected in ((wanted, i, True), (got, j, False)):
        end = None
        for index in range(start, len(rows)):
            line = rows[index].line
            if line.direction is not Direction.CLIENT:
                return None
            stand_in = expected and line.data[:1] == b"<"  # every placeholder starts so
            if stand_in and placeholder(line, in_data=True) is Placeholder.MESSAGE:
                return None
            if line.data in (b".\r\n", b".\n"):
                end = index + 1
                break
        if end is None:
            return None
        ends.append(end)
    return ends[0], ends[1]


def _message_mismatch(
    expected: _Numbered, actual: _Numbered, i: int, j: int, difference: MessageDifference
) -> Mismatch:
    return Mismatch(
        expected_index=i,
        actual_index=j,
        expected=expected.shown,
        actual=actual.shown,
        matcher="message",
        reason=difference.summary,
        expected_text=difference.expected,
        actual_text=difference.actual,
        file_line=expected.number,
        message=difference,
    )


def _mismatch(
    wanted: Sequence[_Numbered],
    got: Sequence[_Numbered],
    i: int,
    j: int,
    failure: LineFailure,
    normalisers: Mapping[str, Normaliser],
) -> Mismatch:
    number, expected = (wanted[i].number, wanted[i].shown) if i < len(wanted) else (None, None)
    actual = got[j].shown if j < len(got) else None
    texts: tuple[str | None, str | None] = (None, None)
    if failure.expected_text is not None and expected is not None and actual is not None:
        # From the redacted lines: a SASL response has no normaliser to hide it.
        texts = (normalise(expected, normalisers), normalise(actual, normalisers))
    return Mismatch(
        expected_index=i,
        actual_index=j,
        expected=expected,
        actual=actual,
        matcher=failure.matcher,
        reason=failure.reason,
        normalisers=failure.normalisers,
        expected_text=texts[0],
        actual_text=texts[1],
        file_line=number,
    )


def assert_match(
    expected: Transcript | Sequence[Line],
    actual: Transcript | Sequence[Line],
    *,
    normalisers: Mapping[str, Normaliser] = NORMALISERS,
    direction: Direction | None = None,
    matching: Matching | None = None,
) -> None:
    """Like ``compare``, but raise the mismatch.

    Raises:
        TranscriptMismatch: the conversation differs from the transcript.
    """
    found = compare(
        expected, actual, normalisers=normalisers, direction=direction, matching=matching
    )
    if found is not None:
        raise TranscriptMismatch(found)
