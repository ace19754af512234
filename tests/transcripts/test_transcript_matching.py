"""Matching levels and masks in whole conversations: ``compare`` with a message in the middle, the
``Matching`` settings and what they refuse, and ``filter_messages`` (before_record)."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest

from client.transcript import (
    Direction,
    Line,
    Matching,
    MatchLevel,
    Transcript,
    compare,
    drop_headers,
    filter_messages,
    load,
)
from client.transcript.text import dump

C, S = Direction.CLIENT, Direction.SERVER


def conversation(*message: str, recipient: str = "ann@example.org") -> list[Line]:
    """A submission whose DATA carries ``message`` (lines, dot-stuffed as sent)."""
    rows = [
        (S, "220 mx.example ESMTP"),
        (C, "EHLO laptop"),
        (S, "250 mx.example"),
        (C, "MAIL FROM:<shop@example.org> SIZE=1234"),
        (S, "250 OK"),
        (C, f"RCPT TO:<{recipient}>"),
        (S, "250 OK"),
        (C, "DATA"),
        (S, "354 Go ahead"),
        *((C, line) for line in message),
        (C, "."),
        (S, "250 OK queued"),
        (C, "QUIT"),
        (S, "221 Bye"),
    ]
    return [Line(direction, f"{text}\r\n".encode()) for direction, text in rows]


def multipart(boundary: str, *, subject: str = "Hi", body: str = "Hello Ann") -> list[str]:
    return [
        f"Subject: {subject}",
        f"Date: Mon, 0{len(boundary) % 9} Jun 2025 10:00:00 +0000",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain",
        "",
        body,
        "..a line that starts with a dot",
        f"--{boundary}",
        "Content-Type: text/html",
        "",
        f"<p>{body}</p>",
        f"--{boundary}--",
    ]


def test_a_message_with_new_boundaries_matches_as_structure_but_not_as_bytes() -> None:
    recorded = conversation(*multipart("b1-aaaa"))
    sent = conversation(*multipart("b2-bbbbbbbb"))
    assert compare(recorded, sent) is None
    assert compare(recorded, sent, matching=Matching("headers")) is None
    found = compare(recorded, sent, matching=Matching("bytes"))
    assert found is not None
    # Line 10 is the Date, which the date normaliser masks; line 12 is the Content-Type.
    assert (found.matcher, found.expected_index) == ("text", 12)


def test_a_message_mismatch_points_at_the_message_and_shows_what_differs() -> None:
    recorded = load(dump(Transcript((("port", "587"),), tuple(conversation(*multipart("b1"))))))
    sent = conversation(*multipart("b2", body="Hello Bob"))
    found = compare(recorded, sent)
    assert found is not None
    assert found.matcher == "message"
    assert (found.expected_index, found.actual_index, found.file_line) == (9, 9, 11)
    assert found.expected == Line(C, b"Subject: Hi\r\n")
    assert found.message is not None
    assert found.message.where == "part 1 (text/plain)"
    assert str(found).splitlines() == [
        "transcript mismatch at expected line 10 (transcript line 11), actual line 10: "
        "matcher 'message' failed: in part 1 (text/plain), line 1 of the decoded body differs",
        "  expected: Hello Ann",
        "  actual:   Hello Bob",
        "                  ^ first difference, column 7",
    ]


def test_the_conversation_after_the_message_is_still_compared() -> None:
    recorded = conversation(*multipart("b1"))
    sent = conversation(*multipart("b2"))
    sent[-2] = Line(C, b"RSET\r\n")
    found = compare(recorded, sent)
    assert found is not None
    assert (found.matcher, found.expected, found.actual) == (
        "text",
        Line(C, b"QUIT\r\n"),
        Line(C, b"RSET\r\n"),
    )


def test_the_envelope_is_exact_at_every_level() -> None:
    recorded = conversation(*multipart("b1"))
    sent = conversation(*multipart("b1"), recipient="bob@example.org")
    for level in MatchLevel:
        found = compare(recorded, sent, matching=Matching(level))
        assert found is not None
        assert found.actual == Line(C, b"RCPT TO:<bob@example.org>\r\n")


def test_the_envelope_level_accepts_any_message() -> None:
    recorded = conversation(*multipart("b1"))
    assert (
        compare(recorded, conversation("Subject: other", "", "x"), matching=Matching("envelope"))
        is None
    )


def test_a_placeholder_message_and_an_unfinished_one_are_compared_line_by_line() -> None:
    placeholder = conversation("<message headers and body>")
    assert compare(placeholder, conversation(*multipart("b9"))) is None
    unfinished = conversation(*multipart("b1"))[:12]
    found = compare(conversation(*multipart("b1")), unfinished)
    assert found is not None
    assert found.matcher == "end"


def test_only_the_clients_lines_still_find_the_message() -> None:
    recorded = conversation(*multipart("b1"))
    assert compare(recorded, conversation(*multipart("b2")), direction=C) is None
    found = compare(recorded, conversation(*multipart("b2", subject="Yo")), direction=C)
    assert found is not None
    assert found.reason == "in the message, header Subject differs"


def test_masks_are_one_more_normaliser_for_every_line() -> None:
    recorded = conversation(*multipart("b1", body="Code 1234"), recipient="order-17@example.org")
    sent = conversation(*multipart("b2", body="Code 9876"), recipient="order-18@example.org")
    assert compare(recorded, sent) is not None
    assert compare(recorded, sent, matching=Matching(masks=[r"\d{2,}"])) is None
    found = compare(recorded, sent, matching=Matching(masks=[r"order-"]))
    assert found is not None
    assert found.normalisers == ("masks",)
    assert (found.expected_text, found.actual_text) == (
        "RCPT TO:<<masked>17@example.org>",
        "RCPT TO:<<masked>18@example.org>",
    )


def test_a_mask_with_groups_masks_only_the_groups() -> None:
    matching = Matching(masks=[r"token=(\w+)&id=(\d+)", "secret"])
    assert matching.mask("a?token=abc&id=42#x secret") == "a?token=<masked>&id=<masked>#x <masked>"
    assert Matching(masks=[re.compile(r"(a)|(b)")]).mask("ab") == "<masked><masked>"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"level": "exact"},
            "match level 'exact' is not one of bytes, structure, headers, envelope",
        ),
        ({"masks": ["token=("]}, "mask 'token=(' is not a Python regular expression"),
        ({"masks": ["x*"]}, "mask 'x*' matches the empty string"),
        (
            {"level": "bytes", "before_record": drop_headers("X")},
            "use the 'structure' or 'headers'",
        ),
    ],
)
def test_a_wrong_setting_says_what_to_change(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Matching(**arguments)  # type: ignore[arg-type]


def test_filter_messages_edits_each_message_and_keeps_the_rest_byte_for_byte() -> None:
    lines = conversation(
        "Subject: Hi", "X-Customer: Ann Smith", "", "..dotted", "x-customer: again", "end"
    )
    transcript = Transcript((("tls", "none"),), tuple(lines))
    edited = filter_messages(transcript, drop_headers("X-Customer"))
    assert edited.headers == transcript.headers
    assert [line.data for line in edited.lines] == [
        line.data for line in lines if line.data != b"X-Customer: Ann Smith\r\n"
    ], "the header goes; the body (and its dot-stuffing) stays"
    assert filter_messages(edited, drop_headers("X-Customer")) is edited, "nothing more to do"


def test_filter_messages_leaves_placeholders_and_unfinished_messages_alone() -> None:
    def blank(message: EmailMessage) -> None:
        message["X-Added"] = "1"

    stand_in = Transcript((), tuple(conversation("<message, ending CRLF.CRLF>")))
    assert filter_messages(stand_in, blank) is stand_in
    unfinished = Transcript((), tuple(conversation("Subject: x", "", "body")[:11]))
    assert filter_messages(unfinished, blank) is unfinished
