"""Fuzz targets for the reply side: the client's reply parser, and the persona's replies.

``replies``: any bytes, cut anywhere, fed to ``client.ReplyReader``. The reader either returns
replies or raises ``RemoteProtocolError`` (nothing else); it returns the same replies however
the bytes are cut; the replies' wire bytes plus what is pending are exactly what was fed (it
never invents or drops a byte); and it never holds more than its limits allow.

``persona``: every persona reply rendered with any field values parses back as exactly one
reply with the template's code and status, in well-formed lines a client can read.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from client import RemoteProtocolError, Reply
from client.protocol import ReplyReader
from client.protocol.wire import REPLY_LINE_LIMIT_OCTETS, REPLY_LINES_LIMIT
from fakeserver.personas.loader import load_persona, shipped_personas
from fakeserver.personas.model import Persona, Situation
from fuzz.engine import Target, pure

__all__ = ["PERSONA", "REPLIES"]

_CODES = [b"220", b"250", b"334", b"354", b"421", b"535", b"199", b"600", b"25", b"2x5", b""]
_LINE = st.builds(
    lambda code, mark, text, end: code + mark + text + end,
    st.sampled_from(_CODES),
    st.sampled_from([b" ", b"-", b"", b"\t", b"--"]),
    st.one_of(st.binary(max_size=80), st.sampled_from([b"x" * 9000, b"2.0.0 OK", b"\xff\xfe"])),
    st.sampled_from([b"\r\n", b"\n", b"\r", b"", b"\r\r\n"]),
)
STREAMS = st.tuples(
    st.one_of(st.binary(max_size=400), st.lists(_LINE, max_size=24).map(b"".join)),
    st.lists(st.integers(min_value=0, max_value=20_000), max_size=12),
)


def _drain(reader: ReplyReader, replies: list[Reply]) -> None:
    while (reply := reader.next_reply()) is not None:
        replies.append(reply)


def _parse(pieces: list[bytes]) -> tuple[list[Reply], bool, bytes]:
    """Replies, whether the reader refused the stream, and what it still holds."""
    reader, replies = ReplyReader(), list[Reply]()
    try:
        for piece in pieces:
            reader.feed(piece)
            _drain(reader, replies)
            held = len(reader.pending())
            assert held <= (REPLY_LINES_LIMIT + 1) * REPLY_LINE_LIMIT_OCTETS, held
    except RemoteProtocolError:
        return replies, True, b""
    return replies, False, reader.pending()


def check_replies(value: tuple[bytes, list[int]]) -> None:
    stream, cuts = value
    bounds = sorted({cut % (len(stream) + 1) for cut in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *bounds], [*bounds, len(stream)], strict=True)]
    whole = _parse([stream])
    split = _parse(pieces)
    assert split == whole, f"cut at {bounds}: {split!r} != {whole!r}"
    replies, refused, pending = whole
    for reply in replies:
        assert 200 <= reply.code <= 559, reply
        assert reply.lines, reply
        assert len(reply.lines) == len(reply.wire), reply
        # The derived facts never fail on what the parser accepted.
        _ = (reply.kind, reply.enhanced_status, reply.message, str(reply), reply.is_transient)
    if not refused:
        assert b"".join(b"".join(reply.wire) for reply in replies) + pending == stream


REPLIES = Target(
    "replies",
    "client ReplyReader: any bytes, any cuts; same replies, typed errors, no byte lost, bounded",
    STREAMS,
    pure(check_replies),
    inputs=10_000,
)

_PERSONAS = [load_persona(name) for name in shipped_personas()]
_TEXT = st.one_of(
    st.text(max_size=120),
    st.binary(max_size=120).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    st.sampled_from(["{session_id}", "%s", "\r", "a\rb", "x" * 1100, "a b" + "é" * 490, "<>", ""]),
)
FIELDS = st.fixed_dictionaries(
    {
        "session_id": st.just("d9443c01a7336-22fc75468e4sm22683125ad.44"),
        "client_ip": st.sampled_from(["127.0.0.1", "::1", "2001:db8::1"]),
        "timestamp": st.integers(0, 2**40),
        "address": _TEXT,
        "argument": _TEXT,
    }
)


def check_persona(value: tuple[Persona, Situation, dict[str, Any]]) -> None:
    persona, situation, fields = value
    template = persona.template(situation)  # its own, its fallback, or the stand-in
    wire = persona.render(situation, fields)
    lines = [line + b"\n" for line in wire.split(b"\n")[:-1]]
    assert not any(b"\r" in line[:-2] for line in lines), f"a bare CR in {wire!r}"
    reader = ReplyReader()
    reader.feed(wire)
    reply = reader.next_reply()
    assert reply is not None, wire
    assert reader.pending() == b"", wire
    assert reply.code == template.code, (reply, template)
    for line in lines:
        assert line.endswith(b"\r\n"), line
        assert len(line) <= 512, f"over RFC 5321's 512 octets (§4.5.3.1.5): {line[:80]!r}..."
        if template.status:
            assert line[4:].startswith(template.status.encode() + b" "), line


PERSONA = Target(
    "persona",
    "every persona reply, any field values: one well-formed reply, the template's code",
    st.tuples(st.sampled_from(_PERSONAS), st.sampled_from(list(Situation)), FIELDS),
    pure(check_persona),
    inputs=5_000,
)
