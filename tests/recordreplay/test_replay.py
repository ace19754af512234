"""The replay server against real clients: the issue's acceptance test (record smtplib talking to
our fake Gmail through the proxy, then replay that transcript with no upstream) and its negative
twin, corpus captures replayed with the TLS mode they imply, and how a client that differs, stops
talking or hangs up is reported. Replaying a transcript that holds a secret stores none."""

from __future__ import annotations

import base64
import smtplib
import ssl
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest

from client.transcript import Direction, Line, Matching, Transcript, dump, read
from client.transcript.compare import TranscriptMismatch
from fakeserver.recordreplay.proxy import ProxyOptions, RecordingProxy, TLSMode
from fakeserver.recordreplay.replay import ReplayOptions, ReplayServer
from fakeserver.server.fake import FakeGmail
from fakeserver.transport.tls import client_context, generate
from tests.recordreplay.conftest import WAIT_S
from tests.support.rawsmtp import RawSMTP
from tests.support.recording_clients import (
    MESSAGE,
    SECRETS,
    TIMEOUT_S,
    connect,
    send,
    send_wrong_password,
    write_secret_transcript,
)

C, S = Direction.CLIENT, Direction.SERVER
CORPUS = Path(__file__).resolve().parents[1] / "data" / "gmail_transcripts"


def record(gmail: FakeGmail, mode: TLSMode, trusting: ssl.SSLContext, out_dir: Path) -> Path:
    """smtplib sends one message to our fake Gmail through the proxy; returns the file."""
    upstream = gmail.submission if mode is TLSMode.STARTTLS else gmail.smtps
    options = ProxyOptions(upstream=upstream, tls=mode, upstream_context=trusting, out_dir=out_dir)
    with RecordingProxy(options) as proxy:
        send(proxy.address, mode, proxy.client_context(), gmail.credentials)
        [recorded] = proxy.wait_for_transcripts(1, WAIT_S)
        proxy.check()
    [path] = out_dir.iterdir()
    assert read(path) == recorded
    return path


def server_lines(transcript: Transcript) -> list[bytes]:
    return [line.data for line in transcript.lines if line.direction is S]


@pytest.mark.parametrize("mode", [TLSMode.STARTTLS, TLSMode.IMPLICIT])
def test_a_recorded_session_replays_against_the_same_client(
    gmail: FakeGmail, trusting: ssl.SSLContext, tmp_path: Path, mode: TLSMode
) -> None:
    path = record(gmail, mode, trusting, tmp_path)
    with ReplayServer(path) as replay:
        assert replay.tls is mode, "the TLS mode comes from the transcript"
        send(replay.address, mode, replay.client_context(), gmail.credentials)
        replay.check()
        [result] = replay.results
    assert result.passed
    recorded, replayed = server_lines(read(path)), server_lines(result.transcript)
    assert len(replayed) == len(recorded)
    old_id = recorded[0].split()[3]
    new_id = replayed[0].split()[3]
    assert new_id != old_id, "a fresh session id"
    assert all(old_id not in line for line in replayed)
    tagged = [line for line in replayed if line.endswith(b" - gsmtp\r\n")]
    assert len(tagged) >= 5
    assert all(line.split(b" - gsmtp")[0].endswith(new_id) for line in tagged), "one id throughout"
    assert len(gmail.outbox.messages) == 1, "the replay never touched the fake Gmail"


def test_a_client_that_differs_by_one_recipient_is_reported_with_the_line_and_matcher(
    gmail: FakeGmail, trusting: ssl.SSLContext, tmp_path: Path
) -> None:
    path = record(gmail, TLSMode.STARTTLS, trusting, tmp_path)
    file_line = path.read_text().splitlines().index("C: rcpt TO:<friend@example.org>") + 1
    with ReplayServer(path) as replay:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(
                replay.address,
                TLSMode.STARTTLS,
                replay.client_context(),
                gmail.credentials,
                recipient="stranger@example.org",
            )
        with pytest.raises(TranscriptMismatch) as failure:
            replay.check()
    code, text = refused.value.recipients["stranger@example.org"]
    assert (code, text) == (
        554,
        f"5.5.0 smtprig replay: text mismatch at transcript line {file_line}".encode(),
    )
    mismatch = failure.value.mismatch
    assert (mismatch.file_line, mismatch.matcher) == (file_line, "text")
    message = str(failure.value)
    assert f"(transcript line {file_line})" in message
    assert "matcher 'text' failed" in message
    assert "  expected: C: rcpt TO:<friend@example.org>" in message
    assert "  actual:   C: rcpt TO:<stranger@example.org>" in message


