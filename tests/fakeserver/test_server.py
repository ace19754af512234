"""The server over real sockets and real TLS: bytes on the wire, the outbox, the lifecycle."""

from __future__ import annotations

import base64
import dataclasses
import mailbox
import re
import socket
import ssl
from pathlib import Path
from typing import cast

import pytest

from client.transcript import Direction, Line, dump
from fakeserver.errors import ConfigurationError, ServerThreadError, UnexpectedCommand
from fakeserver.personas.loader import load_persona
from fakeserver.personas.model import Listener
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.server.observers import BaseObserver, Observer, hooks
from fakeserver.session.accounts import Account
from fakeserver.session.records import CapturedMessage, SessionRecord, SessionView
from fakeserver.transport.loop import bind
from fakeserver.transport.tls import generate
from tests.support.rawsmtp import RawSMTP

ID = rb"[0-9a-f]{12,13}-[0-9a-f]{11}sm[0-9]+[0-9a-z]{0,4}\.[0-9]{1,3}"
PLAIN_BLOB = base64.b64encode(b"\0tester@gmail.com\0app-password").decode()


def smtps(gmail: FakeGmail) -> RawSMTP:
    raw = RawSMTP(gmail.smtps, context=gmail.client_context())
    assert raw.reply()[0].startswith(b"220 smtp.gmail.com ESMTP ")
    return raw


def authenticated(gmail: FakeGmail) -> RawSMTP:
    raw = smtps(gmail)
    raw.command("EHLO client.example")
    assert raw.command(f"AUTH PLAIN {PLAIN_BLOB}") == [b"235 2.7.0 Accepted\r\n"]
    return raw


def test_greeting_and_ehlo_byte_for_byte_on_both_ports(gmail: FakeGmail) -> None:
    with smtps(gmail) as raw:
        reply = b"".join(raw.command("EHLO client.example"))
        assert reply == (
            b"250-smtp.gmail.com at your service, [127.0.0.1]\r\n250-SIZE 35882577\r\n"
            b"250-8BITMIME\r\n250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n"
            b"250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n"
        )
    with RawSMTP(gmail.submission) as raw:
        [greeting] = raw.reply()
        session_id = re.fullmatch(rb"220 smtp.gmail.com ESMTP (" + ID + rb") - gsmtp\r\n", greeting)
        assert session_id is not None
        assert b"250-STARTTLS\r\n" in b"".join(raw.command("EHLO client.example"))
        assert raw.command("STARTTLS") == [b"220 2.0.0 Ready to start TLS\r\n"]
        raw.starttls(gmail.client_context())
        reply = b"".join(raw.command("EHLO client.example"))
        assert b"250-AUTH LOGIN" in reply
        assert b"STARTTLS" not in reply
        # One session id per connection, kept across STARTTLS (replies.md §1).
        assert raw.command("NOOP") == [b"250 2.0.0 OK " + session_id[1] + b" - gsmtp\r\n"]


def test_auth_is_refused_before_starttls(gmail: FakeGmail) -> None:
    with RawSMTP(gmail.submission) as raw:
        raw.reply()
        raw.command("EHLO x")
        assert raw.text(f"AUTH PLAIN {PLAIN_BLOB}").startswith(
            "530-5.7.0 Must issue a STARTTLS command first."
        )


