"""The replay server's decisions without a socket: what to send, when to wait, when a client
line is a mismatch, which TLS mode a transcript implies, and the values minted per connection."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.replay import transcript_tls
from client.transcript import Direction, Line, Transcript, load, read
from client.transcript.compare import compare
from fakeserver.recordreplay.linestream import bdat_size, is_command, reply_code
from fakeserver.recordreplay.proxy import TLSMode
from fakeserver.recordreplay.replay_script import (
    Await,
    Done,
    Failed,
    FreshValues,
    ReplayScript,
    Send,
)

C, S = Direction.CLIENT, Direction.SERVER
CORPUS = Path(__file__).resolve().parents[1] / "data" / "gmail_transcripts"

SESSION = """\
# smtprig-transcript: 1
S: 220 smtp.gmail.com ESMTP a1b2c3d4e5f6-0123456789asm12345678abc.12 - gsmtp
C: EHLO laptop
S: 250-smtp.gmail.com at your service, [203.0.113.9]
S: 250 SMTPUTF8
C: AUTH PLAIN <redacted>
S: 235 2.7.0 Accepted
C: QUIT
S: 221 2.0.0 closing connection a1b2c3d4e5f6-0123456789asm12345678abc.12 - gsmtp
"""


def lines(text: str) -> list[Line]:
    return list(load(text).lines)


def play(script: ReplayScript, client_lines: list[bytes]) -> tuple[list[Line], object]:
    """Runs the script as the replay server does, the client saying ``client_lines``: one
    step per command line, and message data stepped over whole, after its final dot."""
    actual: list[Line] = []
    said = iter(client_lines)
    in_data = False
    for _ in range(100):
        step = script.step(actual)
        if isinstance(step, Send):
            actual.extend(step.lines)
            in_data = step.lines[-1].data.startswith(b"354 ")
        elif isinstance(step, Await):
            while (line := next(said, None)) is not None:
                actual.append(Line(C, line))
                if not in_data or line == b".\r\n":
                    break
            if line is None:
                return actual, step
            in_data = False
        else:
            return actual, step
    raise AssertionError("the script never ended")


def test_a_faithful_client_is_played_to_the_end() -> None:
    script = ReplayScript(load(SESSION))
    assert script.step([]) == Send(tuple(lines(SESSION)[:1]))
    client = [b"EHLO other-laptop\r\n", b"AUTH PLAIN AGEAYg==\r\n", b"QUIT\r\n"]
    actual, end = play(script, client)
    assert end == Done()
    assert [line.data for line in actual if line.direction is S] == [
        line.data for line in lines(SESSION) if line.direction is S
    ]


def test_a_client_that_differs_fails_at_its_line() -> None:
    _, end = play(ReplayScript(load(SESSION)), [b"HELO laptop\r\n"])
    assert isinstance(end, Failed)
    assert end.mismatch.matcher == "text"
    assert end.mismatch.file_line == 3
    assert end.mismatch.actual == Line(C, b"HELO laptop\r\n")


def test_a_late_mismatch_is_numbered_in_the_whole_transcript() -> None:
    script = ReplayScript(load(SESSION))
    client = [b"EHLO laptop\r\n", b"AUTH PLAIN AGEAYg==\r\n", b"RSET\r\n"]
    actual, end = play(script, client)
    assert isinstance(end, Failed)
    mismatch = end.mismatch
    assert (mismatch.expected_index, mismatch.actual_index, mismatch.file_line) == (6, 6, 8)
    assert mismatch.expected == Line(C, b"QUIT\r\n")
    assert compare(load(SESSION), actual) == mismatch, "as if compared from the start"


def test_a_long_run_of_lines_that_match_nothing_is_crossed() -> None:
    # Each step compares only a little past the conversation's length; 40 "<nothing>"
    # stand-ins match no line at all, so the step must look past that cut.
    text = "S: 220 x\nC: NOOP\n" + "S: <nothing>\n" * 40 + "C: QUIT\nS: 221 bye\n"
    actual, end = play(ReplayScript(load(text)), [b"NOOP\r\n", b"QUIT\r\n"])
    assert end == Done()
    assert actual[-1] == Line(S, b"221 bye\r\n")


def test_the_server_waits_while_the_client_has_said_only_part_of_its_turn() -> None:
    script = ReplayScript(load(SESSION))
    actual, step = play(script, [b"EHLO laptop\r\n"])
    assert isinstance(step, Await)
    assert actual[-1].data == b"250 SMTPUTF8\r\n"


def test_unrecorded_replies_are_stood_in_for_and_nothing_is_nothing() -> None:
    text = "S: 220 x\nC: DATA\nS: 354 go\nC: <message> .\nS: <250 not printed>\nC: QUIT\n"
    script = ReplayScript(load(text + "S: <nothing>\n"))
    actual, end = play(script, [b"DATA\r\n", b"Subject: x\r\n", b".\r\n", b"QUIT\r\n"])
    assert end == Done()
    server = [line.data for line in actual if line.direction is S]
    stand_in = b"250 smtprig replay: the transcript did not record this reply\r\n"
    assert server == [b"220 x\r\n", b"354 go\r\n", stand_in]


def test_a_transcript_without_its_greeting_is_known() -> None:
    assert ReplayScript(read(next(CORPUS.glob("02_*.txt")))).greeting_missing
    assert not ReplayScript(load(SESSION)).greeting_missing


def test_a_mismatch_can_be_made_for_a_timeout_at_the_current_line() -> None:
    script = ReplayScript(load(SESSION))
    actual, _ = play(script, [])
    mismatch = script.mismatch(actual, "timeout", "the client sent nothing for 1 s")
    assert (mismatch.matcher, mismatch.file_line) == ("timeout", 3)
    assert "matcher 'timeout' failed: the client sent nothing for 1 s" in str(mismatch)
    assert script.mismatch(list(load(SESSION).lines), "tls", "x").expected is None


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("# tls: none\n# port: 465\nS: 220 x\n", TLSMode.NONE),
        ("# --- TLS handshake ---\nS: 220 x\nC: EHLO x\n", TLSMode.IMPLICIT),
        ("S: 220 x\nC: STARTTLS\nS: 220 go\n# --- TLS handshake ---\n", TLSMode.STARTTLS),
        ("# port: 465 (implicit TLS)\nS: 220 x\n", TLSMode.IMPLICIT),
        ("# port: 587\nS: 220 x\n", TLSMode.STARTTLS),
        ("# port: 25\nS: 220 x\n", TLSMode.STARTTLS),
        ("# listener: smtps\nS: 220 x\n", TLSMode.IMPLICIT),
        ("# listener: submission\nS: 220 x\n", TLSMode.STARTTLS),
        ("# port: 2525\nS: 220 x\n", TLSMode.NONE),
        ("S: 220 x\n", TLSMode.NONE),
    ],
)
def test_the_tls_mode_is_read_from_the_transcript(text: str, mode: TLSMode) -> None:
    assert transcript_tls(load(text)) is mode


@pytest.mark.parametrize(
    "path",
    sorted(p for p in CORPUS.glob("*.txt") if "_465_" in p.name or "_587_" in p.name),
    ids=lambda path: path.stem,
)
def test_every_capture_implies_the_mode_its_port_has(path: Path) -> None:
    expected = TLSMode.IMPLICIT if "_465_" in path.name else TLSMode.STARTTLS
    assert transcript_tls(read(path)) is expected


def test_fresh_values_replace_the_session_id_timestamp_and_client_address() -> None:
    fresh = FreshValues("fresh-0123456789asm1.2", "127.0.0.1", lambda: 1800000000.5)
    recorded = [
        b"220 smtp.gmail.com ESMTP d9443c01a7336-22fc75468e4sm22683125ad.44 - gsmtp\r\n",
        b"250-smtp.gmail.com at your service, [2a02:8071:4586:a540:58cd:ed39:e7d7:959c]\r\n",
        b"250 2.0.0 OK  1746829334 d9443c01a7336-22fc75468e4sm22683125ad.44 - gsmtp\r\n",
        b"250-SIZE 35882577\r\n",
        b"S~ caf\xe9\n",
    ]
    rendered = [fresh.render(Line(S, data)) for data in recorded]
    assert rendered == [
        b"220 smtp.gmail.com ESMTP fresh-0123456789asm1.2 - gsmtp\r\n",
        b"250-smtp.gmail.com at your service, [127.0.0.1]\r\n",
        b"250 2.0.0 OK  1800000000 fresh-0123456789asm1.2 - gsmtp\r\n",
        b"250-SIZE 35882577\r\n",
        b"S~ caf\xe9\n",
    ]
    for before, after in zip(recorded, rendered, strict=True):
        assert compare([Line(S, before)], [Line(S, after)]) is None, "only what may differ"


@pytest.mark.parametrize(
    ("line", "size"),
    [
        (b"BDAT 30304 LAST\r\n", 30304),
        (b"bdat 5\r\n", 5),
        (b"BDAT 0 LAST\n", 0),
        (b"BDAT\r\n", None),
        (b"BDAT x\r\n", None),
        (b"DATA\r\n", None),
    ],
)
def test_bdat_sizes(line: bytes, size: int | None) -> None:
    assert bdat_size(line) == size


def test_commands_and_reply_codes() -> None:
    assert is_command(b"starttls\r\n", b"STARTTLS")
    assert is_command(b"STARTTLS\n", b"STARTTLS")
    assert not is_command(b"STARTTLS", b"STARTTLS"), "a partial line is no command yet"
    assert not is_command(b"STARTTLS now\r\n", b"STARTTLS")
    assert reply_code(b"250-SIZE 1\r\n") == (b"250", False)
    assert reply_code(b"250 OK\r\n") == (b"250", True)
    assert reply_code(b"334\r\n") == (b"334", True)
    assert reply_code(b"hello\r\n") is None


def test_an_empty_transcript_is_done_at_once() -> None:
    assert ReplayScript(Transcript((), ())).step([]) == Done()