def test_corpus_02_replays_with_starttls_a_greeting_and_placeholders(
    trusting: ssl.SSLContext,
) -> None:
    # Capture 02 has no greeting, smtplib's lowercase verbs, "<redacted@gmail.com>" addresses
    # and a "<message ...>" stand-in; the replay sends Gmail's greeting first.
    transcript = read(next(CORPUS.glob("02_*.txt")))
    with ReplayServer(transcript) as replay:
        assert replay.tls is TLSMode.STARTTLS
        with smtplib.SMTP(*replay.address, timeout=TIMEOUT_S) as client:
            name = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa"
            client.ehlo(name)
            client.starttls(context=replay.client_context())
            client.ehlo(name)
            client.login("someone@gmail.com", "an app password")
            # smtplib 3.11 writes "mail FROM:"; the capture's older smtplib wrote "mail from:".
            assert client.docmd("mail from:<someone@gmail.com> size=491")[0] == 250
            assert client.docmd("rcpt to:<friend@gmail.com>")[0] == 250
            assert client.data(b"Subject: hi\r\n\r\n" + b"x" * 470 + b"\r\n")[0] == 250
            client.quit()
        replay.check()
        [result] = replay.results
    greeting = result.transcript.lines[0].data
    assert greeting.startswith(b"220 smtp.gmail.com ESMTP ")
    assert greeting.endswith(b" - gsmtp\r\n")
    assert (
        server_lines(result.transcript)[1] == b"250-smtp.gmail.com at your service, [127.0.0.1]\r\n"
    )


def test_corpus_37_replays_swaks_auth_login_over_starttls(trusting: ssl.SSLContext) -> None:
    transcript = read(next(CORPUS.glob("37_*.txt")))
    with ReplayServer(transcript) as replay, RawSMTP(replay.address) as raw:
        assert replay.tls is TLSMode.STARTTLS
        assert raw.reply()[0].startswith(b"220 smtp.gmail.com ESMTP ")
        raw.command("EHLO mexes")
        assert raw.command("STARTTLS") == [b"220 2.0.0 Ready to start TLS\r\n"]
        raw.starttls(replay.client_context())
        assert b"250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n" in (
            raw.command("EHLO mexes")
        )
        assert raw.command("AUTH LOGIN") == [b"334 VXNlcm5hbWU6\r\n"]
        assert raw.command(base64.b64encode(b"me@gmail.com").decode()) == [b"334 UGFzc3dvcmQ6\r\n"]
        assert raw.command(base64.b64encode(b"app password").decode()) == [
            b"235 2.7.0 Accepted\r\n"
        ]
        raw.command("MAIL FROM:<me@gmail.com>")
        raw.command("RCPT TO:<you@gmail.com>")
        assert raw.text("DATA").startswith("354 Go ahead ")
        body = b"Subject: Testmail\r\n\r\nTrying sending mail from the command line.\r\n.\r\n"
        assert raw.text(body).startswith("250 2.0.0 OK  ")
        assert raw.text("QUIT").startswith("221 2.0.0 closing connection ")
        replay.check()


def test_corpus_33_replays_implicit_tls_with_unprinted_replies() -> None:
    # Capture 33: implicit TLS, AUTH LOGIN with an initial response, masked addresses, a
    # "<headers/body> ." stand-in, an unprinted 250, and a QUIT the transcript never answers.
    transcript = read(next(CORPUS.glob("33_*.txt")))
    with ReplayServer(transcript) as replay:
        assert replay.tls is TLSMode.IMPLICIT
        context = replay.client_context()
        with smtplib.SMTP_SSL(*replay.address, context=context, timeout=TIMEOUT_S) as client:
            # smtplib's own verbs are lowercase; this client wrote them in capitals.
            assert client.docmd("EHLO smtp.gmail.com")[0] == 250
            user, password = (base64.b64encode(text).decode() for text in (b"me", b"pw"))
            assert client.docmd(f"AUTH LOGIN {user}") == (334, b"xxxxxxxxxs")
            assert client.docmd(password)[0] == 235
            assert client.docmd("MAIL FROM:<xxxxxxx.xxxxxxxx@gmail.com>")[0] == 250
            assert client.docmd("RCPT TO:<xxxxxxx.xxxxxxxx@gmail.com>")[0] == 250
            assert client.docmd("DATA")[0] == 354
            client.send(MESSAGE + b".\r\n")
            assert client.getreply()[0] == 250  # the "<250 not printed>" stand-in
            with pytest.raises(smtplib.SMTPServerDisconnected):
                client.docmd("QUIT")  # the transcript ends at QUIT, with no 221
        replay.check()


def test_corpus_05_replays_a_pipelined_mail_and_rcpt() -> None:
    transcript = read(next(CORPUS.glob("05_*.txt")))
    with ReplayServer(transcript) as replay:
        assert replay.tls is TLSMode.IMPLICIT
        with RawSMTP(replay.address, context=replay.client_context()) as raw:
            raw.reply()
            raw.command("EHLO [192.168.1.220]")
            assert raw.text("AUTH PLAIN AGFAZ21haWwuY29tAHB3") == "235 2.7.0 Accepted\r\n"
            raw.send(b"MAIL FROM:<from.addr@gmail.com>\r\nRCPT TO:<to.addr@gmail.com>\r\n")
            assert [raw.text(b"")[:9], raw.text(b"")[:9]] == ["250 2.1.0", "250 2.1.5"]
            assert raw.text("DATA").startswith("354  Go ahead ")
            assert raw.text(b"Subject: hi\r\n\r\nhello\r\n.\r\n").startswith("250 2.0.0 OK ")
            assert raw.text("QUIT").startswith("221 ")
        replay.check()