def test_pipelined_commands_get_their_replies_in_order(gmail: FakeGmail) -> None:
    with authenticated(gmail) as raw:
        raw.send(
            b"MAIL FROM:<tester@gmail.com>\r\nRCPT TO:<a@example.org>\r\nRCPT TO:<>\r\n"
            b"RCPT TO:<b@example.org>\r\nDATA\r\n"
        )
        codes = [raw.reply()[-1][:3] for _ in range(5)]
        assert codes == [b"250", b"250", b"555", b"250", b"354"]
        raw.send(b"Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        assert raw.reply()[0].startswith(b"250 2.0.0 OK  ")
        assert raw.reply()[0].startswith(b"221 2.0.0 closing connection ")
    [message] = gmail.outbox.wait_for(1)
    assert message.recipients == ("a@example.org", "b@example.org")


def test_bare_lf_command_lines_are_accepted(gmail: FakeGmail) -> None:
    with smtps(gmail) as raw:
        assert raw.command(b"HELO maurom.com\n") == [b"250 smtp.gmail.com at your service\r\n"]
        assert raw.command(b"NOOP\n")[0].startswith(b"250 2.0.0 OK ")


def test_lf_dot_lf_does_not_end_data_but_crlf_dot_crlf_does(gmail: FakeGmail) -> None:
    body = (
        b"Subject: smuggling\r\n\r\nI am typing here\n.\nstill data\r\n.\rstill\r\n"
        b"\n.\r\nstill\r\n..leading dot\r\n"
    )
    with authenticated(gmail) as raw:
        raw.command("MAIL FROM:<tester@gmail.com>")
        raw.command("RCPT TO:<a@example.org>")
        assert raw.command("DATA")[0].startswith(b"354 Go ahead ")
        raw.send(body + b".\r\n")
        assert re.fullmatch(rb"250 2\.0\.0 OK  \d{10} " + ID + rb" - gsmtp\r\n", raw.read_line())
    [message] = gmail.outbox.wait_for(1)
    # RFC 5321 §4.5.2: a leading dot is removed from every line that has more than the dot.
    assert message.raw == body.replace(b"\r\n.", b"\r\n")


def test_bdat_chunks_are_captured(gmail: FakeGmail) -> None:
    with authenticated(gmail) as raw:
        raw.command("MAIL FROM:<tester@gmail.com>")
        raw.command("RCPT TO:<a@example.org>")
        for command, chunk in ((b"BDAT %d", b"Subject: x\r\n\r\n"), (b"BDAT %d LAST", b"chunked")):
            reply = raw.command(command % len(chunk) + b"\r\n" + chunk)
            assert reply[0].startswith(b"250 2.0.0 OK ")
    [message] = gmail.outbox.wait_for(1)
    assert message.raw == b"Subject: x\r\n\r\nchunked"


def test_an_over_long_command_line_is_refused_and_closed(gmail: FakeGmail) -> None:
    with smtps(gmail) as raw:
        reply = raw.text(b"NOOP " + b"x" * 5000 + b"\r\n")
        assert reply.startswith("555-5.5.2 Syntax error, command line too long\r\n")
        assert raw.closed_by_server()
    with smtps(gmail) as other:
        assert other.text("NOOP").startswith("250 2.0.0 OK")


def test_an_over_long_sasl_response_is_refused_and_closed(gmail: FakeGmail) -> None:
    with smtps(gmail) as raw:
        raw.command("EHLO x")
        assert raw.command("AUTH LOGIN") == [b"334 VXNlcm5hbWU6\r\n"]
        assert raw.text(b"A" * 100_000 + b"\r\n").startswith("555-5.5.2")
        assert raw.closed_by_server()


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x01\x02\r\n",
        b"\xff\xfe\xfd invalid utf-8\r\n",
        b"\r\n",
        b"EHLO \xc3\x28\r\n",
        b"MAIL FROM:<\x00@x>\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(32)) + b"\r\n",
        b"AUTH PLAIN " + b"=" * 50 + b"\r\n",
        b"BDAT -1\r\n",
        b"QUIT now please\r\n",
    ],
)
def test_garbage_gets_an_smtp_answer_never_a_traceback(garbage: bytes) -> None:
    with FakeGmail(ServerOptions(strict=False)) as gmail, smtps(gmail) as raw:
        raw.command("EHLO x")
        reply = raw.command(garbage)
        assert reply, "the server answered"
        for line in reply:
            assert re.fullmatch(rb"[2-5]\d\d[ -].*\r\n", line), line
            assert b"Traceback" not in line
            assert b"Error:" not in line
        assert gmail.errors == []
        with smtps(gmail) as other:
            assert other.text("NOOP").startswith("250")


def test_an_unknown_command_fails_the_test_when_strict(gmail: FakeGmail) -> None:
    with smtps(gmail) as raw:
        assert raw.text("HELLO there").startswith("502 5.5.1 Unrecognized command.")
    with pytest.raises(ServerThreadError, match=r"unrecognized command b'HELLO there'") as caught:
        gmail.check()
    assert isinstance(caught.value.errors[0], UnexpectedCommand)


def test_tls_garbage_on_the_implicit_port_is_dropped_quietly(gmail: FakeGmail) -> None:
    with socket.create_connection(gmail.smtps, timeout=5) as sock:
        sock.sendall(b"EHLO this is not TLS\r\n")
        assert sock.recv(100) == b""
    assert gmail.errors == []


