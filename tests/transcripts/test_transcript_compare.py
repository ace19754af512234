"""compare/assert_match: whole conversations against transcripts, and what a mismatch says."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from client.transcript import Direction, Line, Transcript, load, read
from client.transcript.compare import Mismatch, TranscriptMismatch, assert_match, compare
from client.transcript.normalise import NORMALISERS

C = Direction.CLIENT
S = Direction.SERVER
CORPUS = Path(__file__).resolve().parents[1] / "data" / "gmail_transcripts"


def capture(name: str) -> Transcript:
    (path,) = CORPUS.glob(f"{name}_*.txt")
    return read(path)


def conversation(text: str) -> list[Line]:
    """Lines written in transcript syntax, for brevity."""
    return list(load(text).lines)


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda path: path.stem)
def test_every_capture_matches_itself(path: Path) -> None:
    transcript = read(path)
    assert compare(transcript, transcript) is None
    assert compare(transcript, transcript, normalisers={}) is None


SECRET = base64.b64encode(b"\0alice@gmail.com\0hunter2").decode()

# Capture 02, said again on another day, by another machine, with a real password and message.
REPLAY_OF_02 = f"""\
C: ehlo laptop.example
S: 250-smtp.gmail.com at your service, [2001:db8::1]
S: 250-SIZE 35882577
S: 250-8BITMIME
S: 250-STARTTLS
S: 250-ENHANCEDSTATUSCODES
S: 250-PIPELINING
S: 250-CHUNKING
S: 250 SMTPUTF8
C: STARTTLS
S: 220 2.0.0 Ready to start TLS
C: ehlo laptop.example
S: 250-smtp.gmail.com at your service, [2001:db8::1]
S: 250-SIZE 35882577
S: 250-8BITMIME
S: 250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH
S: 250-ENHANCEDSTATUSCODES
S: 250-PIPELINING
S: 250-CHUNKING
S: 250 SMTPUTF8
C: AUTH PLAIN {SECRET}
S: 235 2.7.0 Accepted
C: mail from:<redacted@gmail.com> size=491
S: 250 2.1.0 OK 98e67ed59e1d1-339a6ff0d4esm1885945a91.17 - gsmtp
C: rcpt to:<redacted@gmail.com>
S: 250 2.1.5 OK 98e67ed59e1d1-339a6ff0d4esm1885945a91.17 - gsmtp
C: data
S: 354 Go ahead 98e67ed59e1d1-339a6ff0d4esm1885945a91.17 - gsmtp
C: Date: Mon, 05 Jan 2026 10:00:00 +0000
C: Message-ID: <176760000000.1234.5678@laptop.example>
C: Subject: hello
C: 
C: hi
C: .
S: 250 2.0.0 OK  1767607200 98e67ed59e1d1-339a6ff0d4esm1885945a91.17 - gsmtp
C: quit
S: 221 2.0.0 closing connection 98e67ed59e1d1-339a6ff0d4esm1885945a91.17 - gsmtp
"""


def test_a_replay_matches_once_variable_parts_are_normalised() -> None:
    assert compare(capture("02"), conversation(REPLAY_OF_02)) is None


def test_without_normalisers_the_first_variable_part_is_the_mismatch() -> None:
    found = compare(capture("02"), conversation(REPLAY_OF_02), normalisers={})
    assert found is not None
    assert (found.expected_index, found.actual_index, found.matcher) == (0, 0, "text")


def test_the_double_space_still_matters() -> None:
    replay = REPLAY_OF_02.replace("354 Go ahead", "354  Go ahead")
    found = compare(capture("02"), conversation(replay))
    assert found is not None
    assert found.matcher == "text"
    assert found.expected is not None
    assert found.expected.data.startswith(b"354 Go ahead d9443c01a7336")
    assert found.normalisers == ("session_id",)
    assert (found.expected_text, found.actual_text) == (
        "354 Go ahead <session-id> - gsmtp",
        "354  Go ahead <session-id> - gsmtp",
    )
    assert found.file_line == 34  # the line in capture 02's file
    assert str(found) == (
        "transcript mismatch at expected line 28 (transcript line 34), actual line 28: "
        "matcher 'text' failed: the lines differ\n"
        "  expected: S: 354 Go ahead d9443c01a7336-22fc75468e4sm22683125ad.44 - gsmtp\n"
        "  actual:   S: 354  Go ahead 98e67ed59e1d1-339a6ff0d4esm1885945a91.17 - gsmtp\n"
        "  compared after normalising session_id:\n"
        "  expected: 354 Go ahead <session-id> - gsmtp\n"
        "  actual:   354  Go ahead <session-id> - gsmtp\n"
        "                ^ first difference, column 5"
    )


def test_a_mismatch_never_shows_a_secret() -> None:
    # The AUTH line itself differs, then a SASL response that the transcript did not expect.
    expected = conversation("C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: \n")
    actual = conversation(f"C: AUTH PLAIN {SECRET}\n")
    with pytest.raises(TranscriptMismatch) as caught:
        assert_match(expected, actual)
    assert SECRET not in str(caught.value)
    assert "AUTH PLAIN <redacted>" in str(caught.value)
    assert caught.value.mismatch.actual == Line(C, b"AUTH PLAIN <redacted>\r\n")

    actual = conversation(f"C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: {SECRET}\n")
    found = compare(expected, actual, direction=C)
    assert found is not None
    assert SECRET not in str(found)
    assert found.actual == Line(C, b"<redacted>\r\n")
    assert found.actual_text == "<redacted>"


def test_assert_match_raises_an_assertion_error_carrying_the_mismatch() -> None:
    with pytest.raises(AssertionError, match=re.escape("matcher 'line-ending' failed")) as caught:
        assert_match(conversation("C: EHLO x\n"), [Line(C, b"EHLO x\n")])
    assert isinstance(caught.value, TranscriptMismatch)
    assert isinstance(caught.value.mismatch, Mismatch)
    assert caught.value.mismatch.reason == "expected CRLF, got a bare LF"
    assert_match(conversation("C: EHLO x\n"), conversation("C: EHLO y\n"))


def test_pipelined_recordings_compare_one_direction_at_a_time() -> None:
    # Capture 05 pipelined MAIL and RCPT; a client that waits for each reply says the same.
    pipelined = conversation("C: MAIL FROM:<a@b>\nC: RCPT TO:<c@d>\nS: 250 ok\nS: 251 ok\n")
    one_by_one = conversation("C: MAIL FROM:<a@b>\nS: 250 ok\nC: RCPT TO:<c@d>\nS: 251 ok\n")
    found = compare(pipelined, one_by_one)
    assert found is not None
    assert (found.expected_index, found.matcher) == (1, "direction")
    assert found.reason == "expected a client line, got a server line"
    assert compare(pipelined, one_by_one, direction=C) is None
    assert compare(pipelined, one_by_one, direction=S) is None


@pytest.mark.parametrize(
    ("expected", "actual", "indices", "matcher", "reason"),
    [
        ("C: QUIT\nS: 221 bye\n", "C: QUIT\n", (1, 1), "end", "ended before the transcript"),
        ("C: QUIT\n", "C: QUIT\nS: 221 bye\n", (1, 1), "end", "went on after the transcript"),
        ("", "C: QUIT\n", (0, 0), "end", "went on after the transcript"),
    ],
)
def test_one_side_ending_first(
    expected: str, actual: str, indices: tuple[int, int], matcher: str, reason: str
) -> None:
    found = compare(conversation(expected), conversation(actual))
    assert found is not None
    assert (found.expected_index, found.actual_index) == indices
    assert found.matcher == matcher
    assert reason in found.reason


@pytest.mark.parametrize(
    ("expected", "actual", "matches"),
    [
        # Capture 09: QUIT on a broken channel, and nothing came back.
        ("C: QUIT\nS: <nothing>\n", "C: QUIT\n", True),
        ("C: QUIT\nS: <nothing>\n", "C: QUIT\nS: 221 bye\n", False),
        ("C: QUIT\nS: <nothing: connection closed>\nC: NOOP\n", "C: QUIT\nC: NOOP\n", True),
        # Capture 24: replies whose text nobody printed; any one reply with that code.
        (
            "C: .\nS: <250 2.0.0 OK ... (not printed)>\nC: QUIT\n",
            "C: .\nS: 250 ok\nC: QUIT\n",
            True,
        ),
        ("C: QUIT\nS: <221 ... (not printed)>\n", "C: QUIT\nS: 221-a\nS: 221 b\n", True),
        ("C: QUIT\nS: <221 ... (not printed)>\n", "C: QUIT\nS: 221-a\nS: 221-b\n", False),
        ("C: QUIT\nS: <221 ... (not printed)>\n", "C: QUIT\nS: 421 no\n", False),
        ("C: QUIT\nS: <221 ... (not printed)>\n", "C: QUIT\n", False),
        # Values nobody recorded: any run of non-space characters.
        ("C: MAIL FROM:<redacted@gmail.com>\n", "C: MAIL FROM:<bob@example.org>\n", True),
        ("C: RCPT TO:<cc>\n", "C: RCPT TO:<carol@example.org>\n", True),
        ("C: MAIL FROM:<...>\n", "C: MAIL FROM:<a@b> SIZE=10\n", False),
        ("C: MAIL FROM:<a@b>\n", "C: MAIL FROM:<c@d>\n", False),
        ("C: RCPT TO:<>\n", "C: RCPT TO:<c@d>\n", False),
        ("S: 334 x\nC: <redacted base64 username>\n", "S: 334 x\nC: dXNlcg==\n", True),
        # A message stand-in covers the data lines, with or without the final dot.
        (
            "S: 354 go\nC: <message> .\nS: 250 ok\n",
            "S: 354 go\nC: a\nC: \nC: b\nC: .\nS: 250 ok\n",
            True,
        ),
        ("S: 354 go\nC: <message> .\nS: 250 ok\n", "S: 354 go\nC: .\nS: 250 ok\n", True),
        ("S: 354 go\nC: <headers and multipart body>\nC: .\n", "S: 354 go\nC: a\nC: .\n", True),
        ("S: 354 go\nC: <headers and multipart body>\nC: .\n", "S: 354 go\nC: a\n", False),
        ("S: 354 go\nC: Hi\nC: <body lines>\nC: .\n", "S: 354 go\nC: Hi\nC: x\nC: y\nC: .\n", True),
        ("S: 354 go\nC: Hi\nC: <body lines>\nC: .\n", "S: 354 go\nC: Ho\nC: x\nC: .\n", False),
        (
            "C: BDAT 5 LAST\nC: <5 bytes of message data>\nS: 250 ok\n",
            "C: BDAT 5 LAST\nC~ hello\nS: 250 ok\n",
            True,
        ),
        # Outside message data a stand-in is a one-line value; inside, HTML is literal.
        ("C: <message> .\n", "C: a\nC: .\n", False),
        ("S: 354 go\nC: <html>\nC: .\n", "S: 354 go\nC: <body>\nC: .\n", False),
    ],
)
def test_placeholders(expected: str, actual: str, matches: bool) -> None:
    found = compare(conversation(expected), conversation(actual))
    assert (found is None) is matches, found


def test_every_capture_with_a_stand_in_accepts_real_data() -> None:
    # Capture 17 has real lines around "<body lines>", and a header typed before DATA.
    expected = capture("17")
    actual = []
    for line in expected.lines:
        if line.data == b"<body lines>\r\n":
            actual += [Line(C, b"Line one\r\n"), Line(C, b"..dot-stuffed\r\n")]
        else:
            actual.append(line)
    assert compare(expected, actual) is None


def test_users_add_their_own_normalisers() -> None:
    def queue_id(direction: Direction, text: str) -> str:
        return re.sub(r"queued as \w+", "queued as <queue-id>", text)

    expected = conversation("S: 250 queued as ABC123\n")
    actual = conversation("S: 250 queued as XYZ789\n")
    assert compare(expected, actual) is not None
    assert compare(expected, actual, normalisers={**NORMALISERS, "queue_id": queue_id}) is None


def test_file_lines_count_wrapped_header_lines() -> None:
    expected = capture("04")  # six header lines, the notes wrapped over two
    actual = list(expected.lines)
    actual[0] = Line(C, b"HELO debian6box.localdomain.loc\r\n")
    found = compare(expected, actual)
    assert found is not None
    assert (found.expected_index, found.file_line) == (0, 7)
