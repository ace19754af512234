"""Issue 16's floods and bodies: a client that pipelines thousands of commands, a body made of
dot lines, the SIZE boundary (RFC 1870), a body dripped a byte at a time, and the memory a
large message costs.

No test here times anything: each checks an order of events (the bystander is answered
before the flood is), a structure (what a transcript keeps), a boundary, a cut that must come
within a bounded wait, or a peak measured by tracemalloc.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.session.ledger import BODY_RECORDED_LINES, BODY_RECORDED_OCTETS
from tests.support.rawsmtp import RawSMTP
from tests.support.wire import Stage, closed, expect, open_at


def _flood_commands(gmail: FakeGmail) -> int | None:
    """How many commands the first connection has sent so far, while it is open."""
    for record in gmail.open_sessions:
        if record.info.connection_id == 1:
            return len(record.commands)
    return None


def _until_settled(gmail: FakeGmail) -> int | None:
    """The flood's command count once it stops growing (polled, at most 30 s)."""
    last = _flood_commands(gmail)
    for _ in range(100):
        time.sleep(0.3)
        now = _flood_commands(gmail)
        if now == last:
            return now
        last = now
    return last


def test_a_pipelined_flood_that_is_never_read_does_not_hold_other_clients(
    gmail: FakeGmail,
) -> None:
    flood = 350_000  # the probe's NOOPs in one write, the replies never read
    flooder = socket.socket()
    flooder.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    flooder.settimeout(5)
    with flooder:
        flooder.connect(gmail.submission)
        assert flooder.recv(512).startswith(b"220 ")

        def send_flood() -> None:
            with contextlib.suppress(OSError):  # blocks once the server stops reading
                flooder.sendall(b"NOOP\r\n" * flood)

        threading.Thread(target=send_flood, daemon=True).start()
        for _ in range(1000):
            if _flood_commands(gmail):
                break
            time.sleep(0.005)
        with RawSMTP(gmail.submission) as bystander:
            expect(bystander.reply(), "220 ")
            expect(bystander.command("EHLO bystander.example"), "250-smtp.gmail.com")
        when_served = _flood_commands(gmail)
        settled = _until_settled(gmail)
    assert when_served is not None
    assert settled is not None
    # Before, the server worked through every buffered command in one turn of its loop (and
    # joined the held replies quadratically): the bystander waited 2-11 s, and was served only
    # after the flood had settled, if its reads did not time out first.
    assert when_served < settled, "the bystander waited for the flood to settle"
    # The server stops reading a client that does not read its replies: its memory is bounded.
    assert settled < flood // 2


def test_a_pipelined_flood_that_is_read_is_answered_in_turns(gmail: FakeGmail) -> None:
    flood = 20_000
    received = 0
    done = threading.Event()
    flooder = RawSMTP(gmail.submission)
    expect(flooder.reply(), "220 ")

    def read_replies() -> None:
        nonlocal received
        for _ in range(flood):
            if not flooder.reply():
                break
            received += 1
        done.set()

    reader = threading.Thread(target=read_replies, daemon=True)
    with flooder:
        flooder.send(b"EHLO flood.example\r\n" * flood)
        reader.start()
        with RawSMTP(gmail.submission) as bystander:
            expect(bystander.reply(), "220 ")
            expect(bystander.command("EHLO bystander.example"), "250-smtp.gmail.com")
        answered_meanwhile = received
        assert done.wait(60), "the flood was never answered"
        reader.join(5)
    assert received == flood
    assert answered_meanwhile < flood, "the bystander waited for the whole flood"


def test_a_body_of_dot_lines_is_read_whole_and_recorded_in_part(gmail: FakeGmail) -> None:
    lines = 700_000  # 2.1 MB of data lines that are a single dot, stuffed as ".."
    with open_at(gmail, Stage.DATA) as raw:
        raw.send(b"..\r\n" * lines + b".\r\n")
        expect(raw.reply(), r"250 2\.0\.0 OK ")
        raw.command("QUIT")
    [message] = gmail.outbox.wait_for(1)
    assert message.raw == b".\r\n" * lines
    [transcript] = gmail.wait_for_transcripts(1)
    data = [line.data for line in transcript.lines if line.data in (b"..\r\n", b".\r\n")]
    # Before, every one of the 700,000 lines was a transcript entry (an object each); 256 KiB
    # of them would still be 65,536.
    assert data == [b"..\r\n"] * BODY_RECORDED_LINES + [b".\r\n"]
    assert 4 * BODY_RECORDED_LINES <= BODY_RECORDED_OCTETS
    left_out = [line.data for line in transcript.lines if b"not recorded" in line.data]
    omitted = 4 * (lines - BODY_RECORDED_LINES)
    assert left_out == [f"<{omitted} more octets of the message data, not recorded>\r\n".encode()]


