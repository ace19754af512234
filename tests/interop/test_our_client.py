"""smtprig's client against smtprig's fake Gmail: every AUTH mechanism, both ports,
pipelining only when offered, awkward bodies intact, and both sides' transcripts agreeing."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from client import (
    PermanentReplyError,
    SMTPClient,
    StopPoint,
    Submission,
    TLSMode,
    submit,
)
from client.transcript import Direction, Recorder
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.session.accounts import Account

TOKEN = "ya29.smtprig-test-token"


def connect(gmail: FakeGmail, tls: TLSMode, recorder: Recorder | None = None) -> SMTPClient:
    implicit = tls is TLSMode.IMPLICIT
    host, port = gmail.smtps if implicit else gmail.submission
    client = SMTPClient.connect(
        host,
        port,
        implicit_tls=implicit,
        ssl_context=gmail.client_context(),
        tls_hostname="localhost",
        timeout_s=5,
        recorder=recorder,
    )
    client.ehlo()
    if not implicit:
        client.starttls()
    return client


@pytest.mark.parametrize("tls", [TLSMode.IMPLICIT, TLSMode.STARTTLS])
@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN", "XOAUTH2"])
def test_every_mechanism_on_both_ports(gmail: FakeGmail, tls: TLSMode, mechanism: str) -> None:
    user, password = gmail.credentials
    secret = TOKEN if mechanism == "XOAUTH2" else password
    submission = Submission(
        host="127.0.0.1",
        port=(gmail.smtps if tls is TLSMode.IMPLICIT else gmail.submission).port,
        message=b"Subject: ours\r\n\r\nhello\r\n",
        sender=user,
        recipients=("friend@example.org",),
        tls=tls,
        ssl_context=gmail.client_context(),
        username=user,
        secret=secret,
        auth_mechanism=mechanism,
        timeout_s=5,
    )
    result = submit(submission)
    assert result.reply is not None
    assert result.reply.code == 250
    [message] = gmail.outbox.wait_for(1)
    assert message.session.auth_mechanism == mechanism
    sessions = gmail.wait_for_sessions(1)
    sessions.assert_quit()
    if tls is TLSMode.STARTTLS:
        sessions.assert_ehlo_after_starttls()


def test_a_long_oauth_token_is_sent_after_the_334_and_accepted() -> None:
    # A real access token can be far longer than the AUTH line allows (MailKit#1343); the
    # client then waits for the 334, and the fake, like Gmail, takes a long response there.
    token = "ya29." + "t" * 2000
    account = Account("tester@gmail.com", "app-password", oauth_tokens=frozenset({token}))
    with FakeGmail(ServerOptions(accounts=(account,))) as gmail:
        with connect(gmail, TLSMode.IMPLICIT) as client:
            assert client.auth_xoauth2("tester@gmail.com", token).code == 235
        [session] = gmail.wait_for_sessions(1)
        assert session.info.user == "tester@gmail.com"
        assert session.info.auth_mechanism == "XOAUTH2"


def test_a_wrong_password_raises_with_gmails_reply(gmail: FakeGmail) -> None:
    with connect(gmail, TLSMode.IMPLICIT) as client:
        assert client.greeting is not None
        session_id = client.greeting.lines[0].split()[2]
        with pytest.raises(PermanentReplyError) as refused:
            client.auth_plain(gmail.credentials[0], "wrong")
        assert refused.value.reply.code == 535
        assert refused.value.reply.lines == (
            "5.7.8 Username and Password not accepted. For more information, go to",
            f"5.7.8  https://support.google.com/mail/?p=BadCredentials {session_id} - gsmtp",
        )
        client.auth_plain(*gmail.credentials)  # Gmail lets the client try again


def test_a_bad_oauth_token_gets_the_json_challenge_then_535(gmail: FakeGmail) -> None:
    with connect(gmail, TLSMode.IMPLICIT) as client:
        with pytest.raises(PermanentReplyError) as refused:
            client.auth_xoauth2(gmail.credentials[0], "expired-token")
        assert refused.value.reply.code == 535


def test_pipelining_is_used_because_gmail_offers_it(gmail: FakeGmail) -> None:
    with connect(gmail, TLSMode.IMPLICIT) as client:
        client.auth_login(*gmail.credentials)
        client.send_message(b"Subject: p\r\n\r\nx\r\n", sender="a@x.org", recipients=["b@x.org"])
    sessions = gmail.wait_for_sessions(1)
    sessions.assert_pipelined()
    sessions.assert_pipelining_only_when_offered()


def test_pipelining_is_never_used_when_not_offered(gmail: FakeGmail) -> None:
    gmail.script.on("ehlo").reply(
        "250-smtp.gmail.com at your service\n250-AUTH LOGIN PLAIN\n250 SMTPUTF8"
    )
    with connect(gmail, TLSMode.IMPLICIT) as client:
        client.auth_login(*gmail.credentials)
        client.send_message(b"Subject: p\r\n\r\nx\r\n", sender="a@x.org", recipients=["b@x.org"])
    [session] = gmail.wait_for_sessions(1)
    assert not session.pipelined
    assert "PIPELINING" not in session.offered


AWKWARD = (
    ".a line starting with a dot\n..two dots\n.\n"
    "a bare CR \r in the middle\n" + "a very long line " * 120 + "\n" + "x" * 3000 + "\n"
    "non-ASCII: café, 日本語, emoji 📬\n.ünïcode after a dot\n"
)


def test_awkward_bodies_arrive_intact(gmail: FakeGmail) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "tester@gmail.com", "b@x.org", "Grüße ✓"
    mail.set_content(AWKWARD)
    with connect(gmail, TLSMode.IMPLICIT) as client:
        client.auth_plain(*gmail.credentials)
        client.send_message(mail)
    [message] = gmail.outbox.wait_for(1)
    assert message.message["Subject"] == "Grüße ✓"
    # The email package reads a bare CR as a line end, as the client sent it.
    assert message.message.get_content() == AWKWARD.replace("\r", "\n")
    assert all(len(line) <= 1000 for line in message.raw.split(b"\r\n"))


def test_raw_bytes_with_bare_lf_are_sent_with_crlf(gmail: FakeGmail) -> None:
    body = b"Subject: raw\r\n\r\n.dot first\nbare LF\r\nlast"
    with connect(gmail, TLSMode.IMPLICIT) as client:
        client.auth_plain(*gmail.credentials)
        client.send_message(body, sender="a@x.org", recipients=["b@x.org"])
    [message] = gmail.outbox.wait_for(1)
    # RFC 5321 §2.3.8: the client sends CRLF line ends, and a last line gets its CRLF.
    assert message.raw == b"Subject: raw\r\n\r\n.dot first\r\nbare LF\r\nlast\r\n"


@pytest.mark.parametrize("step", [StopPoint.EHLO, StopPoint.AUTH, StopPoint.MAIL, StopPoint.RCPT])
def test_quit_after_a_named_step(gmail: FakeGmail, step: StopPoint) -> None:
    user, password = gmail.credentials
    submit(
        Submission(
            host="127.0.0.1",
            port=gmail.smtps.port,
            message=b"Subject: q\r\n\r\nx\r\n",
            sender=user,
            recipients=("b@x.org",),
            tls=TLSMode.IMPLICIT,
            ssl_context=gmail.client_context(),
            username=user,
            secret=password,
            timeout_s=5,
            quit_after=step,
        )
    )
    [session] = gmail.wait_for_sessions(1)
    assert session.commands[-1] == "QUIT"
    assert gmail.messages == []


def test_both_sides_record_the_same_conversation(gmail: FakeGmail) -> None:
    recorder = Recorder()
    with connect(gmail, TLSMode.STARTTLS, recorder) as client:
        client.auth_login(*gmail.credentials)
        client.send_message(b"Subject: same\r\n\r\nx\r\n", sender="a@x.org", recipients=["b@x.org"])
    [server_side] = gmail.wait_for_transcripts(1)
    # The order across directions differs where the client pipelined (it writes MAIL, RCPT
    # and DATA before reading; the server reads and answers one at a time), so compare each
    # direction on its own.
    for direction in Direction:
        said_by_client = [
            line.data for line in recorder.transcript().lines if line.direction is direction
        ]
        seen_by_server = [line.data for line in server_side.lines if line.direction is direction]
        assert said_by_client == seen_by_server
    assert b"<redacted>\r\n" in [line.data for line in recorder.transcript().lines]