def test_a_client_that_stops_talking_gets_a_554_naming_the_line_it_owes() -> None:
    transcript = read(next(CORPUS.glob("37_*.txt")))
    options = ReplayOptions(idle_timeout_s=0.2)
    with ReplayServer(transcript, options) as replay, RawSMTP(replay.address) as raw:
        raw.reply()
        assert raw.reply() == [
            b"554 5.5.0 smtprig replay: timeout mismatch at transcript line 8\r\n"
        ]
        assert raw.closed_by_server()
        with pytest.raises(TranscriptMismatch, match=r"the client sent nothing for 0\.2 s"):
            replay.check()


def test_a_client_that_hangs_up_early_is_a_mismatch_at_the_line_it_owed(
    gmail: FakeGmail, trusting: ssl.SSLContext, tmp_path: Path
) -> None:
    path = record(gmail, TLSMode.IMPLICIT, trusting, tmp_path)
    with ReplayServer(path) as replay:
        client = connect(replay.address, TLSMode.IMPLICIT, replay.client_context())
        client.ehlo("[127.0.0.1]")
        client.close()
        with pytest.raises(TranscriptMismatch) as failure:
            replay.check()
    mismatch = failure.value.mismatch
    assert (mismatch.matcher, mismatch.actual) == ("end", None)
    assert mismatch.expected == Line(C, b"AUTH PLAIN <redacted>\r\n")
    assert "the client closed the connection" in str(mismatch)


def test_with_no_client_check_says_so() -> None:
    replay = ReplayServer(read(next(CORPUS.glob("37_*.txt"))))
    with replay, pytest.raises(TranscriptMismatch, match="no client connected"):
        replay.check()


def test_a_bdat_chunk_replays_as_recorded(gmail: FakeGmail, trusting: ssl.SSLContext) -> None:
    def session(address: tuple[str, int], context: ssl.SSLContext) -> None:
        with RawSMTP(address, context=context) as raw:
            raw.reply()
            raw.command("EHLO client.example")
            raw.command("AUTH PLAIN AHRlc3RlckBnbWFpbC5jb20AYXBwLXBhc3N3b3Jk")
            raw.command("MAIL FROM:<tester@gmail.com>")
            raw.command("RCPT TO:<friend@example.org>")
            assert raw.text(b"BDAT 14 LAST\r\nSubject: x\r\n\r\n").startswith("250 2.0.0 OK")
            raw.command("QUIT")

    options = ProxyOptions(upstream=gmail.smtps, tls=TLSMode.IMPLICIT, upstream_context=trusting)
    with RecordingProxy(options) as proxy:
        session(proxy.address, proxy.client_context())
        [transcript] = proxy.wait_for_transcripts(1, WAIT_S)
    with ReplayServer(transcript) as replay:
        session(replay.address, replay.client_context())
        replay.check()


def test_replaying_a_transcript_that_holds_a_secret_stores_and_shows_none(
    tmp_path: Path,
) -> None:
    path = write_secret_transcript(tmp_path / "secret.txt")
    with ReplayServer(path) as replay, RawSMTP(replay.address) as raw:
        reply = send_wrong_password(raw)
        assert reply.startswith("554 5.5.0 smtprig replay: text mismatch at transcript line 9")
        with pytest.raises(TranscriptMismatch) as failure:
            replay.check()
        [result] = replay.results
    shown = str(failure.value) + dump(result.transcript)
    for secret in SECRETS:
        assert secret not in shown
    assert "  expected: C: <redacted>" in shown
    assert [p.name for p in tmp_path.iterdir()] == ["secret.txt"], "replay writes no file"


def test_a_client_that_does_not_trust_the_replay_server_is_a_tls_mismatch() -> None:
    transcript = read(next(CORPUS.glob("33_*.txt")))
    with ReplayServer(transcript) as replay:
        with pytest.raises(ssl.SSLCertVerificationError):
            connect(replay.address, TLSMode.IMPLICIT, client_context(generate()))
        with pytest.raises(TranscriptMismatch, match="matcher 'tls' failed: the TLS handshake"):
            replay.check()


def test_a_message_is_parsed_off_the_loop_that_serves_the_clients(
    gmail: FakeGmail, trusting: ssl.SSLContext, tmp_path: Path
) -> None:
    path = record(gmail, TLSMode.STARTTLS, trusting, tmp_path)
    parsed_in: list[str] = []

    def note_thread(message: EmailMessage) -> None:  # runs wherever the message is parsed
        parsed_in.append(threading.current_thread().name)

    options = ReplayOptions(matching=Matching(before_record=note_thread))
    with ReplayServer(path, options) as replay:
        send(replay.address, TLSMode.STARTTLS, replay.client_context(), gmail.credentials)
        replay.check()
    assert parsed_in, "the message was parsed, both sides of it"
    assert "fakeserver-replay" not in parsed_in
