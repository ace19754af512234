"""load and dump: the spelling of each kind of line, errors, and exact round trips."""

from __future__ import annotations

import re

import pytest

from client.transcript import (
    Comment,
    Direction,
    Event,
    Line,
    Transcript,
    TranscriptFormatError,
    dump,
    format_line,
    load,
)

C = Direction.CLIENT
S = Direction.SERVER


@pytest.mark.parametrize(
    ("data", "spelled"),
    [
        (b"EHLO x\r\n", "C: EHLO x"),
        (b"\r\n", "C: "),
        (b"auth login \r\n", "C: auth login "),
        ("Grüße, café\r\n".encode(), "C: Grüße, café"),
        (b"back\\slash\r\n", "C: back\\slash"),
        # RFC 5321 §2.3.8: lines end in CRLF; anything else is spelled out.
        (b"EHLO x\n", r"C~ EHLO x\n"),
        (b"EHL", "C~ EHL"),
        (b"", "C~ "),
        (b"back\\slash\n", r"C~ back\\slash\n"),
        (b"caf\xe9\r\n", r"C~ caf\xe9\r\n"),
        (b"a\tb\r\n", r"C~ a\tb\r\n"),
        (b"\x00\x7f\r\n", r"C~ \x00\x7f\r\n"),
        ("no\u00a0break\r\n".encode(), r"C~ no\xc2\xa0break\r\n"),
        (b"bare\rCR\r\n", r"C~ bare\rCR\r\n"),
        (b"trailing ", r"C~ trailing\x20"),
        (b"two\r\nlines\r\n", r"C~ two\r\nlines\r\n"),
    ],
)
def test_each_wire_line_has_one_spelling(data: bytes, spelled: str) -> None:
    assert format_line(Line(C, data)) == spelled
    assert load(spelled + "\n") == Transcript((), (Line(C, data),))


def test_server_lines_and_timing() -> None:
    text = "@0.25 S: 220 hi\n@1e-05 S~ 250 ok\\n\n@12.5 # --- closed ---\n"
    transcript = load(text)
    assert transcript.entries == (
        Line(S, b"220 hi\r\n", 0.25),
        Line(S, b"250 ok\n", 1e-05),
        Event("closed", "", 12.5),
    )
    assert dump(transcript) == text


@pytest.mark.parametrize(
    ("row", "event"),
    [
        ("# --- TLS handshake ---", Event("tls")),
        (
            "# --- TLS handshake TLSv1.3 TLS_AES_256_GCM_SHA384 ---",
            Event("tls", "TLSv1.3 TLS_AES_256_GCM_SHA384"),
        ),
        (
            "# --- TLS handshake (TLSv1.3:TLS_AES_256_GCM_SHA384:256) ---",
            Event("tls", "(TLSv1.3:TLS_AES_256_GCM_SHA384:256)"),
        ),
        ("# --- closed ---", Event("closed")),
        ("# --- closed: by server ---", Event("closed", "by server")),
        ("# --- reset: RST after 354 ---", Event("reset", "RST after 354")),
        ("# --- server closed the connection ---", Event("note", "server closed the connection")),
        ("# --- session 1: wrong password ---", Event("note", "session 1: wrong password")),
        ("# --- note: closed ---", Event("note", "closed")),
        ("# --- note: TLS handshake ---", Event("note", "TLS handshake")),
        ("# ---  ---", Event("note", "")),
        ("# --- a --- b ---", Event("note", "a --- b")),
    ],
)
def test_each_event_has_one_spelling(row: str, event: Event) -> None:
    assert load(row + "\n").entries == (event,)
    assert dump(Transcript((), (event,))) == row + "\n"


@pytest.mark.parametrize(
    ("row", "entry"),
    [
        ("# Connection closed by foreign host.", Comment("Connection closed by foreign host.")),
        ("#", Comment("")),
        ("# ---- other real replies ----", Comment("---- other real replies ----")),
        ("# --- ---", Comment("--- ---")),
    ],
)
def test_comments(row: str, entry: Comment) -> None:
    # After a wire line the header has ended, so even "# key: value" is a comment.
    text = f"C: QUIT\n{row}\n# port: 587\n"
    assert load(text).entries == (Line(C, b"QUIT\r\n"), entry, Comment("port: 587"))
    assert dump(load(text)) == text


