"""Slow clients: silence is cut by the idle timeout with Gmail's 451 4.4.2, and a crowd of
idle connections does not keep a working client from sending.

Gmail sends ``451 4.4.2 Timeout - closing connection.`` unsolicited after about ten idle
minutes (replies.md §12.5 [V3+]); here the timeout is a fraction of a second. Sleeps appear
only as the *input* of a test (a client that drips bytes); every wait is bounded.
"""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Iterator

import pytest

from client import SMTPClient
from fakeserver.server.fake import FakeGmail, ServerOptions
from tests.support.rawsmtp import RawSMTP
from tests.support.wire import Stage, expect, open_at, still_serves, stop_and_check

IDLE_S = 0.3
CUT_WITHIN_S = IDLE_S + 1.5
"""An idle connection must be cut by then (the timeout plus scheduling slack)."""
TIMEOUT_REPLY = r"451 4\.4\.2 Timeout - closing connection\. [0-9a-f]{12,13}-"


@pytest.fixture
def impatient() -> Iterator[FakeGmail]:
    with FakeGmail(ServerOptions(idle_timeout_s=IDLE_S, seed=8)) as server:
        yield server


def _starttls(gmail: FakeGmail) -> RawSMTP:
    raw = open_at(gmail, Stage.SUBMISSION_EHLO)
    expect(raw.command("STARTTLS"), r"220 2\.0\.0 Ready to start TLS\r\n")
    raw.starttls(gmail.client_context())
    return raw


def _mid_sasl(gmail: FakeGmail) -> RawSMTP:
    raw = open_at(gmail, Stage.EHLO)
    expect(raw.command("AUTH LOGIN"), r"334 VXNlcm5hbWU6\r\n")
    return raw


def _mid_body(gmail: FakeGmail) -> RawSMTP:
    raw = open_at(gmail, Stage.DATA)
    raw.send(b"Subject: stalled\r\n\r\nhalf a li")
    return raw


def _mid_chunk(gmail: FakeGmail) -> RawSMTP:
    raw = open_at(gmail, Stage.RCPT)
    raw.send(b"BDAT 100 LAST\r\nten bytes.")
    return raw


SILENT_AT = {
    "after-the-greeting-in-clear-text": lambda gmail: open_at(gmail, Stage.SUBMISSION),
    "after-ehlo-in-clear-text": lambda gmail: open_at(gmail, Stage.SUBMISSION_EHLO),
    "after-the-starttls-handshake": _starttls,
    "logged-in-over-implicit-tls": lambda gmail: open_at(gmail, Stage.AUTHED),
    "at-the-username-prompt": _mid_sasl,
    "in-the-middle-of-a-body-line": _mid_body,
    "in-the-middle-of-a-bdat-chunk": _mid_chunk,
}


@pytest.mark.parametrize("where", SILENT_AT)
def test_a_silent_client_gets_451_then_the_close(impatient: FakeGmail, where: str) -> None:
    started = time.monotonic()
    with SILENT_AT[where](impatient) as raw:
        expect(raw.reply(), TIMEOUT_REPLY)
        assert raw.closed_by_server()
    elapsed = time.monotonic() - started
    assert elapsed < CUT_WITHIN_S, f"cut after {elapsed:.2f} s"
    stop_and_check(impatient)
    assert impatient.messages == []


def test_a_client_that_drips_bytes_without_finishing_a_command_is_cut(
    impatient: FakeGmail,
) -> None:
    with open_at(impatient, Stage.EHLO) as raw:
        raw.sock.settimeout(IDLE_S / 3)
        started = time.monotonic()
        drip = iter(b"NOOP" + b" slowly" * 100)
        # The drip is the input: one byte every third of the idle timeout.
        while time.monotonic() - started < CUT_WITHIN_S:
            try:
                if raw.sock.recv(1024):
                    return  # the server said something: its 451
            except TimeoutError:
                raw.send(bytes([next(drip)]))
        pytest.fail(f"still connected after {CUT_WITHIN_S} s of a byte every {IDLE_S / 3} s")


def test_a_client_that_never_starts_tls_on_the_implicit_port_is_cut(
    impatient: FakeGmail,
) -> None:
    with socket.create_connection(impatient.smtps, timeout=CUT_WITHIN_S) as sock:
        try:
            assert sock.recv(1024) == b""
        except TimeoutError:
            pytest.fail(f"a silent TCP connection was still open after {CUT_WITHIN_S} s")


CROWD = 1000


@pytest.fixture
def enough_files() -> None:
    """Room for the crowd, both ends of each connection in this one process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * CROWD + 256
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.fail(f"open files are limited to {hard}; this test needs {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.mark.usefixtures("enough_files")
def test_a_thousand_idle_connections_do_not_stop_a_working_client(gmail: FakeGmail) -> None:
    crowd: list[RawSMTP] = []
    try:
        for _ in range(CROWD):
            crowd.append(open_at(gmail, Stage.SUBMISSION))
        # A whole submission through the crowd, with the client's usual per-step bound.
        with SMTPClient.connect(
            *gmail.submission, ssl_context=gmail.client_context(), tls_hostname="localhost",
            timeout_s=10.0,
        ) as client:  # fmt: skip
            client.ehlo()
            client.starttls()
            client.auth_plain(*gmail.credentials)
            client.send_message(
                b"Subject: through the crowd\r\n\r\nhi\r\n",
                sender="tester@gmail.com",
                recipients=["friend@example.org"],
            )
        assert [m.message["Subject"] for m in gmail.outbox.wait_for(1)] == ["through the crowd"]
        for raw in crowd:  # every idle connection is still there and still answers
            still_serves(raw)
    finally:
        for raw in crowd:
            raw.close()