def test_idle_connections_get_451_then_close() -> None:
    with FakeGmail(ServerOptions(idle_timeout_s=0.2)) as gmail, smtps(gmail) as raw:
        reply = raw.reply()
        assert re.fullmatch(
            rb"451 4\.4\.2 Timeout - closing connection\. " + ID + rb" - gsmtp\r\n", reply[0]
        )
        assert raw.closed_by_server()


def test_outbox_keeps_envelope_raw_bytes_and_session_facts(gmail: FakeGmail) -> None:
    with authenticated(gmail) as raw:
        raw.command("MAIL FROM:<tester@gmail.com> SIZE=40")
        raw.command("RCPT TO:<a@example.org>")
        raw.command("DATA")
        raw.command(b"Subject: facts\r\nX-Test: 1\r\n\r\nnon-ASCII: \xc3\xa9\r\n.\r\n")
    [message] = gmail.outbox.wait_for(1)
    assert message.envelope.mail_options == ("SIZE=40",)
    assert message.message["Subject"] == "facts"
    assert message.session.listener is Listener.SMTPS
    assert message.session.user == "tester@gmail.com"
    assert message.session.auth_mechanism == "PLAIN"
    assert message.session.helo_name == "client.example"
    assert message.session.tls_version in {"TLSv1.2", "TLSv1.3"}
    assert message.session.peer[0] == "127.0.0.1"


def test_wait_for_says_how_many_arrived(gmail: FakeGmail) -> None:
    with pytest.raises(TimeoutError, match=r"waited 0\.05 s for 1 message"):
        gmail.outbox.wait_for(1, timeout_s=0.05)


def test_maildir_gets_every_message(tmp_path: Path) -> None:
    with FakeGmail(ServerOptions(maildir=tmp_path / "mail")) as gmail, authenticated(gmail) as raw:
        raw.command("MAIL FROM:<tester@gmail.com>")
        raw.command("RCPT TO:<a@example.org>")
        raw.command("DATA")
        assert raw.text(b"Subject: stored\r\n\r\nhi\r\n.\r\n").startswith("250")
    [stored] = mailbox.Maildir(tmp_path / "mail", create=False)
    assert stored["Subject"] == "stored"


def test_transcripts_redact_auth(gmail: FakeGmail) -> None:
    with smtps(gmail) as raw:
        raw.command("EHLO x")
        raw.command("AUTH LOGIN")
        raw.command(base64.b64encode(b"tester@gmail.com") + b"\r\n")
        raw.command(base64.b64encode(b"app-password") + b"\r\n")
        raw.command(f"AUTH PLAIN {PLAIN_BLOB}")
        raw.command("QUIT")
    text = _wait_for_transcript(gmail)
    assert "C: AUTH LOGIN\n" in text
    assert "C: <redacted>\n" in text
    for secret in ("app-password", base64.b64encode(b"app-password").decode(), PLAIN_BLOB):
        assert secret not in text


def test_a_closed_connections_transcript_is_whole_and_made_once(gmail: FakeGmail) -> None:
    with authenticated(gmail) as raw:
        raw.command("MAIL FROM:<tester@gmail.com>")
        raw.command("RCPT TO:<friend@example.org>")
        raw.command("DATA")
        assert raw.text("Subject: hi\r\n\r\none\r\ntwo\r\n.").startswith("250 ")
        raw.command("QUIT")
    [record] = gmail.wait_for_sessions(1)
    transcript = record.transcript
    assert transcript is not None
    assert transcript is record.transcript, "made when first read, then kept"
    client = [line.data for line in transcript.lines if line.direction is Direction.CLIENT]
    assert client[-6:] == [b"Subject: hi\r\n", b"\r\n", b"one\r\n", b"two\r\n", b".\r\n",
                           b"QUIT\r\n"]  # fmt: skip
    assert transcript.entries[-1].kind == "closed"  # type: ignore[union-attr]
    assert gmail.transcripts == [transcript]


def _wait_for_transcript(gmail: FakeGmail) -> str:
    return dump(gmail.wait_for_transcripts(1)[-1])


def test_pipelined_secrets_are_never_recorded(gmail: FakeGmail) -> None:
    secret = base64.b64encode(b"app-password")
    with smtps(gmail) as raw:
        raw.command("EHLO x")
        # A client that does not wait for the 334 prompts (against RFC 4954).
        raw.send(
            b"AUTH LOGIN\r\n" + base64.b64encode(b"tester@gmail.com") + b"\r\n" + secret + b"\r\n"
        )
        assert [raw.reply()[0][:3] for _ in range(3)] == [b"334", b"334", b"235"]
        raw.command("QUIT")
    assert secret.decode() not in _wait_for_transcript(gmail)


