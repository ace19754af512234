"""The raw client against servers that misbehave: every one ends in a clear, typed error within
the client's timeout, never a hang and never an unbounded read.

Each misbehaviour is tried where it hurts most: instead of the greeting, instead of the EHLO
reply (step by step), and under raw mode's ``read_reply``. The scripted servers are those of the
client tests (``tests/support/client_testkit.py``), on 127.0.0.1 port 0.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
import tracemalloc
from collections.abc import Callable

import pytest

from client import (
    ConnectionLostError,
    RemoteProtocolError,
    SMTPClient,
    SMTPError,
    SMTPTimeoutError,
    TLSNegotiationError,
)
from client.cli import main
from tests.support.client_testkit import WAIT_S, Peer, ScriptedServer

TIMEOUT_S = 0.3
SLACK_S = 2.0
GREETING = b"220 smtp.example ESMTP ready\r\n"
TEN_MEGABYTES = b"250-" + b"x" * (10 * 2**20)
MANY_LINES = b"250-x\r\n" * 100_000
BINARY = bytes(range(256)) * 4


def _stall(peer: Peer) -> None:
    peer.wait_closed()  # says nothing until the client gives up


def _send(data: bytes) -> Callable[[Peer], None]:
    def misbehave(peer: Peer) -> None:
        with contextlib.suppress(OSError):  # a client that gave up early is right to
            peer.send(data)
            peer.wait_closed()

    return misbehave


def _close_after(data: bytes) -> Callable[[Peer], None]:
    def misbehave(peer: Peer) -> None:
        peer.send(data)

    return misbehave


def _reset(peer: Peer) -> None:
    # SO_LINGER with a zero timeout: the close sends RST.
    peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


MISBEHAVIOURS: dict[str, tuple[Callable[[Peer], None], type[SMTPError]]] = {
    "garbage-line": (_send(b"\x00\x01 this is not SMTP\r\n"), RemoteProtocolError),
    "binary-garbage": (_send(BINARY), RemoteProtocolError),
    "an-http-server": (_send(b"HTTP/1.1 400 Bad Request\r\n\r\n"), RemoteProtocolError),
    "code-changes-mid-reply": (_send(b"250-first\r\n354 second\r\n"), RemoteProtocolError),
    "reply-code-out-of-range": (_send(b"299 made up\r\n"), RemoteProtocolError),
    "ten-megabyte-line": (_send(TEN_MEGABYTES), RemoteProtocolError),
    "hundred-thousand-line-reply": (_send(MANY_LINES), RemoteProtocolError),
    "stall": (_stall, SMTPTimeoutError),
    "stall-mid-line": (_send(b"25"), SMTPTimeoutError),
    "stall-mid-reply": (_send(b"250-smtp.example\r\n"), SMTPTimeoutError),
    "close": (_close_after(b""), ConnectionLostError),
    "close-mid-line": (_close_after(b"250-smtp"), ConnectionLostError),
    "close-mid-reply": (_close_after(b"250-smtp.example\r\n"), ConnectionLostError),
    "reset": (_reset, ConnectionLostError),
}

WHERE = ["instead-of-the-greeting", "instead-of-the-ehlo-reply", "under-raw-read-reply"]


def _script(where: str, misbehave: Callable[[Peer], None]) -> Callable[[Peer], None]:
    def script(peer: Peer) -> None:
        if where == "instead-of-the-ehlo-reply":
            peer.send(GREETING)
            peer.read_line()
        misbehave(peer)

    return script


def _exercise(port: int, where: str) -> None:
    """Runs the client as far as the misbehaviour, which must raise."""
    if where == "under-raw-read-reply":
        client = SMTPClient.connect("127.0.0.1", port, timeout_s=TIMEOUT_S, read_greeting=False)
        try:
            client.read_reply()
        finally:
            client.close()
    else:
        with SMTPClient.connect("127.0.0.1", port, timeout_s=TIMEOUT_S) as client:
            client.ehlo()


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("name", MISBEHAVIOURS)
def test_a_misbehaving_server_gets_a_typed_error_in_time(name: str, where: str) -> None:
    misbehave, error = MISBEHAVIOURS[name]
    with ScriptedServer(_script(where, misbehave)) as server:
        started = time.monotonic()
        tracemalloc.start()
        try:
            with pytest.raises(error):
                _exercise(server.port, where)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT_S + SLACK_S, f"the client took {elapsed:.2f} s"
    # The client reads in bounded pieces and gives up past its limits (client.protocol.wire).
    assert peak < 2 * 2**20, f"the client held {peak} bytes of a bad reply"


def _read_client_hello(peer: Peer) -> None:
    """Reads the client's first TLS record whole, so that closing next sends FIN, not RST."""
    header = _read_exactly(peer.sock, 5)
    _read_exactly(peer.sock, int.from_bytes(header[3:5], "big"))


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:  # each turn reads at least a byte or fails (socket timeout)
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise AssertionError(f"the client closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def _hello_then(then: Callable[[Peer], None]) -> Callable[[Peer], None]:
    def misbehave(peer: Peer) -> None:
        _read_client_hello(peer)
        then(peer)

    return misbehave


TLS_MISBEHAVIOURS: dict[str, tuple[Callable[[Peer], None], type[SMTPError]]] = {
    "answers-in-clear-text": (_send(GREETING), TLSNegotiationError),
    "sends-binary-garbage": (_send(BINARY), TLSNegotiationError),
    "never-answers-the-client-hello": (_stall, SMTPTimeoutError),
    "closes-during-the-handshake": (_hello_then(_close_after(b"")), TLSNegotiationError),
    "resets-during-the-handshake": (_hello_then(_reset), ConnectionLostError),
}


@pytest.mark.parametrize("name", TLS_MISBEHAVIOURS)
def test_a_misbehaving_tls_server_gets_a_typed_error_in_time(name: str) -> None:
    misbehave, error = TLS_MISBEHAVIOURS[name]
    context = ssl.create_default_context()
    with ScriptedServer(misbehave) as server:
        started = time.monotonic()
        with pytest.raises(error):
            SMTPClient.connect(
                "127.0.0.1", server.port, implicit_tls=True, ssl_context=context,
                timeout_s=TIMEOUT_S,
            )  # fmt: skip
        elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT_S + SLACK_S, f"the client took {elapsed:.2f} s"


def _envelope_up_to_data(peer: Peer) -> None:
    """Greets, takes EHLO (no PIPELINING), MAIL, RCPT and DATA, and accepts each but DATA."""
    peer.send(GREETING)
    assert peer.read_line().startswith(b"EHLO ")
    peer.send(b"250 smtp.example\r\n")
    assert peer.read_line().startswith(b"MAIL FROM:<a@example.test>")
    peer.send(b"250 2.1.0 OK\r\n")
    peer.expect(b"RCPT TO:<b@example.test>\r\n")
    peer.send(b"250 2.1.5 OK\r\n")
    peer.expect(b"DATA\r\n")


def _refuse_after_the_dot(peer: Peer) -> None:
    with contextlib.suppress(OSError):  # the client may have given up already
        peer.read_data()
        peer.send(b"554 5.7.0 refused after the dot\r\n")
        peer.wait_closed()


def test_a_250_written_with_the_354_fails_smtpclient_send(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Issue 16 finding 5: "354 go ahead" and "250 2.0.0 OK early" in one write, 554 after the
    # dot. The 250 answers nothing (the end of data was not sent yet): a protocol error.
    def script(peer: Peer) -> None:
        _envelope_up_to_data(peer)
        peer.send(b"354 go ahead\r\n250 2.0.0 OK early\r\n")
        _refuse_after_the_dot(peer)

    with ScriptedServer(script) as server:
        status = main(
            ["send", "--host", "127.0.0.1", "--port", str(server.port), "--tls", "none",
             "--timeout", str(WAIT_S), "--from", "a@example.test", "--to", "b@example.test",
             "--body", "hi"]
        )  # fmt: skip
    captured = capsys.readouterr()
    assert status == 1, captured.out
    assert "250 2.0.0 OK early" in captured.err
    assert "before" in captured.err


def test_a_reply_waiting_unread_before_the_end_of_data_is_caught() -> None:
    # The early 250 comes in a write of its own, after the client has read the 354 and before
    # it sends the data: the client must look at what arrived before it writes.
    took_354 = threading.Event()
    sent_early = threading.Event()

    def script(peer: Peer) -> None:
        _envelope_up_to_data(peer)
        peer.send(b"354 go ahead\r\n")
        if not took_354.wait(WAIT_S):
            raise AssertionError("the client never took the 354")
        peer.send(b"250 2.0.0 OK early\r\n")
        peer.wait_delivered()
        sent_early.set()
        _refuse_after_the_dot(peer)

    with (
        ScriptedServer(script) as server,
        SMTPClient.connect("127.0.0.1", server.port, timeout_s=WAIT_S) as client,
    ):
        client.ehlo()
        client.mail("a@example.test")
        client.rcpt("b@example.test")
        assert client.data().code == 354
        took_354.set()
        assert sent_early.wait(WAIT_S)
        with pytest.raises(RemoteProtocolError, match="before") as caught:
            client.message_data(b"Subject: early\r\n\r\nhi\r\n")
        assert caught.value.reply is not None
        assert caught.value.reply.code == 250
        assert client.closed


def test_send_messages_takes_no_early_250_for_a_pipelined_message() -> None:
    def script(peer: Peer) -> None:
        peer.send(GREETING)
        assert peer.read_line().startswith(b"EHLO ")
        peer.send(b"250-smtp.example\r\n250 PIPELINING\r\n")
        assert peer.read_line().startswith(b"MAIL FROM:<a@example.test>")
        peer.expect(b"RCPT TO:<b@example.test>\r\n")
        peer.expect(b"DATA\r\n")
        peer.send(b"250 2.1.0 OK\r\n250 2.1.5 OK\r\n354 go ahead\r\n250 2.0.0 OK early\r\n")
        _refuse_after_the_dot(peer)

    with ScriptedServer(script) as server:
        with SMTPClient.connect("127.0.0.1", server.port, timeout_s=WAIT_S) as client:
            results = client.send_messages(
                [b"m0", b"m1"], sender="a@example.test", recipients=["b@example.test"]
            )
        assert [type(result) for result in results] == [RemoteProtocolError] * 2
