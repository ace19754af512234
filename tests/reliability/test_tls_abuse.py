"""TLS misuse: STARTTLS twice, STARTTLS followed by anything but a handshake, commands injected
behind STARTTLS, and garbage where the implicit-TLS port expects a ClientHello.

Each ends in a reply or a clean close within the bound, with nothing raised in the server
thread and a bystander connection unaffected.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator

import pytest

from client.transcript import dump
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.session.records import EndReason
from tests.support.rawsmtp import RawSMTP
from tests.support.wire import (
    PLAIN_BLOB,
    Stage,
    expect,
    open_at,
    still_serves,
    stop_and_check,
)

READY = r"220 2\.0\.0 Ready to start TLS\r\n"
WAIT_S = 5.0


@pytest.fixture
def lenient() -> Iterator[FakeGmail]:
    with FakeGmail(ServerOptions(strict=False, seed=8)) as server:
        yield server


def _to_starttls(gmail: FakeGmail, then: bytes = b"", *, timeout_s: float = WAIT_S) -> RawSMTP:
    raw = open_at(gmail, Stage.SUBMISSION_EHLO)
    try:
        raw.sock.settimeout(timeout_s)
        raw.send(b"STARTTLS\r\n" + then)
        expect(raw.reply(), READY)
        raw.sock.settimeout(WAIT_S)
    except BaseException:
        raw.close()
        raise
    return raw


def _drained_to_eof(sock: socket.socket) -> bool:
    """Reads until the server closes (an alert may come first); False if it never does."""
    sock.settimeout(WAIT_S)
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, ssl.SSLError):
        pass
    except TimeoutError:
        return False
    return True


def test_starttls_twice_gets_454(lenient: FakeGmail) -> None:
    with _to_starttls(lenient) as raw:
        raw.starttls(lenient.client_context())
        expect(raw.command("EHLO client.example"), r"250-smtp\.gmail\.com")
        # replies.md §5 [DOC]: "454 5.5.1 STARTTLS may not be repeated." (not observed)
        expect(raw.command("STARTTLS"), r"454 5\.5\.1 STARTTLS may not be repeated\. ")
        still_serves(raw)
    stop_and_check(lenient)


@pytest.mark.parametrize(
    "instead",
    [
        b"EHLO client.example\r\n",  # replies.md §5 [V1]: Gmail drops the connection
        b"\x16\x03\x01\x00\x05hello",  # a TLS record header, then nonsense
        bytes(range(256)) * 8,
        b"\x80\x09\x01\x00\x02\x00\x00\x00\x00\x00\x00",  # an SSLv2-style hello, whole
    ],
    ids=["plain-text", "tls-record-of-nonsense", "binary-garbage", "sslv2-hello"],
)
def test_anything_but_a_handshake_after_starttls_is_dropped(
    lenient: FakeGmail, instead: bytes
) -> None:
    with open_at(lenient, Stage.AUTHED) as bystander:
        with _to_starttls(lenient) as raw:
            raw.send(instead)
            assert _drained_to_eof(raw.sock), "the server kept the connection"
        [failed] = lenient.wait_for_sessions(1)
        assert failed.ended is EndReason.TLS_FAILED
        still_serves(bystander)
    stop_and_check(lenient)


def test_a_client_that_leaves_instead_of_the_handshake(lenient: FakeGmail) -> None:
    with _to_starttls(lenient):
        pass
    lenient.wait_for_sessions(1)
    stop_and_check(lenient)


def test_commands_injected_behind_starttls_are_discarded(lenient: FakeGmail) -> None:
    # RFC 3207 §4.2 (the STARTTLS command injection): what came in clear text behind STARTTLS
    # must not be answered as if it had come over TLS.
    injected = b"EHLO evil\r\nAUTH PLAIN " + PLAIN_BLOB + b"\r\nMAIL FROM:<evil@example.net>\r\n"
    with _to_starttls(lenient, injected, timeout_s=1.0) as raw:
        raw.starttls(lenient.client_context())
        still_serves(raw)  # the first reply after the handshake answers our NOOP
        expect(raw.command("MAIL FROM:<a@example.org>"), r"530-5\.7\.0 Authentication Required")
    [transcript] = lenient.wait_for_transcripts(1)
    text = dump(transcript)
    assert "discarded" in text
    assert PLAIN_BLOB.decode() not in text
    stop_and_check(lenient)


def _client_hello() -> bytes:
    """A real ClientHello, made in memory."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    hello = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        hello.do_handshake()
    return outgoing.read()


IMPLICIT_GARBAGE: dict[str, Callable[[], bytes]] = {
    "nothing-then-close": lambda: b"",
    "half-a-client-hello": lambda: _client_hello()[:40],
    "a-client-hello-twice": lambda: _client_hello() * 2,
    "a-16-kb-record-of-nonsense": lambda: b"\x16\x03\x03\x40\x00" + b"\x00" * 16384,
    "binary-garbage": lambda: bytes(range(256)) * 16,
    "an-http-request": lambda: b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
}


@pytest.mark.parametrize("name", IMPLICIT_GARBAGE)
def test_garbage_on_the_implicit_tls_port_is_dropped(lenient: FakeGmail, name: str) -> None:
    with open_at(lenient, Stage.AUTHED) as bystander:
        with socket.create_connection(lenient.smtps, timeout=WAIT_S) as sock:
            sock.sendall(IMPLICIT_GARBAGE[name]())
            sock.shutdown(socket.SHUT_WR)
            assert _drained_to_eof(sock), "the server kept the connection"
        [failed] = lenient.wait_for_sessions(1)
        assert failed.ended is EndReason.TLS_FAILED  # a session, which says why
        still_serves(bystander)
    stop_and_check(lenient)


def test_a_tls_goodbye_in_the_middle_of_a_session(lenient: FakeGmail) -> None:
    raw = open_at(lenient, Stage.MAIL)
    assert isinstance(raw.sock, ssl.SSLSocket)
    plain = raw.sock.unwrap()  # close_notify, then the connection is clear text again
    with plain:
        plain.sendall(b"RCPT TO:<a@example.org>\r\n")  # not TLS any more: must not be read
        assert _drained_to_eof(plain), "the server kept the connection"
    lenient.wait_for_sessions(1)
    stop_and_check(lenient)
    assert lenient.messages == []
