"""Reply parsing, framing and message encoding: bytes in, values out, no sockets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client import Capabilities, EnhancedStatus, RemoteProtocolError, Reply, ReplyKind
from client.errors import LocalProtocolError
from client.protocol import ReplyReader
from client.protocol.wire import (
    MAX_TEXT_LINE_OCTETS,
    REPLY_LINE_LIMIT_OCTETS,
    REPLY_LINES_LIMIT,
    dot_stuff,
    encode_command_line,
    encode_message_data,
    normalize_line_endings,
    split_wire_lines,
)


def parse_all(*chunks: bytes) -> list[Reply]:
    """Feed chunks one by one and collect every reply that completes."""
    reader = ReplyReader()
    replies = []
    for chunk in chunks:
        reader.feed(chunk)
        while (reply := reader.next_reply()) is not None:
            replies.append(reply)
    return replies


def test_single_line_reply() -> None:
    (reply,) = parse_all(b"250 2.1.0 OK d9443c01a7336 - gsmtp\r\n")
    assert reply == Reply(250, ("2.1.0 OK d9443c01a7336 - gsmtp",))
    assert reply.kind is ReplyKind.COMPLETION
    assert reply.enhanced_status == EnhancedStatus(2, 1, 0)
    assert reply.message == "OK d9443c01a7336 - gsmtp"


def test_multi_line_reply_keeps_every_line_and_its_wire_bytes() -> None:
    wire = (
        b"535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
        b"535 5.7.8  https://support.google.com/mail/?p=BadCredentials x - gsmtp\r\n"
    )
    (reply,) = parse_all(wire)
    assert reply.code == 535
    assert reply.is_permanent
    assert not reply.is_transient
    assert str(reply.enhanced_status) == "5.7.8"
    assert reply.lines[1] == "5.7.8  https://support.google.com/mail/?p=BadCredentials x - gsmtp"
    # The enhanced code goes from the text; the URL keeps Gmail's extra space.
    assert reply.message.splitlines()[1].startswith(" https://support.google.com/")
    assert b"".join(reply.wire) == wire
    assert reply.to_bytes() == wire


def test_transient_reply() -> None:
    (reply,) = parse_all(b"421 4.3.0 Temporary System Problem.\r\n")
    assert reply.is_transient
    assert not reply.is_permanent


@pytest.mark.parametrize(
    ("line", "lines"),
    [
        # RFC 5321 §4.2: the text is optional on the last line.
        (b"250\r\n", ("",)),
        # RFC 4954 §4: an empty challenge is "334 " with the space.
        (b"334 \r\n", ("",)),
        # Servers do send bare LF; the parser accepts it and keeps the bytes.
        (b"220 ready\n", ("ready",)),
    ],
)
def test_unusual_but_valid_last_lines(line: bytes, lines: tuple[str, ...]) -> None:
    (reply,) = parse_all(line)
    assert reply.lines == lines
    assert reply.wire == (line,)


@pytest.mark.parametrize(
    "line",
    [
        b"hello\r\n",
        b"25 OK\r\n",
        b"2500 OK\r\n",
        b"250OK\r\n",
        # RFC 5321 §4.2: the first digit is 2 to 5, the second 0 to 5.
        b"150 OK\r\n",
        b"600 OK\r\n",
        b"260 OK\r\n",
        b"\r\n",
    ],
)
def test_malformed_lines_are_remote_protocol_errors(line: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        parse_all(line)
    assert caught.value.data == line


def test_continuation_with_a_different_code_is_refused() -> None:
    # RFC 5321 §4.2.1: every line of a multi-line reply carries the same code.
    with pytest.raises(RemoteProtocolError, match="same code"):
        parse_all(b"250-first\r\n251 second\r\n")


def test_enhanced_status_must_match_the_reply_class() -> None:
    # RFC 2034 §4: the class digit agrees with the reply code.
    (reply,) = parse_all(b"250 5.1.1 odd\r\n")
    assert reply.enhanced_status is None
    assert reply.message == "5.1.1 odd"


def test_enhanced_status_digits_are_ascii() -> None:
    # RFC 3463 §2: the status code is ASCII digits; \\d would read "5.\u0667.1" as 5.7.1.
    (reply,) = parse_all("550 5.\u0667.1 odd\r\n".encode())
    assert reply.enhanced_status is None


def test_a_size_in_digits_that_are_not_ascii_is_no_limit() -> None:
    (reply,) = parse_all("250-x\r\n250 SIZE \u0663\r\n".encode())
    assert Capabilities.from_reply(reply).size_limit_octets is None
    (reply,) = parse_all(b"250-x\r\n250 SIZE 3\r\n")
    assert Capabilities.from_reply(reply).size_limit_octets == 3


def test_a_ten_megabyte_line_stops_at_the_limit() -> None:
    reader = ReplyReader()
    chunk = b"2" * 65536
    fed = 0
    error: RemoteProtocolError | None = None
    while error is None and fed < 10 * 2**20:
        reader.feed(chunk)
        fed += len(chunk)
        try:
            reader.next_reply()
        except RemoteProtocolError as raised:
            error = raised
    assert error is not None
    assert "longer than" in str(error)
    # It gave up on the first chunk past the limit, not at the end of the 10 MiB.
    assert fed <= REPLY_LINE_LIMIT_OCTETS + len(chunk)


def test_a_complete_line_over_the_limit_is_refused() -> None:
    with pytest.raises(RemoteProtocolError, match="longer than"):
        parse_all(b"250 " + b"x" * REPLY_LINE_LIMIT_OCTETS + b"\r\n")


def test_a_reply_that_never_ends_stops_at_the_line_limit() -> None:
    with pytest.raises(RemoteProtocolError, match="lines"):
        parse_all(b"250-more\r\n" * (REPLY_LINES_LIMIT + 1))


def test_pending_holds_an_unfinished_reply() -> None:
    reader = ReplyReader()
    reader.feed(b"250-first\r\n250 sec")
    assert reader.next_reply() is None
    assert reader.pending() == b"250-first\r\n250 sec"


REPLY_STREAMS = st.lists(
    st.builds(
        Reply,
        st.sampled_from([220, 235, 250, 334, 354, 421, 451, 535, 554]),
        st.lists(
            st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=40),
            min_size=1,
            max_size=5,
        ).map(tuple),
    ),
    min_size=1,
    max_size=6,
)


@given(replies=REPLY_STREAMS, data=st.data())
def test_any_split_of_any_reply_stream_gives_the_same_replies(
    replies: list[Reply], data: st.DataObject
) -> None:
    stream = b"".join(reply.to_bytes() for reply in replies)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(stream)), max_size=12)))
    bounds = zip([0, *cuts], [*cuts, len(stream)], strict=True)
    chunks = [stream[start:end] for start, end in bounds]
    assert parse_all(*chunks) == replies


@given(replies=REPLY_STREAMS)
def test_one_byte_at_a_time(replies: list[Reply]) -> None:
    stream = b"".join(reply.to_bytes() for reply in replies)
    assert parse_all(*(stream[index : index + 1] for index in range(len(stream)))) == replies


@pytest.mark.parametrize(
    ("body", "wire"),
    [
        # RFC 5321 §4.5.2: a line starting with "." gets another one, wherever it is.
        (b".hidden\r\n", b"..hidden\r\n.\r\n"),
        (b"a\r\n.\r\nb\r\n", b"a\r\n..\r\nb\r\n.\r\n"),
        (b"a\r\n..two\r\n", b"a\r\n...two\r\n.\r\n"),
        # Bare LF and bare CR become CRLF (RFC 5321 §2.3.8), then stuffing applies.
        (b"a\n.\nb", b"a\r\n..\r\nb\r\n.\r\n"),
        (b"a\r.b\r", b"a\r\n..b\r\n.\r\n"),
        # RFC 5321 §4.1.1.4: the body ends with CRLF before the final ".".
        (b"no newline", b"no newline\r\n.\r\n"),
        (b"", b".\r\n"),
        ("héllo\n".encode(), "héllo\r\n.\r\n".encode()),
    ],
)
def test_message_data_encoding(body: bytes, wire: bytes) -> None:
    assert encode_message_data(body) == wire


def test_lines_up_to_the_limit_pass_and_longer_ones_are_refused() -> None:
    longest = b"x" * (MAX_TEXT_LINE_OCTETS - 2)
    assert encode_message_data(longest).startswith(longest + b"\r\n")
    with pytest.raises(LocalProtocolError, match=r"4\.5\.3\.1\.6"):
        encode_message_data(longest + b"x")
    # Stuffing adds an octet, and the limit applies to what goes on the wire.
    with pytest.raises(LocalProtocolError):
        encode_message_data(b"." + longest[1:])


@given(st.binary(max_size=300))
def test_unstuffing_recovers_the_normalised_body(body: bytes) -> None:
    wire = encode_message_data(body)
    assert wire.endswith(b"\r\n.\r\n") or wire == b".\r\n"
    lines = wire.split(b"\r\n")[:-2]
    unstuffed = b"".join((line[1:] if line.startswith(b".") else line) + b"\r\n" for line in lines)
    normalised = normalize_line_endings(body)
    if normalised and not normalised.endswith(b"\r\n"):
        normalised += b"\r\n"
    assert unstuffed == normalised


def test_dot_stuff_only_touches_line_starts() -> None:
    assert dot_stuff(b"a.b\r\n.c\r\n") == b"a.b\r\n..c\r\n"


@pytest.mark.parametrize("text", ["RCPT TO:<a@b>\r\nRCPT TO:<c@d>", "MAIL FROM:<a\n>", "NOOP \0"])
def test_command_lines_cannot_smuggle_line_breaks(text: str) -> None:
    with pytest.raises(LocalProtocolError, match="CR, LF or NUL"):
        encode_command_line(text)


def test_command_line_limit() -> None:
    # RFC 5321 §4.5.3.1.4: 512 octets with the CRLF.
    assert len(encode_command_line("NOOP " + "x" * 505)) == 512
    with pytest.raises(LocalProtocolError, match="512"):
        encode_command_line("NOOP " + "x" * 506)


def test_split_wire_lines_keeps_terminators_and_a_trailing_piece() -> None:
    assert split_wire_lines(b"a\r\nb\nc") == [b"a\r\n", b"b\n", b"c"]
    assert split_wire_lines(b"") == []
