"""How ``fakeserver serve`` writes its live log: in batches from the server's loop, at once
from elsewhere, nothing lost when it stops."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, cast

from client.transcript.model import Direction, Line
from fakeserver.cli.live import FLUSH_EVERY_S, HumanLog, LiveOutput
from fakeserver.session.records import SessionView
from tests.support.serveproc import EPHEMERAL, ServeProcess


class Stream(io.StringIO):
    """Keeps each write apart, as a pipe would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)


def opened(first: str = "") -> tuple[Stream, LiveOutput]:
    """A live output on a :class:`Stream`, opened with ``first``."""
    stream = Stream()
    output = LiveOutput(stream)
    output.open(first)
    return stream, output


def test_lines_from_the_loop_are_written_together_soon_after() -> None:
    stream, output = opened("ready\n")

    async def log_a_burst() -> list[str]:
        for number in range(3):
            output.write(f"line {number}\n")
            await asyncio.sleep(0)  # a command per turn of the loop, as without pipelining
        written_at_once = list(stream.writes)
        await asyncio.sleep(FLUSH_EVERY_S * 5)
        return written_at_once

    assert asyncio.run(log_a_burst()) == ["ready\n"]
    assert stream.writes == ["ready\n", "line 0\nline 1\nline 2\n"]


def test_lines_from_other_threads_are_written_at_once_and_in_order() -> None:
    stream = Stream()
    output = LiveOutput(stream)
    output.write("before the ready line\n")
    assert stream.writes == [], "nothing comes before open()"
    output.open("ready\n")
    output.write("after\n")
    assert stream.writes == ["ready\nbefore the ready line\n", "after\n"]


def test_close_writes_what_a_stopped_loop_left() -> None:
    stream, output = opened()

    async def log_and_stop() -> None:
        output.write("the last line\n")

    asyncio.run(log_and_stop())  # the loop ends before its flush was due
    assert "the last line\n" not in stream.writes
    output.close()
    assert stream.writes[-1] == "the last line\n"
    output.close()
    assert stream.writes.count("the last line\n") == 1, "written once"


def test_a_thread_writing_while_the_loop_gathers_keeps_the_order() -> None:
    stream, output = opened()

    async def interleave() -> None:
        output.write("from the loop\n")
        thread = threading.Thread(target=output.write, args=("from a thread\n",))
        thread.start()
        thread.join(timeout=5)
        await asyncio.sleep(FLUSH_EVERY_S * 5)

    asyncio.run(interleave())
    assert "".join(stream.writes) == "from the loop\nfrom a thread\n"


def test_serve_prints_a_connection_closed_by_the_stop_before_it_says_stopped(
    tmp_path: Path,
) -> None:
    with ServeProcess(*EPHEMERAL, "--certs-dir", "certs", cwd=tmp_path) as server:
        smtps = server.expect(r"implicit TLS \(like 465\): (\S+) port (\d+)")
        server.expect(r"^Ready in [\d.]+ ms")
        context = ssl.create_default_context(cafile=str(tmp_path / "certs" / "ca.pem"))
        plain = socket.create_connection((smtps[1], int(smtps[2])), timeout=5)
        with context.wrap_socket(plain, server_hostname="localhost") as tls:
            assert tls.recv(1024).startswith(b"220 ")
            server.expect(r"\[1\] S: 220 ")
            started = time.monotonic()
            assert server.stop() == 0  # with the connection still open
        assert time.monotonic() - started < 10
    lines = server.text.splitlines()
    closed = next(i for i, line in enumerate(lines) if line.startswith("[1] closed"))
    assert closed < lines.index("stopped")


class _View:
    number = 7


def test_the_live_log_hides_a_body_but_not_what_the_server_says_inside_it() -> None:
    stream, output = opened()
    log, view = HumanLog(output), cast(SessionView, _View())  # it reads .number only
    said = [
        (Direction.CLIENT, b"DATA\r\n"),
        (Direction.SERVER, b"354 Go ahead\r\n"),
        (Direction.CLIENT, b"Subject: secret plans\r\n"),
        (Direction.SERVER, b"451 4.4.2 Timeout - closing connection.\r\n"),  # a fault's
        (Direction.CLIENT, b".\r\n"),
        (Direction.CLIENT, b"QUIT\r\n"),
    ]
    for direction, data in said:
        log.on_line(view, Line(direction, data))
    output.close()
    assert "".join(stream.writes).splitlines() == [
        "[7] C: DATA",
        "[7] S: 354 Go ahead",
        "[7] S: 451 4.4.2 Timeout - closing connection.",
        "[7] C: .",
        "[7] C: QUIT",
    ]


def test_serve_goes_on_quietly_when_the_reader_of_its_log_goes_away(tmp_path: Path) -> None:
    # As `fakeserver serve --json | head -1` does: read the ready line, then close the pipe.
    command = [sys.executable, "-m", "fakeserver", "serve", "--json", *EPHEMERAL,
               "--http", "127.0.0.1:0", "--certs-dir", "certs"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        process.stdout.close()
        context = ssl.create_default_context(cafile=ready["cafile"])
        for number in range(3):  # the log's lines now meet a closed pipe
            with smtplib.SMTP_SSL(*_address(ready), context=context, timeout=10) as client:
                client.login("tester@gmail.com", "app-password")
                client.sendmail(
                    "tester@gmail.com", ["a@example.org"], f"Subject: {number}\r\n\r\nhi\r\n"
                )
            time.sleep(FLUSH_EVERY_S * 3)
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 0
    assert errors == ""


def _address(ready: dict[str, Any]) -> tuple[str, int]:
    return ready["smtps"]["host"], ready["smtps"]["port"]