def test_server_errors_reach_the_test_thread() -> None:
    class Broken(BaseObserver):
        def on_open(self, session: SessionView) -> None:
            raise ValueError("observer bug")

    with FakeGmail(observers=[Broken()]) as gmail:
        with smtps(gmail) as raw:
            assert raw.text("NOOP").startswith("250"), "an observer bug never breaks a connection"
        with pytest.raises(ServerThreadError, match="ValueError: observer bug"):
            gmail.check()
        gmail.check()  # errors are forgotten once raised


class _Lines(BaseObserver):
    def __init__(self, *, message_data: bool) -> None:
        self.watches_message_data = message_data
        self.lines: list[bytes] = []

    def on_line(self, session: SessionView, line: Line) -> None:
        self.lines.append(line.data)


def _send_one(observers: list[BaseObserver]) -> FakeGmail:
    with FakeGmail(observers=observers) as gmail:
        with authenticated(gmail) as raw:
            raw.command("MAIL FROM:<tester@gmail.com>")
            raw.command("RCPT TO:<friend@example.org>")
            assert raw.command("DATA")[0].startswith(b"354 ")
            assert raw.command("Subject: hi\r\n\r\nline one\r\nline two\r\n.")[0][:4] == b"250 "
        gmail.wait_for_sessions(1)
    return gmail


def test_when_no_observer_wants_message_data_its_lines_are_not_reported() -> None:
    hiding = _Lines(message_data=False)
    gmail = _send_one([hiding])
    # The 354 and the final dot still come: the live log needs them to tell the body.
    assert [line[:4] for line in hiding.lines if line.startswith((b"354", b"."))] == [
        b"354 ",
        b".\r\n",
    ]
    assert b"line one\r\n" not in hiding.lines
    assert gmail.outbox[0].raw.endswith(b"line one\r\nline two\r\n"), "the message is whole"
    transcript = gmail.sessions[0].transcript
    assert transcript is not None
    assert "C: line one" in dump(transcript), "and the transcript"


def test_when_one_observer_wants_message_data_every_observer_is_told() -> None:
    hiding, watching = _Lines(message_data=False), _Lines(message_data=True)
    _send_one([hiding, watching])
    assert b"line one\r\n" in watching.lines
    assert hiding.lines == watching.lines, "each observer filters for itself (as the live log)"


def test_stop_closes_open_connections() -> None:
    gmail = FakeGmail().start()
    raw = smtps(gmail)
    gmail.stop()
    assert raw.closed_by_server()
    raw.close()
    gmail.stop()  # twice is fine


def test_a_taken_port_says_what_to_do(gmail: FakeGmail) -> None:
    taken = ServerOptions(smtps_port=gmail.smtps.port)
    with pytest.raises(ConfigurationError, match=r"--smtps-port: cannot listen .* pick another"):
        FakeGmail(taken).start()


def test_ipv6_loopback_shows_the_bare_address() -> None:
    if not socket.has_ipv6:
        pytest.fail("this machine has no IPv6; the persona's IPv6 form cannot be checked")
    with FakeGmail(ServerOptions(host="::1")) as gmail, smtps(gmail) as raw:
        assert raw.command("EHLO x")[0] == b"250-smtp.gmail.com at your service, [::1]\r\n"


def test_untrusted_ca_and_wrong_name_are_refused_by_the_client(gmail: FakeGmail) -> None:
    stranger = ssl.create_default_context(cadata=generate().ca_pem.decode())
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        RawSMTP(gmail.smtps, context=stranger)
    with pytest.raises(ssl.SSLCertVerificationError, match=r"match|mismatch"):
        RawSMTP(gmail.smtps, context=gmail.client_context(), server_hostname="mail.example.com")


def test_accounts_come_from_the_options() -> None:
    options = ServerOptions(accounts=[Account("me@example.com", "s3cret:with:colons")])
    with FakeGmail(options) as gmail, smtps(gmail) as raw:
        raw.command("EHLO x")
        blob = base64.b64encode(b"\0me@example.com\0s3cret:with:colons").decode()
        assert raw.command(f"AUTH PLAIN {blob}") == [b"235 2.7.0 Accepted\r\n"]
        assert raw.text(f"AUTH PLAIN {PLAIN_BLOB}").startswith("503"), "already logged in"
        assert gmail.credentials == ("me@example.com", "s3cret:with:colons")


