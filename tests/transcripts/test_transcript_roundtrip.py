"""load(dump(t)) == t for any transcript, and dump is canonical: property tests."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from client.transcript import Comment, Direction, Entry, Event, Line, Transcript, dump, load

# str.isprintable: letters, marks, numbers, punctuation, symbols, and the ASCII space.
printable = st.text(st.characters(categories=["L", "M", "N", "P", "S"]) | st.just(" "))
elapsed = st.none() | st.floats(allow_nan=False, allow_infinity=False)
directions = st.sampled_from(Direction)
terminators = st.sampled_from([b"\r\n", b"\n", b"\r", b""])

wire_bytes = st.one_of(
    st.binary(),
    st.builds(lambda text, end: text.encode() + end, printable, terminators),
    st.builds(lambda text, end: text.encode() + end, st.text(), terminators),
)
lines = st.builds(Line, directions, wire_bytes, elapsed)
events = st.builds(
    Event, st.from_regex(r"[a-z][a-z0-9_-]*", fullmatch=True), printable, elapsed
) | st.builds(Event, st.just("note"), printable | st.sampled_from(["closed", "TLS handshake x"]))
comments = st.builds(
    Comment, printable.filter(lambda text: re.fullmatch(r"--- .* ---", text) is None)
)
entries = st.lists(st.one_of(lines, events, comments), max_size=12)

header_keys = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]*", fullmatch=True)
continuations = st.builds(lambda pad, text: "  " + pad + text, st.text(" ", max_size=6), printable)
header_values = st.builds(
    lambda first, rest: "\n".join([first, *rest]), printable, st.lists(continuations, max_size=3)
)
headers = st.lists(st.tuples(header_keys, header_values), max_size=4).map(
    lambda pairs: [(key, value) for key, value in pairs if key != "smtprig-transcript"]
)


def reads_as_header(entry: Entry) -> bool:
    """A first comment that ``load`` would take for a header field or its continuation."""
    return isinstance(entry, Comment) and (
        re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*: .*", entry.text) is not None
        or entry.text.startswith(" ")
    )


transcripts = st.builds(
    lambda pairs, body: Transcript(tuple(pairs), tuple(body)),
    headers,
    entries.filter(lambda body: not body or not reads_as_header(body[0])),
)


@given(transcripts)
def test_load_reads_back_what_dump_writes(transcript: Transcript) -> None:
    text = dump(transcript)
    assert load(text) == transcript
    assert dump(load(text)) == text


@given(st.lists(lines, max_size=20))
def test_any_bytes_round_trip_one_wire_line_per_text_line(body: list[Line]) -> None:
    text = dump(Transcript((), tuple(body)))
    assert text.count("\n") == len(body)
    assert load(text).entries == tuple(body)


@given(wire_bytes)
def test_escaped_lines_survive_editors_that_strip_trailing_spaces(data: bytes) -> None:
    line = Line(Direction.CLIENT, data)
    row = dump(Transcript((), (line,)))
    if row.startswith("C~ "):
        assert load(row.rstrip() + "\n").entries == (line,)