def test_header_fields_keep_their_continuation_lines_exactly() -> None:
    text = (
        "# smtprig-transcript: 1\n"
        "# notes: first line\n"
        "#        second, indented\n"
        "#   third\n"
        "# notes: again\n"
        "# empty: \n"
        "# Connected to smtps://smtp.gmail.com:465/\n"
        "# date: not a header any more\n"
        "S: 220 hi\n"
    )
    transcript = load(text)
    assert transcript.headers == (
        ("smtprig-transcript", "1"),
        ("notes", "first line\n        second, indented\n   third"),
        ("notes", "again"),
        ("empty", ""),
    )
    assert transcript.header("notes") == "first line\n        second, indented\n   third"
    assert transcript.header("missing") is None
    assert transcript.entries[:2] == (
        Comment("Connected to smtps://smtp.gmail.com:465/"),
        Comment("date: not a header any more"),
    )
    assert dump(transcript) == text


def test_a_continuation_needs_a_header_before_it() -> None:
    assert load("#    indented\n").entries == (Comment("   indented"),)


def test_load_accepts_other_spellings_and_dump_writes_the_canonical_one() -> None:
    transcript = load("C~ QUIT\\r\\n\n# --- tls: TLSv1.2 ---\nS~ caf\\xE9\\n\n")
    assert transcript.entries == (
        Line(C, b"QUIT\r\n"),
        Event("tls", "TLSv1.2"),
        Line(S, b"caf\xe9\n"),
    )
    assert dump(transcript) == "C: QUIT\n# --- TLS handshake TLSv1.2 ---\nS~ caf\\xe9\\n\n"


def test_load_reads_empty_lines_whose_trailing_space_was_stripped() -> None:
    assert load("C:\nS~\n").entries == (Line(C, b"\r\n"), Line(S, b""))


def test_load_reads_a_last_line_without_newline_and_an_empty_text() -> None:
    assert load("C: QUIT").entries == (Line(C, b"QUIT\r\n"),)
    assert load("") == Transcript((), ())
    assert dump(Transcript((), ())) == ""


@pytest.mark.parametrize(
    ("text", "line_number", "says"),
    [
        ("C: ok\n\nS: x\n", 2, "expected 'C: '"),
        ("X: foo\n", 1, "expected 'C: '"),
        ("#comment\n", 1, "expected 'C: '"),
        ("C~ bad\\q\n", 1, "unknown escape"),
        ("C~ bad\\x4\n", 1, "unknown escape"),
        ("C: tab\there\n", 1, "U+0009 is not printable; write the line as 'C~ '"),
        ("C: windows\r\nC: file\r\n", 1, "is the file CRLF?"),
        ("# smtprig-transcript: 2\n", 1, "upgrade smtprig"),
        ("# port: 587\n# smtprig-transcript: one\n", 2, "upgrade smtprig"),
        ("@x C: a\n", 1, "not a number of seconds"),
        ("@nan C: a\n", 1, "not a number of seconds"),
        ("@1e999 C: a\n", 1, "not a number of seconds"),
        ("@1.0C: a\n", 1, "not a number of seconds"),
        ("@1.0\n", 1, "a timed line is"),
        ("@1.0 # a comment\n", 1, "only wire lines and '# --- ... ---' events can be timed"),
        ("C: a\n# bell \x07\n", 2, "not printable"),
    ],
)
def test_load_names_the_line_it_cannot_read(text: str, line_number: int, says: str) -> None:
    with pytest.raises(TranscriptFormatError) as caught:
        load(text, source="t.txt")
    assert caught.value.line_number == line_number
    assert caught.value.text == text.split("\n")[line_number - 1]
    assert says in caught.value.problem
    assert str(caught.value).startswith(f"t.txt:{line_number}: ")


@pytest.mark.parametrize(
    ("transcript", "says"),
    [
        (Transcript((("bad key", "x"),), ()), "the key must match"),
        (Transcript((("notes", "a\nb"),), ()), "must start with two spaces"),
        (Transcript((("notes", "a\tb"),), ()), "printable"),
        (Transcript((("smtprig-transcript", "2"),), ()), "upgrade smtprig"),
        (Transcript((), (Comment("--- looks like an event ---"),)), "would read back as an event"),
        (Transcript((), (Comment("port: 587"),)), "would read back as a header"),
        (Transcript((("port", "587"),), (Comment("  indented"),)), "would read back as a header"),
        (Transcript((), (Line(C, b"x", float("inf")),)), "must be finite"),
        (Transcript((), (Event("closed", "", float("nan")),)), "must be finite"),
    ],
)
def test_dump_refuses_what_would_not_read_back(transcript: Transcript, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        dump(transcript)


def test_a_comment_that_looks_like_a_header_is_fine_after_the_first_entry() -> None:
    transcript = Transcript((("port", "587"),), (Line(C, b"QUIT\r\n"), Comment("  indented")))
    assert load(dump(transcript)) == transcript


def test_transcript_lines_are_the_wire_lines_in_order() -> None:
    transcript = load("S: 220 hi\n# --- closed ---\n# bye\nC: QUIT\n")
    assert transcript.lines == (Line(S, b"220 hi\r\n"), Line(C, b"QUIT\r\n"))