def test_client_lines_are_recorded_as_sent(gmail: FakeGmail) -> None:
    with smtps(gmail) as raw:
        raw.command(b"ehlo Mixed.Case\n")
        raw.command("QUIT")
    text = _wait_for_transcript(gmail)
    transcript_lines = [
        line for line in gmail.transcripts[-1].lines if line.direction is Direction.CLIENT
    ]
    assert transcript_lines[0].data == b"ehlo Mixed.Case\n"
    assert "# --- TLS handshake TLSv1.3" in text


def test_record_dir_gets_one_redacted_transcript_per_connection(tmp_path: Path) -> None:
    options = ServerOptions(record_dir=tmp_path / "rec", record_transcripts=False)
    with FakeGmail(options) as gmail:
        for _ in range(2):
            with authenticated(gmail) as raw:
                raw.command("QUIT")
        gmail.wait_for_transcripts(2)
    files = sorted((tmp_path / "rec").iterdir())
    assert [path.name.split("-")[1] for path in files] == ["00001", "00002"]
    text = files[0].read_text()
    assert text.startswith("# smtprig-transcript: 1\n# listener: smtps\n")
    assert "C: AUTH PLAIN <redacted>\n" in text
    assert PLAIN_BLOB not in text


def test_listening_sockets_say_tcp_so_asyncio_turns_nagle_off() -> None:
    # asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP; with proto 0 the
    # greeting written after TLS's session tickets waited ~40 ms for a delayed ACK.
    sock = bind("127.0.0.1", 0, option="--smtps-port")
    with sock:
        assert sock.proto == socket.IPPROTO_TCP


BODIES = {
    "empty": b"",
    "prose ending lines with dots": b"Subject: s\r\n\r\nOne.\r\nTwo.\r\nThree..\r\n",
    "dot lines": b".\r\n..\r\n...\r\n. \r\n",
    "long lines": b"x" * 3000 + b"\r\n" + b"y" * 999 + b".\r\n",
    "bare CR and LF": b"a\r.\rb\n.\nc\r\n",
}


@pytest.mark.parametrize("name", BODIES)
@pytest.mark.parametrize("cut", [0, 1, 2, 3, 4, 7])
def test_the_end_of_data_is_found_however_the_writes_fall(
    gmail: FakeGmail, name: str, cut: int
) -> None:
    body = BODIES[name]
    stuffed = (b"\r\n" + body).replace(b"\r\n.", b"\r\n..")[2:] + b".\r\n"
    with authenticated(gmail) as raw:
        raw.command("MAIL FROM:<tester@gmail.com>")
        raw.command("RCPT TO:<a@example.org>")
        raw.command("DATA")
        # The last `cut` octets (part of the terminator, or more) come in a second write.
        split = len(stuffed) - cut
        raw.send(stuffed[:split])
        raw.send(stuffed[split:])
        assert raw.read_line().startswith(b"250 2.0.0 OK  ")
    [message] = gmail.outbox.wait_for(1)
    assert message.raw == body


def test_a_message_past_the_size_limit_is_refused_and_not_kept() -> None:
    persona = dataclasses.replace(load_persona(), size_limit=5000)
    with FakeGmail(ServerOptions(persona=persona)) as gmail, authenticated(gmail) as raw:
        raw.command("MAIL FROM:<tester@gmail.com>")
        raw.command("RCPT TO:<a@example.org>")
        raw.command("DATA")
        raw.send((b"z" * 998 + b"\r\n") * 20 + b".\r\n")
        assert raw.reply()[0].startswith(b"552-5.3.4 Your message exceeded Google's message size")
        assert gmail.messages == []
        assert raw.text("NOOP").startswith("250"), "the session goes on"


def test_observers_are_called_only_for_what_they_watch() -> None:
    class Closes(BaseObserver):
        def on_close(self, session: SessionView, record: SessionRecord) -> None:
            pass

    class Messages:  # not a BaseObserver, and not every method
        def on_message(self, session: SessionView, message: CapturedMessage) -> None:
            pass

    closes, messages = Closes(), Messages()
    watchers = [closes, cast(Observer, messages)]
    assert hooks(watchers, "on_close") == [closes.on_close]
    assert hooks(watchers, "on_message") == [messages.on_message]
    assert hooks(watchers, "on_line") == []
