"""Compare a whole conversation with its transcript and report the first difference.

``compare`` walks the expected and the actual lines with
``client.transcript.normalise.check_line`` and the multi-line placeholders (``MESSAGE``,
``NO_REPLY``, ``UNPRINTED_REPLY``), and returns the first ``Mismatch``, or None; ``assert_match``
raises it as a ``TranscriptMismatch``, an ``AssertionError``. A mismatch names the failed matcher
(those of ``check_line``, or ``end`` when one side ended first), shows both lines as a transcript
writes them, the compared texts after normalising, and the first differing column. AUTH secrets in
the lines it shows are redacted as ``client.transcript.write`` would, so a failing test never
prints one. ``ReplayResult`` is how one replayed connection went, on either side: what was said,
and its first mismatch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from client.transcript.model import Direction, Line, Transcript
from client.transcript.normalise import (
    NORMALISERS,
    LineFailure,
    Normaliser,
    Placeholder,
    check_line,
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
            ``line-ending`` or ``end``.
        reason: one sentence saying what was expected.
        normalisers: the names of the normalisers that changed either line.
        expected_text: the expected text after normalising, when it was compared.
        actual_text: the actual text after normalising, when it was compared.
        file_line: the expected line's 1-based line number in the transcript text, if known.

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

    def __str__(self) -> str:
        where = f"expected line {self.expected_index + 1}"
        if self.file_line is not None:
            where += f" (transcript line {self.file_line})"
        rows = [
            f"transcript mismatch at {where}, actual line {self.actual_index + 1}: "
            f"matcher {self.matcher!r} failed: {self.reason}",
            f"  expected: {_shown(self.expected)}",
            f"  actual:   {_shown(self.actual)}",
        ]
        if self.expected_text is not None and self.actual_text is not None:
            texts = [_printable(self.expected_text), _printable(self.actual_text)]
            after = f" after normalising {', '.join(self.normalisers)}" if self.normalisers else ""
            rows += [f"  compared{after}:", f"  expected: {texts[0]}", f"  actual:   {texts[1]}"]
            if texts[0] != texts[1]:
                column = next(
                    (i for i, (e, a) in enumerate(zip(*texts, strict=False)) if e != a),
                    min(map(len, texts)),
                )
                rows.append(" " * (12 + column) + f"^ first difference, column {column + 1}")
        return "\n".join(rows)


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


def _in_data_after(line: Line, in_data: bool) -> bool:
    """Whether the lines after ``line`` are message data (RFC 5321 §4.1.1.4, RFC 3030)."""
    text, _ = split_line(line.data)
    if line.direction is Direction.SERVER:
        # A "<354 not printed>" placeholder stands for a 354 too.
        return text.startswith(("354", "<354"))
    if text == ".":
        return False
    return in_data or text[:5].upper() == "BDAT "


def _numbered(
    source: Transcript | Sequence[Line], direction: Direction | None
) -> list[tuple[int | None, Line, Line]]:
    """``(transcript line number, line, line as it may be shown)``, of one direction or both."""
    if isinstance(source, Transcript):
        first = 1 + sum(1 + value.count("\n") for _, value in source.headers)
        numbers: list[int | None] = [
            first + i for i, entry in enumerate(source.entries) if isinstance(entry, Line)
        ]
        lines = source.lines
    else:
        numbers = [None for _ in source]
        lines = tuple(source)
    # Redact before filtering: a SASL response is known by the 334 challenge before it.
    shown = redact(Transcript((), lines)).lines
    return [
        (number, line, safe)
        for number, line, safe in zip(numbers, lines, shown, strict=True)
        if direction is None or line.direction is direction
    ]


def compare(
    expected: Transcript | Sequence[Line],
    actual: Transcript | Sequence[Line],
    *,
    normalisers: Mapping[str, Normaliser] = NORMALISERS,
    direction: Direction | None = None,
) -> Mismatch | None:
    """Find the first line where a conversation differs from its transcript.

    Args:
        expected: the transcript (or its lines), placeholders allowed.
        actual: what was said this time.
        normalisers: applied to both sides before comparing texts.
        direction: compare only the client's or only the server's lines, e.g. when the
            recording was pipelined and this run was not.

    Returns:
        None if they match, else the first ``Mismatch``.
    """
    wanted = _numbered(expected, direction)
    got = _numbered(actual, direction)
    got_lines = [line for _, line, _ in got]
    j = 0
    in_data = False
    for i, (_, expected_line, _) in enumerate(wanted):
        following = wanted[i + 1][1] if i + 1 < len(wanted) else None
        step = _advance(expected_line, following, got_lines, j, normalisers, in_data=in_data)
        if isinstance(step, LineFailure):
            return _mismatch(wanted, got, i, j, step, normalisers)
        j = step
        in_data = _in_data_after(expected_line, in_data)
    if j < len(got):
        failure = LineFailure("end", "the conversation went on after the transcript ended")
        return _mismatch(wanted, got, len(wanted), j, failure, normalisers)
    return None


def _advance(
    expected: Line,
    following: Line | None,
    lines: Sequence[Line],
    start: int,
    normalisers: Mapping[str, Normaliser],
    *,
    in_data: bool,
) -> int | LineFailure:
    """Index of the first actual line after those ``expected`` matched from ``start``, or why
    none match."""
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


def _mismatch(
    wanted: Sequence[tuple[int | None, Line, Line]],
    got: Sequence[tuple[int | None, Line, Line]],
    i: int,
    j: int,
    failure: LineFailure,
    normalisers: Mapping[str, Normaliser],
) -> Mismatch:
    number, expected = (wanted[i][0], wanted[i][2]) if i < len(wanted) else (None, None)
    actual = got[j][2] if j < len(got) else None
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
) -> None:
    """Like ``compare``, but raise the mismatch.

    Raises:
        TranscriptMismatch: the conversation differs from the transcript.
    """
    found = compare(expected, actual, normalisers=normalisers, direction=direction)
    if found is not None:
        raise TranscriptMismatch(found)