@pytest.fixture
def small(tmp_path: Path) -> Iterator[FakeGmail]:
    """A fake Gmail whose size limit is 1,000 octets."""
    persona = tmp_path / "small.toml"
    persona.write_text('extends = "gmail"\n[persona]\nname = "small"\nsize_limit = 1000\n')
    with FakeGmail(ServerOptions(persona=persona, seed=1)) as server:
        yield server
        server.check()


def _message(octets: int, *, dotted: bool) -> bytes:
    """A message of exactly ``octets`` octets (RFC 1870 counts them unstuffed), in 10-octet
    lines that start with a dot when ``dotted``."""
    line = (b"." if dotted else b"x") + b"y" * 7 + b"\r\n"
    whole, rest = divmod(octets, len(line))
    if not rest:
        return line * whole
    return line * (whole - 1) + b"z" * (len(line) + rest - 2) + b"\r\n"


@pytest.mark.parametrize(
    "dotted", [False, True], ids=["plain-lines", "lines-that-start-with-a-dot"]
)
def test_a_message_of_exactly_size_octets_is_taken_by_data(small: FakeGmail, dotted: bool) -> None:
    for octets, reply in ((1000, r"250 2\.0\.0 OK "), (1001, r"552-5\.3\.4 ")):
        content = _message(octets, dotted=dotted)
        assert len(content) == octets
        stuffed = content.replace(b"\r\n.", b"\r\n..")
        stuffed = b"." + stuffed if stuffed.startswith(b".") else stuffed
        with open_at(small, Stage.RCPT) as raw:
            expect(raw.command("DATA"), "354 ")
            raw.send(stuffed + b".\r\n")
            expect(raw.reply(), reply)
    [message] = small.outbox.wait_for(1)
    assert message.raw == _message(1000, dotted=dotted)


def test_a_message_of_exactly_size_octets_is_taken_by_bdat_and_announced_by_mail(
    small: FakeGmail,
) -> None:
    with open_at(small, Stage.AUTHED) as raw:
        expect(raw.command("MAIL FROM:<tester@gmail.com> SIZE=1000"), "250 ")
        expect(raw.command("RCPT TO:<friend@example.org>"), "250 ")
        raw.send(b"BDAT 1000 LAST\r\n" + b"x" * 998 + b"\r\n")
        expect(raw.reply(), r"250 2\.0\.0 OK ")
        expect(raw.command("MAIL FROM:<tester@gmail.com> SIZE=1001"), r"552-5\.3\.4 ")


def test_a_body_dripped_a_byte_at_a_time_is_cut() -> None:
    gmail = FakeGmail(ServerOptions(idle_timeout_s=0.5, seed=1))
    with gmail, open_at(gmail, Stage.DATA) as raw:
        stop = threading.Event()

        def drip() -> None:
            # One octet every 0.1 s, and never the end of a line: bytes, not progress.
            for _ in range(200):
                if stop.wait(0.1):
                    return
                try:
                    raw.send(b"x")
                except OSError:
                    return

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        try:
            # Before, every byte moved the idle timer and the connection was never cut.
            expect(raw.reply(), r"451 4\.4\.2 Timeout - closing connection\. ")
            assert closed(raw)
        finally:
            stop.set()
            dripper.join(5)


@pytest.mark.parametrize("one_line", [False, True], ids=["80-octet-lines", "all-on-one-line"])
def test_a_large_message_costs_little_more_than_its_bytes(gmail: FakeGmail, one_line: bool) -> None:
    size = 6 * 1024 * 1024
    body = b"y" * (size - 2) + b"\r\n" if one_line else (b"y" * 78 + b"\r\n") * (size // 80)
    sent = body + b".\r\n"  # made before tracing starts: the client's copy is not the server's
    with open_at(gmail, Stage.RCPT) as raw:
        expect(raw.command("DATA"), "354 ")
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            raw.send(sent)
            expect(raw.reply(), r"250 2\.0\.0 OK ")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # The message itself is one copy, written piece by piece into one buffer that becomes the
    # message. Before: a second copy when the pieces were joined, and on one long line a third,
    # the transcript gathering the line piece by piece (and copying it each time) until it ended.
    assert peak - before < 1.5 * len(body), f"{(peak - before) / len(body):.2f} times the message"
