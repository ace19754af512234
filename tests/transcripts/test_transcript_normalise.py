"""Normalisers mask only what differs between runs; placeholders are recognised."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.transcript import Direction, Line, read
from client.transcript.normalise import (
    NORMALISERS,
    Placeholder,
    auth_payload,
    check_line,
    client_ip,
    date,
    ehlo_name,
    mail_size,
    message_id,
    normalise,
    placeholder,
    session_id,
    timestamp,
)

C = Direction.CLIENT
S = Direction.SERVER
CORPUS = Path(__file__).resolve().parents[1] / "data" / "gmail_transcripts"

# replies.md §1: ids from every era, submission ("sm") and MX ("si").
GMAIL_IDS = [
    "z52sm8565415pyg.1",
    "24sm236516bkr.18",
    "d6sm6677367pju.8",
    "im3sm19207876wjb.13",
    "x8-v6sm5005123itf.1",
    "c79-v6sm37968282pfb.147",
    "4-20020a056000154400b00203812ca383sm10857871wry.78",
    "12-20020a170902c24c00b001d770328a05sm3332281plg.36",
    "d9443c01a7336-22fc75468e4sm22683125ad.44",
    "8926c6da1cb9f-58f729ce076sm6785550173.55",
    "3f1490d57ef6-58f729ce076sm6785550.5",
    "hg2si4622244wib.38",
    "5614622812f47-3db1348b073si610647b6e.72",
]


@pytest.mark.parametrize("gmail_id", GMAIL_IDS)
@pytest.mark.parametrize(
    ("template", "normalised"),
    [
        ("220 smtp.gmail.com ESMTP {} - gsmtp", "220 smtp.gmail.com ESMTP <session-id> - gsmtp"),
        ("250 2.0.0 OK  1746829334 {} - gsmtp", "250 2.0.0 OK  1746829334 <session-id> - gsmtp"),
        # Before ~2011 there was no " - gsmtp" suffix; the id's shape finds it.
        ("220 mx.google.com ESMTP {}", "220 mx.google.com ESMTP <session-id>"),
        ("503 5.5.1 MAIL first. {}", "503 5.5.1 MAIL first. <session-id>"),
    ],
)
def test_session_id_in_every_era(gmail_id: str, template: str, normalised: str) -> None:
    assert session_id(S, template.format(gmail_id)) == normalised


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda path: path.stem)
def test_session_id_masks_every_gsmtp_id_in_the_captures(path: Path) -> None:
    for line in read(path).lines:
        text = normalise(line, {"session_id": session_id})
        if line.direction is S and text.endswith(" - gsmtp") and not text.startswith("<"):
            assert text.endswith(" <session-id> - gsmtp"), text


@pytest.mark.parametrize(
    ("normaliser", "direction", "text", "normalised"),
    [
        (session_id, C, "MAIL FROM:<d6sm6677367pju.8@x>", "MAIL FROM:<d6sm6677367pju.8@x>"),
        (session_id, S, "250-smtp.gmail.com at your service, [1.2.3.4]", None),
        (session_id, S, "250 2.1.5 OK smtp.gmail.com", None),
        (timestamp, S, "250 2.0.0 OK  1746829334 x - gsmtp", "250 2.0.0 OK  <timestamp> x - gsmtp"),
        (timestamp, S, "250 2.0.0 OK 1414235750 x - gsmtp", "250 2.0.0 OK <timestamp> x - gsmtp"),
        # BDAT's final reply has no timestamp (capture 20); ids that start with digits stay.
        (timestamp, S, "250 2.0.0 OK h5sm23980368wjn.20 - gsmtp", None),
        (timestamp, S, "250 2.0.0 OK 24sm236516bkr.18", None),
        (timestamp, C, "250 2.0.0 OK  1746829334 x - gsmtp", None),
        (
            client_ip,
            S,
            "250-smtp.gmail.com at your service, [104.28.225.14]",
            "250-smtp.gmail.com at your service, [<client-ip>]",
        ),
        (
            client_ip,
            S,
            "250-smtp.gmail.com at your service, [2a02:8071:4586:a540:58cd:ed39:e7d7:959c]",
            "250-smtp.gmail.com at your service, [<client-ip>]",
        ),
        (client_ip, S, "250 smtp.gmail.com at your service", None),
        (ehlo_name, C, "EHLO mexes", "EHLO <ehlo-name>"),
        (ehlo_name, C, "ehlo [127.0.1.1]", "ehlo <ehlo-name>"),
        (ehlo_name, C, "HELO <host>", "HELO <ehlo-name>"),
        # Gmail treats these differently (captures 15, 16, 18): they must stay distinct.
        (ehlo_name, C, "EHLO", None),
        (ehlo_name, C, "EHLO ", None),
        (ehlo_name, C, "HELLO maurom.com", None),
        (ehlo_name, S, "EHLO x", None),
        (
            message_id,
            C,
            "Message-ID: <5f474650.1c69fb81@mx.google.com>",
            "Message-ID: <message-id>",
        ),
        (message_id, C, "message-id:<a@b>", "message-id:<message-id>"),
        (date, C, "Date: Tue, 20 Mar 2020 19:20:21 -0600", "Date: <date>"),
        (date, C, "Subject: test Tue, 20 Mar 2020 19:20:21 -0600", None),
        (auth_payload, C, "AUTH PLAIN AHVzZXIAcGFzcw==", "AUTH PLAIN <redacted>"),
        (auth_payload, C, "auth xoauth2 dXNlcj0=", "auth xoauth2 <redacted>"),
        (auth_payload, C, "AUTH PLAIN <redacted>", "AUTH PLAIN <redacted>"),
        (auth_payload, C, "AUTH LOGIN", None),
        (auth_payload, C, "AUTH XOAUTH2 ", None),
        # RFC 1870 §6: the size estimate changes with every run's message; nothing else does.
        (mail_size, C, "mail FROM:<a@b.org> size=2481", "mail FROM:<a@b.org> size=<size>"),
        (
            mail_size,
            C,
            "MAIL FROM:<a@b.org> BODY=8BITMIME SIZE=12 SMTPUTF8",
            "MAIL FROM:<a@b.org> BODY=8BITMIME SIZE=<size> SMTPUTF8",
        ),
        (mail_size, C, "MAIL FROM:<size=1@b.org>", None),
        (mail_size, C, "RCPT TO:<a@b.org> SIZE=12", None),
        (mail_size, S, "MAIL FROM:<a@b.org> SIZE=12", None),
    ],
)
def test_normalisers_change_only_their_part(
    normaliser: object, direction: Direction, text: str, normalised: str | None
) -> None:
    assert callable(normaliser)
    assert normaliser(direction, text) == (text if normalised is None else normalised)


def test_the_registry_is_explicit_and_read_only() -> None:
    assert list(NORMALISERS) == [
        "session_id",
        "timestamp",
        "client_ip",
        "ehlo_name",
        "message_id",
        "date",
        "auth_payload",
        "mail_size",
    ]
    assert all(function.__name__ == name for name, function in NORMALISERS.items())
    with pytest.raises(TypeError):
        NORMALISERS["mine"] = session_id  # type: ignore[index]


def test_normalise_applies_every_normaliser_in_order() -> None:
    line = Line(S, b"250 2.0.0 OK  1746829334 d9443c01a7336-22fc75468e4sm22683125ad.44 - gsmtp\r\n")
    assert normalise(line) == "250 2.0.0 OK  <timestamp> <session-id> - gsmtp"
    assert normalise(line, {}) == line.data.decode().removesuffix("\r\n")


@given(st.sampled_from(list(Direction)), st.text())
def test_normalisers_are_idempotent(direction: Direction, text: str) -> None:
    for normaliser in NORMALISERS.values():
        once = normaliser(direction, text)
        assert normaliser(direction, once) == once


@pytest.mark.parametrize(
    ("expected", "actual", "matcher"),
    [
        # The famous double space (replies.md §0.1): normalising must not hide it.
        (b"354  Go ahead a - gsmtp\r\n", b"354 Go ahead b - gsmtp\r\n", "text"),
        (b"250 2.0.0 OK  1 a - gsmtp\r\n", b"250 2.0.0 OK 1 b - gsmtp\r\n", "text"),
        (
            b"250 2.0.0 OK  1746829334 a - gsmtp\r\n",
            b"250 2.0.0 OK 1414235750 b - gsmtp\r\n",
            "text",
        ),
        (b"250 ok\r\n", b"250 ok\n", "line-ending"),
        (b"250 ok\r\n", b"250 ok", "line-ending"),
    ],
)
def test_check_line_keeps_everything_else_byte_exact(
    expected: bytes, actual: bytes, matcher: str
) -> None:
    failure = check_line(Line(S, expected), Line(S, actual), NORMALISERS, in_data=False)
    assert failure is not None
    assert failure.matcher == matcher


def test_check_line_names_the_normalisers_it_used() -> None:
    failure = check_line(
        Line(S, b"354  Go ahead xw9sm8487512wjc.24 - gsmtp\r\n"),
        Line(S, b"354 Go ahead d6sm6677367pju.8 - gsmtp\r\n"),
        NORMALISERS,
        in_data=False,
    )
    assert failure is not None
    assert failure.normalisers == ("session_id",)
    assert failure.expected_text == "354  Go ahead <session-id> - gsmtp"
    assert failure.actual_text == "354 Go ahead <session-id> - gsmtp"


@pytest.mark.parametrize(
    ("direction", "text", "in_data", "kind"),
    [
        (C, "<redacted>", False, Placeholder.VALUE),
        (C, "<redacted base64 app password>", False, Placeholder.VALUE),
        (C, "<redacted: 40 bytes SASL PLAIN>", False, Placeholder.VALUE),
        (C, "AUTH PLAIN <redacted>", False, Placeholder.VALUE),
        (
            C,
            'AUTH XOAUTH2 <redacted base64 of "user=...^Aauth=Bearer ...^A^A">',
            False,
            Placeholder.VALUE,
        ),
        (C, "MAIL FROM:<redacted@gmail.com>", False, Placeholder.VALUE),
        (C, "MAIL FROM:<...>", False, Placeholder.VALUE),
        (C, "RCPT TO:<bcc>", False, Placeholder.VALUE),
        (C, "EHLO <client>", False, Placeholder.VALUE),
        (C, "MAIL FROM:<a@gmail.com>", False, None),
        (C, "RCPT TO:<>", False, None),
        (C, "RCPT TO: <@>", False, None),
        (C, "<message headers and body, ending with CRLF.CRLF>", True, Placeholder.MESSAGE),
        (C, "<message> .", True, Placeholder.MESSAGE),
        (C, "<message lines> ... .", True, Placeholder.MESSAGE),
        (C, '<headers, body, ".">', True, Placeholder.MESSAGE),
        (C, "<headers/body> .", True, Placeholder.MESSAGE),
        (C, "<body lines>", True, Placeholder.MESSAGE),
        (C, "<30304 bytes of message data>", True, Placeholder.MESSAGE),
        (C, "<DKIM-signed message, ending CRLF.CRLF>", True, Placeholder.MESSAGE),
        # Message data is literal otherwise: HTML, and angle brackets in headers.
        (C, "<body>", True, None),
        (C, "<html>", True, None),
        (C, "</body>", True, None),
        (C, "From: me<[email protected]>;", True, None),
        (S, "<nothing>", False, Placeholder.NO_REPLY),
        (S, "<nothing: connection closed>", False, Placeholder.NO_REPLY),
        (S, '<no reply: LF-terminated "." is not end-of-data>', False, Placeholder.NO_REPLY),
        (S, "<250 not printed>", False, Placeholder.UNPRINTED_REPLY),
        (S, "<250 2.0.0 OK ... (not printed)>", False, Placeholder.UNPRINTED_REPLY),
        (S, "<221 ... (not printed)>", False, Placeholder.UNPRINTED_REPLY),
        (S, "250 2.1.0 <a@b> OK", False, None),
    ],
)
def test_placeholders_found_in_the_captures(
    direction: Direction, text: str, in_data: bool, kind: Placeholder | None
) -> None:
    assert placeholder(Line(direction, text.encode() + b"\r\n"), in_data=in_data) is kind
