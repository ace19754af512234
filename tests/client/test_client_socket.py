"""The blocking driver against a scripted server on real sockets.

The scripted server decides exactly how replies reach the wire: one byte per write, multi-line
replies split at any point, several replies in one write, stalls, resets. Each script also
checks what the client sent, byte for byte.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import socket
import threading
import time
from email.message import EmailMessage

import pytest

from client import (
    ConnectionLostError,
    LocalProtocolError,
    PermanentReplyError,
    RemoteProtocolError,
    Reply,
    SendResult,
    SMTPClient,
    SMTPTimeoutError,
    TransientReplyError,
)
from client.protocol import ClientState, Command, Verb
from client.transcript import Line, Recorder
from tests.support.client_testkit import Peer, Script, ScriptedServer

GREETING = b"220 smtp.example ESMTP ready\r\n"
EHLO_REPLY = (
    b"250-smtp.example at your service, [127.0.0.1]\r\n"
    b"250-SIZE 35882577\r\n"
    b"250-8BITMIME\r\n"
    b"250-AUTH LOGIN PLAIN XOAUTH2\r\n"
    b"250-ENHANCEDSTATUSCODES\r\n"
    b"250 SMTPUTF8\r\n"
)
EHLO_PIPELINING = EHLO_REPLY.replace(b"250 SMTPUTF8", b"250-PIPELINING\r\n250 SMTPUTF8")
EHLO_LINE = b"EHLO [127.0.0.1]\r\n"


def connect(
    server: ScriptedServer,
    *,
    timeout_s: float = 5.0,
    recorder: Recorder | None = None,
    read_greeting: bool = True,
) -> SMTPClient:
    return SMTPClient.connect(
        "127.0.0.1",
        server.port,
        timeout_s=timeout_s,
        recorder=recorder,
        read_greeting=read_greeting,
    )


def greet(peer: Peer, ehlo_reply: bytes = EHLO_REPLY) -> None:
    peer.send(GREETING)
    peer.expect(EHLO_LINE)
    peer.send(ehlo_reply)


def conversation(recorder: Recorder) -> list[tuple[str, bytes]]:
    return [
        (entry.direction.value, entry.data)
        for entry in recorder.transcript().entries
        if isinstance(entry, Line)
    ]


def test_every_reply_dripped_one_byte_at_a_time() -> None:
    def script(peer: Peer) -> None:
        peer.drip(GREETING)
        peer.expect(EHLO_LINE)
        peer.drip(EHLO_REPLY)
        peer.expect(b"MAIL FROM:<a@example.test>\r\n")
        peer.drip(b"250 2.1.0 OK\r\n")
        peer.expect(b"RCPT TO:<b@example.test>\r\n")
        peer.drip(b"250 2.1.5 OK\r\n")
        peer.expect(b"DATA\r\n")
        peer.drip(b"354 Go ahead\r\n")
        assert peer.read_data() == b"Hello, world\r\n.\r\n"
        peer.drip(b"250-2.0.0 OK\r\n250 2.0.0 queued as 1234\r\n")
        peer.expect(b"QUIT\r\n")
        peer.drip(b"221 2.0.0 closing connection\r\n")

    with ScriptedServer(script) as server, connect(server) as client:
        assert client.greeting == Reply(220, ("smtp.example ESMTP ready",))
        client.ehlo()
        assert client.capabilities is not None
        assert client.capabilities.auth_mechanisms == ("LOGIN", "PLAIN", "XOAUTH2")
        assert client.mail("a@example.test").lines == ("2.1.0 OK",)
        client.rcpt("b@example.test")
        assert client.data().code == 354
        final = client.message_data(b"Hello, world")
        assert final.lines == ("2.0.0 OK", "2.0.0 queued as 1234")
        assert client.quit().code == 221
        assert client.closed


def test_a_multi_line_reply_split_at_every_point() -> None:
    def split_at(point: int) -> Script:
        def script(peer: Peer) -> None:
            peer.send(GREETING)
            peer.expect(EHLO_LINE)
            peer.send(EHLO_REPLY[:point])
            peer.send(EHLO_REPLY[point:])
            peer.expect(b"QUIT\r\n")
            peer.send(b"221 bye\r\n")

        return script

    points = range(1, len(EHLO_REPLY))
    with ScriptedServer(*(split_at(point) for point in points)) as server:
        for point in points:
            with connect(server) as client:
                reply = client.ehlo()
                assert b"".join(reply.wire) == EHLO_REPLY, f"split at {point}"
                assert client.capabilities is not None
                assert client.capabilities.smtputf8


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "a@example.test"
    mail["To"] = "b@example.test, c@example.test"
    mail["Subject"] = "pipelined"
    mail.set_content("hi\n")
    return mail


def test_pipelined_replies_written_in_one_segment() -> None:
    def script(peer: Peer) -> None:
        greet(peer, EHLO_PIPELINING)
        for expected in (b"MAIL FROM:<a@example.test>", b"RCPT TO:<b@example.test>"):
            assert peer.read_line().startswith(expected)
        peer.expect(b"RCPT TO:<c@example.test>\r\n")
        peer.expect(b"DATA\r\n")
        # Four replies in one write: the client must take them apart.
        peer.send(b"250 2.1.0 OK\r\n250 2.1.5 OK\r\n550 5.1.1 no such user\r\n354 Go ahead\r\n")
        assert peer.read_data().endswith(b"\r\nhi\r\n.\r\n")
        peer.send(b"250 2.0.0 OK\r\n")
        peer.expect(b"QUIT\r\n")
        peer.send(b"221 closing\r\n")

    recorder = Recorder()
    with ScriptedServer(script) as server, connect(server, recorder=recorder) as client:
        result = client.send_message(message())
        assert result.accepted == ("b@example.test",)
        assert result.refused == (("c@example.test", Reply(550, ("5.1.1 no such user",))),)
        assert result.reply == Reply(250, ("2.0.0 OK",))
    directions = "".join(direction for direction, _ in conversation(recorder))
    assert "CCCCSSSS" in directions


def test_a_221_written_before_quit_was_sent_is_a_protocol_error() -> None:
    # RFC 5321 §4.2: a reply follows its command. A 221 that came with the end of data's 250
    # answers nothing; taking it as QUIT's reply would hide a server that is out of step.
    def script(peer: Peer) -> None:
        greet(peer)
        peer.expect(b"NOOP\r\n")
        peer.send(b"250 2.0.0 OK\r\n221 2.0.0 closing early\r\n")
        peer.wait_closed()

    with ScriptedServer(script) as server, connect(server) as client:
        client.ehlo()
        client.noop()
        with pytest.raises(RemoteProtocolError, match="came before 'QUIT' was sent"):
            client.quit()
        assert client.closed


def test_send_messages_pipelines_each_end_of_data_with_the_next_envelope() -> None:
    envelope_ok = b"250 2.1.0 OK\r\n250 2.1.5 OK\r\n354 Go ahead\r\n"

    def expect_envelope(peer: Peer) -> None:
        assert peer.read_line().startswith(b"MAIL FROM:<a@example.test>")
        peer.expect(b"RCPT TO:<b@example.test>\r\n")
        peer.expect(b"DATA\r\n")

    def script(peer: Peer) -> None:
        greet(peer, EHLO_PIPELINING)
        expect_envelope(peer)
        peer.send(envelope_ok)
        for index in range(3):
            assert peer.read_data() == b"m%d\r\n.\r\n" % index
            if index < 2:
                # The next envelope comes before this message's 250 is sent: one round trip
                # per message. A client that waited for the 250 would time this script out.
                expect_envelope(peer)
                peer.send(b"250 2.0.0 OK\r\n" + envelope_ok)
            else:
                peer.send(b"250 2.0.0 OK\r\n")
        peer.expect(b"QUIT\r\n")
        peer.send(b"221 bye\r\n")

    with ScriptedServer(script) as server, connect(server) as client:
        results = client.send_messages(
            [b"m0", b"m1", b"m2"], sender="a@example.test", recipients=["b@example.test"]
        )
        assert [result.reply for result in results if isinstance(result, SendResult)] == [
            Reply(250, ("2.0.0 OK",))
        ] * 3


def test_no_pipelining_when_the_server_does_not_offer_it() -> None:
    def script(peer: Peer) -> None:
        greet(peer)
        for reply in (b"250 OK\r\n", b"250 OK\r\n", b"250 OK\r\n", b"354 go\r\n"):
            assert peer.buffered() == b""
            peer.read_line()
            peer.send(reply)
        peer.read_data()
        peer.send(b"250 OK\r\n")
        peer.expect(b"QUIT\r\n")
        peer.send(b"221 bye\r\n")

    recorder = Recorder()
    with ScriptedServer(script) as server, connect(server, recorder=recorder) as client:
        client.send_message(message())
    directions = "".join(direction for direction, _ in conversation(recorder))
    # Greeting, EHLO and its 6 lines, then strictly one command, one reply.
    assert directions[8:16] == "CSCSCSCS"


def test_a_stalled_server_times_out_within_the_bound() -> None:
    released = threading.Event()

    def script(peer: Peer) -> None:
        peer.send(GREETING)
        peer.expect(EHLO_LINE)
        peer.wait_closed()
        released.set()

    with ScriptedServer(script) as server:
        client = connect(server, timeout_s=0.2)
        started = time.monotonic()
        with pytest.raises(SMTPTimeoutError) as caught:
            client.ehlo()
        assert time.monotonic() - started < 2.0
        assert isinstance(caught.value, TimeoutError)
        assert caught.value.timeout_s == 0.2
        assert client.closed
    assert released.is_set()


def test_a_reply_dripped_too_slowly_times_out_as_a_whole() -> None:
    done = threading.Event()

    def script(peer: Peer) -> None:
        peer.send(GREETING)
        peer.expect(EHLO_LINE)
        # A byte every 50 ms would take 10 s for this reply; the client allows 0.3 s in all.
        for index in range(len(EHLO_REPLY)):
            if done.wait(0.05):
                return
            try:
                peer.send(EHLO_REPLY[index : index + 1])
            except OSError:
                return

    with ScriptedServer(script) as server:
        client = connect(server, timeout_s=0.3)
        started = time.monotonic()
        with pytest.raises(SMTPTimeoutError):
            client.ehlo()
        done.set()
        assert time.monotonic() - started < 2.0


def test_a_ten_megabyte_reply_line_is_a_clear_error() -> None:
    def script(peer: Peer) -> None:
        peer.send(GREETING)
        peer.expect(EHLO_LINE)
        with contextlib.suppress(OSError):  # the client hangs up, as it should
            peer.send(b"250-" + b"x" * (10 * 2**20))

    with ScriptedServer(script) as server:
        client = connect(server)
        with pytest.raises(RemoteProtocolError, match="longer than 8192 octets"):
            client.ehlo()
        assert client.closed
        assert client.state is ClientState.ERROR


def test_the_server_closing_mid_reply() -> None:
    def script(peer: Peer) -> None:
        peer.send(GREETING)
        peer.expect(EHLO_LINE)
        peer.send(b"250-smtp.example\r\n250 SIZ")

    with ScriptedServer(script) as server:
        client = connect(server)
        with pytest.raises(ConnectionLostError) as caught:
            client.ehlo()
        assert caught.value.command == Command(Verb.EHLO, "EHLO [127.0.0.1]")
        assert caught.value.partial == b"250-smtp.example\r\n250 SIZ"
        assert client.closed


def test_nobody_listening() -> None:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    with pytest.raises(ConnectionLostError, match="cannot connect"):
        SMTPClient.connect("127.0.0.1", port, timeout_s=5.0)


def test_a_refusing_greeting_is_raised_and_the_connection_closed() -> None:
    def script(peer: Peer) -> None:
        peer.send(b"554 5.7.1 no service for you\r\n")
        assert peer.wait_closed() == b""

    with ScriptedServer(script) as server, pytest.raises(PermanentReplyError) as caught:
        connect(server)
    assert caught.value.command.verb is Verb.GREETING
    assert caught.value.reply.code == 554


def test_a_refused_command_carries_reply_and_command_and_the_session_goes_on() -> None:
    def script(peer: Peer) -> None:
        greet(peer)
        peer.expect(b"MAIL FROM:<a@example.test>\r\n")
        peer.send(b"250 OK\r\n")
        peer.expect(b"RCPT TO:<nobody@example.test>\r\n")
        peer.send(
            b"550-5.1.1 The email account that you tried to reach does\r\n550 5.1.1 not exist.\r\n"
        )
        peer.expect(b"RSET\r\n")
        peer.send(b"250 2.1.5 Flushed\r\n")
        peer.expect(b"QUIT\r\n")
        peer.send(b"221 bye\r\n")

    with ScriptedServer(script) as server, connect(server) as client:
        client.ehlo()
        client.mail("a@example.test")
        with pytest.raises(PermanentReplyError) as caught:
            client.rcpt("nobody@example.test")
        assert caught.value.reply.code == 550
        assert str(caught.value.reply.enhanced_status) == "5.1.1"
        assert caught.value.command == Command(Verb.RCPT, "RCPT TO:<nobody@example.test>")
        assert "does\nnot exist" in caught.value.reply.message
        assert not client.closed
        client.rset()


def test_421_raises_transient_and_closes() -> None:
    def script(peer: Peer) -> None:
        greet(peer)
        peer.expect(b"MAIL FROM:<a@example.test>\r\n")
        peer.send(b"421 4.3.0 Temporary System Problem. Try again later.\r\n")

    with ScriptedServer(script) as server, connect(server) as client:
        client.ehlo()
        with pytest.raises(TransientReplyError):
            client.mail("a@example.test")
        assert client.closed


def test_a_reply_the_command_cannot_get_closes_the_connection() -> None:
    def script(peer: Peer) -> None:
        greet(peer)
        peer.expect(b"MAIL FROM:<a@example.test>\r\n")
        peer.send(b"354 go ahead\r\n")

    with ScriptedServer(script) as server, connect(server) as client:
        client.ehlo()
        with pytest.raises(RemoteProtocolError, match="not a valid reply"):
            client.mail("a@example.test")
        assert client.closed


def test_all_recipients_refused_raises_the_first_refusal_after_rset() -> None:
    def script(peer: Peer) -> None:
        greet(peer)
        assert peer.read_line().startswith(b"MAIL FROM:<a@example.test> SIZE=")
        peer.send(b"250 OK\r\n")
        for _ in range(2):
            peer.read_line()
            peer.send(b"550 5.1.1 unknown\r\n")
        peer.expect(b"RSET\r\n")
        peer.send(b"250 flushed\r\n")
        peer.expect(b"QUIT\r\n")
        peer.send(b"221 bye\r\n")

    with ScriptedServer(script) as server, connect(server) as client:
        with pytest.raises(PermanentReplyError) as caught:
            client.send_message(message())
        assert caught.value.command.text == "RCPT TO:<b@example.test>"
        assert client.state is ClientState.READY


def test_injected_bytes_after_starttls_are_refused() -> None:
    def script(peer: Peer) -> None:
        greet(peer, EHLO_REPLY.replace(b"250-8BITMIME", b"250-STARTTLS"))
        peer.expect(b"STARTTLS\r\n")
        peer.send(b"220 Ready to start TLS\r\n250-AUTH PLAIN\r\n")
        peer.wait_closed()

    with ScriptedServer(script) as server, connect(server) as client:
        client.ehlo()
        with pytest.raises(RemoteProtocolError, match="after 220"):
            client.starttls()
        assert client.closed


def test_a_long_xoauth2_token_goes_after_the_empty_challenge() -> None:
    token = "t" * 600

    def script(peer: Peer) -> None:
        greet(peer)
        # RFC 4954 §4: the AUTH line would pass 512 octets, so no initial response on it.
        peer.expect(b"AUTH XOAUTH2\r\n")
        peer.send(b"334 \r\n")
        assert len(peer.read_line()) > 512
        peer.send(b"235 2.7.0 Accepted\r\n")
        peer.expect(b"QUIT\r\n")
        peer.send(b"221 bye\r\n")

    recorder = Recorder()
    with ScriptedServer(script) as server, connect(server, recorder=recorder) as client:
        client.ehlo()
        assert client.auth_xoauth2("a@example.test", token).code == 235
    assert ("C", b"<redacted>\r\n") in conversation(recorder)
    assert token.encode() not in b"".join(data for _, data in conversation(recorder))


def test_an_unexpected_sasl_challenge_is_cancelled() -> None:
    def script(peer: Peer) -> None:
        greet(peer)
        peer.expect(b"AUTH PLAIN " + base64.b64encode(b"\0a\0c") + b"\r\n")
        peer.send(b"334 more please\r\n")
        peer.expect(b"*\r\n")
        peer.send(b"501 5.7.0 Auth aborted\r\n")
        peer.wait_closed()

    with ScriptedServer(script) as server, connect(server) as client:
        client.ehlo()
        with pytest.raises(RemoteProtocolError, match="no answer"):
            client.auth_plain("a", "c")
        assert client.closed


def test_raw_mode_sends_exactly_what_it_is_given() -> None:
    def script(peer: Peer) -> None:
        # Spoken before the greeting: an early talker.
        peer.expect(b"EHLO early\n")
        peer.send(GREETING + b"250 hello early talker\r\n")
        burst = b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"
        assert peer.read_line() + peer.read_line() == burst
        peer.send(b"250 OK\r\n250 OK\r\n")
        assert len(peer.read_line()) == 2002
        peer.send(b"500 5.5.2 Line too long\r\n")
        peer.wait_closed()

    with ScriptedServer(script) as server:
        client = connect(server, read_greeting=False)
        with client:
            assert client.state is ClientState.RAW
            client.send_bytes(b"EHLO early\n")
            assert client.read_reply().code == 220
            assert client.read_reply().lines == ("hello early talker",)
            client.send_bytes(b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n")
            assert [client.read_reply().code for _ in range(2)] == [250, 250]
            client.send_bytes(b"NOOP " + b"x" * 1995 + b"\r\n")
            assert client.read_reply().code == 500
            with pytest.raises(LocalProtocolError, match="RAW"):
                client.noop()
        # No QUIT in raw mode: the script saw the close right after the 500.


def test_raw_read_reply_times_out_with_its_own_bound() -> None:
    def script(peer: Peer) -> None:
        peer.send(GREETING)
        peer.wait_closed()

    with ScriptedServer(script) as server, connect(server, read_greeting=False) as client:
        assert client.read_reply().code == 220
        with pytest.raises(SMTPTimeoutError):
            client.read_reply(timeout_s=0.1)


def test_raw_read_reply_reports_the_close() -> None:
    def script(peer: Peer) -> None:
        peer.send(b"220-partial\r\n")

    with ScriptedServer(script) as server, connect(server, read_greeting=False) as client:
        with pytest.raises(ConnectionLostError) as caught:
            client.read_reply()
        assert caught.value.partial == b"220-partial\r\n"


def test_the_context_manager_sends_quit_and_closes() -> None:
    def script(peer: Peer) -> None:
        greet(peer)
        peer.expect(b"QUIT\r\n")
        peer.send(b"221 bye\r\n")
        assert peer.wait_closed() == b""

    recorder = Recorder()
    with ScriptedServer(script) as server:
        with connect(server, recorder=recorder) as client:
            client.ehlo()
        assert client.closed
        assert client.state is ClientState.CLOSED
    assert recorder.transcript().entries[-1].kind == "closed"  # type: ignore[union-attr]


def test_the_context_manager_keeps_the_block_error_when_quit_fails() -> None:
    def script(peer: Peer) -> None:
        greet(peer)

    def block(server: ScriptedServer) -> None:
        with connect(server) as client:
            client.ehlo()
            raise KeyError("from the block")

    with ScriptedServer(script) as server, pytest.raises(KeyError):
        block(server)


def test_an_unclosed_client_warns() -> None:
    def script(peer: Peer) -> None:
        peer.send(GREETING)
        peer.wait_closed()

    with ScriptedServer(script) as server:
        client = connect(server)

        def forget() -> None:
            nonlocal client
            del client
            gc.collect()

        with pytest.warns(ResourceWarning, match="unclosed"):
            forget()


def test_a_closed_client_does_not_warn() -> None:
    def script(peer: Peer) -> None:
        peer.send(GREETING)
        peer.wait_closed()

    with ScriptedServer(script) as server:
        client = connect(server)
        client.close()
        del client
        gc.collect()


def test_a_local_error_closes_the_connection_and_sends_nothing() -> None:
    def script(peer: Peer) -> None:
        peer.send(GREETING)
        assert peer.wait_closed() == b""

    with ScriptedServer(script) as server, connect(server) as client:
        with pytest.raises(LocalProtocolError, match="allowed in READY"):
            client.mail("a@example.test")
        assert client.closed


def test_the_ehlo_name_defaults_to_our_address_literal() -> None:
    def script(peer: Peer) -> None:
        peer.send(GREETING)
        peer.expect(b"EHLO client.example\r\n")
        peer.send(b"250 ok\r\n")
        peer.expect(b"HELO [127.0.0.1]\r\n")
        peer.send(b"250 ok\r\n")
        peer.expect(b"QUIT\r\n")
        peer.send(b"221 bye\r\n")

    with ScriptedServer(script) as server, connect(server) as client:
        assert client.local_hostname == "[127.0.0.1]"
        client.ehlo("client.example")
        client.helo()


def test_send_message_falls_back_to_helo_when_ehlo_is_refused() -> None:
    def script(peer: Peer) -> None:
        peer.send(GREETING)
        peer.expect(EHLO_LINE)
        peer.send(b"502 5.5.1 Unrecognized command.\r\n")
        peer.expect(b"HELO [127.0.0.1]\r\n")
        peer.send(b"250 old.example\r\n")
        # No SIZE, no 8BITMIME, no PIPELINING after HELO: plain MAIL, one command at a time.
        peer.expect(b"MAIL FROM:<a@example.test>\r\n")
        peer.send(b"250 OK\r\n")
        for _ in range(2):
            peer.read_line()
            peer.send(b"250 OK\r\n")
        peer.expect(b"DATA\r\n")
        peer.send(b"354 go\r\n")
        peer.read_data()
        peer.send(b"250 OK\r\n")
        peer.expect(b"QUIT\r\n")
        peer.send(b"221 bye\r\n")

    with ScriptedServer(script) as server, connect(server) as client:
        result = client.send_message(message())
        assert result.accepted == ("b@example.test", "c@example.test")


def test_a_server_refusing_both_ehlo_and_helo() -> None:
    def script(peer: Peer) -> None:
        peer.send(GREETING)
        for _ in range(2):
            peer.read_line()
            peer.send(b"554 5.7.1 go away\r\n")
        peer.expect(b"QUIT\r\n")
        peer.send(b"221 bye\r\n")

    with ScriptedServer(script) as server, connect(server) as client:
        with pytest.raises(PermanentReplyError) as caught:
            client.identify()
        assert caught.value.command.verb is Verb.HELO
