"""The client against stock aiosmtpd, an independent server: plain, STARTTLS and implicit TLS.

Each "should work" case has a twin that must fail: an untrusted CA, a wrong host name, a
command in the wrong state, wrong credentials.
"""

from __future__ import annotations

import email
import email.policy
import ssl
from email.message import EmailMessage

import pytest
import trustme

from client import (
    LocalProtocolError,
    PermanentReplyError,
    Reply,
    SMTPClient,
    StopPoint,
    Submission,
    TLSMode,
    TLSNegotiationError,
    submit,
)
from client.protocol import ClientState
from client.transcript import Line, Recorder
from tests.support.client_testkit import (
    ACCESS_TOKEN,
    PASSWORD,
    USERNAME,
    WAIT_S,
    AiosmtpdServer,
)

SENDER = "alice@example.test"
RECIPIENT = "bob@example.test"


def tls_version(client: SMTPClient) -> str | None:
    return client.tls_version


def new_message(text: str, subject: str = "test") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = SENDER
    mail["To"] = RECIPIENT
    mail["Subject"] = subject
    mail.set_content(text)
    return mail


def received_text(server: AiosmtpdServer) -> str:
    (envelope,) = server.handler.envelopes
    assert isinstance(envelope.content, bytes)
    parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    content = parsed.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


BODIES = {
    "leading dots": ".\n..\n.hidden line\nend\n",
    "bare LF and bare CR": "one\ntwo\rthree\r\nfour\n",
    "a very long line": "x" * 5000 + "\n" + "word " * 2000 + "\n",
    "non-ASCII": "Grüße, 你好, ✓\n.ünïcode after a dot\n",
    "a lone dot line as the last line": "last line is a dot\n.\n",
}


@pytest.mark.parametrize("text", BODIES.values(), ids=BODIES.keys())
def test_bodies_arrive_intact(plain_server: AiosmtpdServer, text: str) -> None:
    with SMTPClient.connect(
        "127.0.0.1",
        plain_server.port,
        timeout_s=WAIT_S,
    ) as client:
        result = client.send_message(new_message(text, subject="Grüße ✓"))
        assert result.reply is not None
        assert result.reply.code == 250
    # The email package reads bare CR and CRLF as line ends, as the client sent them.
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    assert received_text(plain_server) == expected
    (envelope,) = plain_server.handler.envelopes
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == [RECIPIENT]


def test_raw_message_bytes_step_by_step(plain_server: AiosmtpdServer) -> None:
    body = b"Subject: steps\r\n\r\n.starts with a dot\nbare LF\r\nlast"
    with SMTPClient.connect(
        "127.0.0.1",
        plain_server.port,
        timeout_s=WAIT_S,
    ) as client:
        assert client.ehlo().code == 250
        assert client.mail(SENDER).code == 250
        assert client.rcpt(RECIPIENT).code == 250
        assert client.data().code == 354
        assert client.message_data(body).code == 250
    (envelope,) = plain_server.handler.envelopes
    assert envelope.content == b"Subject: steps\r\n\r\n.starts with a dot\r\nbare LF\r\nlast\r\n"


def test_over_long_raw_lines_are_refused_before_sending(plain_server: AiosmtpdServer) -> None:
    with SMTPClient.connect(
        "127.0.0.1",
        plain_server.port,
        timeout_s=WAIT_S,
    ) as client:
        client.ehlo()
        client.mail(SENDER)
        client.rcpt(RECIPIENT)
        client.data()
        with pytest.raises(LocalProtocolError, match=r"4\.5\.3\.1\.6"):
            client.message_data(b"x" * 1001)
    assert plain_server.handler.envelopes == []


def test_starttls_then_auth_then_send(
    starttls_server: AiosmtpdServer, client_context: ssl.SSLContext
) -> None:
    with SMTPClient.connect(
        "127.0.0.1", starttls_server.port, ssl_context=client_context, timeout_s=WAIT_S
    ) as client:
        client.ehlo()
        before = client.capabilities
        assert before is not None
        assert before.starttls
        assert before.auth_mechanisms == ()
        assert tls_version(client) is None
        assert client.starttls().code == 220
        assert tls_version(client) is not None
        after = client.capabilities
        assert after is not None
        assert "LOGIN" in after.auth_mechanisms
        assert not after.starttls
        assert client.auth_login(USERNAME, PASSWORD).code == 235
        client.send_message(new_message("over STARTTLS\n"))
    assert received_text(starttls_server) == "over STARTTLS\n"


def test_auth_before_starttls_is_refused_locally(starttls_server: AiosmtpdServer) -> None:
    with SMTPClient.connect(
        "127.0.0.1",
        starttls_server.port,
        timeout_s=WAIT_S,
    ) as client:
        client.ehlo()
        with pytest.raises(LocalProtocolError, match="after STARTTLS"):
            client.auth_login(USERNAME, PASSWORD)


def test_auth_before_starttls_in_raw_mode_shows_the_server_refusing(
    starttls_server: AiosmtpdServer,
) -> None:
    with SMTPClient.connect(
        "127.0.0.1",
        starttls_server.port,
        timeout_s=WAIT_S,
    ) as client:
        client.ehlo()
        client.send_bytes(b"AUTH LOGIN\r\n")
        reply = client.read_reply()
    assert reply.code == 538
    assert str(reply.enhanced_status) == "5.7.11"


def open_tls(
    port: int, *, implicit: bool, ssl_context: ssl.SSLContext, name: str | None = None
) -> None:
    """Connect and get TLS going, by implicit TLS or by STARTTLS."""
    with SMTPClient.connect(
        "127.0.0.1",
        port,
        implicit_tls=implicit,
        ssl_context=ssl_context,
        tls_hostname=name,
        timeout_s=WAIT_S,
    ) as client:
        client.ehlo()
        client.starttls()


@pytest.mark.parametrize("implicit", [True, False], ids=["implicit", "starttls"])
def test_an_untrusted_certificate_is_refused(
    starttls_server: AiosmtpdServer,
    implicit_tls_server: AiosmtpdServer,
    untrusting_context: ssl.SSLContext,
    implicit: bool,
) -> None:
    port = implicit_tls_server.port if implicit else starttls_server.port
    with pytest.raises(TLSNegotiationError, match="issuer certificate"):
        open_tls(port, implicit=implicit, ssl_context=untrusting_context)


@pytest.mark.parametrize("implicit", [True, False], ids=["implicit", "starttls"])
def test_a_wrong_host_name_is_refused(
    starttls_server: AiosmtpdServer,
    implicit_tls_server: AiosmtpdServer,
    client_context: ssl.SSLContext,
    implicit: bool,
) -> None:
    port = implicit_tls_server.port if implicit else starttls_server.port
    with pytest.raises(TLSNegotiationError, match=r"smtp\.wrong\.example") as caught:
        open_tls(port, implicit=implicit, ssl_context=client_context, name="smtp.wrong.example")
    assert caught.value.server_hostname == "smtp.wrong.example"


def test_the_right_host_name_by_name(
    implicit_tls_server: AiosmtpdServer, client_context: ssl.SSLContext
) -> None:
    with SMTPClient.connect(
        "127.0.0.1",
        implicit_tls_server.port,
        implicit_tls=True,
        ssl_context=client_context,
        tls_hostname="localhost",
        timeout_s=WAIT_S,
    ) as client:
        assert client.ehlo().code == 250


def test_a_failed_handshake_leaves_nothing_open(
    implicit_tls_server: AiosmtpdServer, untrusting_context: ssl.SSLContext
) -> None:
    # filterwarnings=error turns a leaked socket into a failure of this test.
    for _ in range(3):
        with pytest.raises(TLSNegotiationError):
            SMTPClient.connect(
                "127.0.0.1",
                implicit_tls_server.port,
                implicit_tls=True,
                ssl_context=untrusting_context,
                timeout_s=WAIT_S,
            )


def test_cafile(implicit_tls_server: AiosmtpdServer, ca: trustme.CA) -> None:
    with (
        ca.cert_pem.tempfile() as cafile,
        SMTPClient.connect(
            "127.0.0.1",
            implicit_tls_server.port,
            implicit_tls=True,
            cafile=cafile,
            timeout_s=WAIT_S,
        ) as client,
    ):
        assert client.tls_version in ("TLSv1.2", "TLSv1.3")
        client.ehlo()
        client.auth_plain(USERNAME, PASSWORD)


def test_cafile_of_another_ca(implicit_tls_server: AiosmtpdServer) -> None:
    with trustme.CA().cert_pem.tempfile() as cafile, pytest.raises(TLSNegotiationError):
        SMTPClient.connect(
            "127.0.0.1",
            implicit_tls_server.port,
            implicit_tls=True,
            cafile=cafile,
            timeout_s=WAIT_S,
        )


def test_cafile_and_context_together_are_refused(client_context: ssl.SSLContext) -> None:
    with pytest.raises(ValueError, match="not both"):
        SMTPClient.connect(
            "127.0.0.1", 1, ssl_context=client_context, cafile="ca.pem", timeout_s=WAIT_S
        )


def authenticate(client: SMTPClient, mechanism: str, password: str) -> Reply:
    """AUTH with ``mechanism``; XOAUTH2 gets the good token only with the good password."""
    if mechanism == "LOGIN":
        return client.auth_login(USERNAME, password)
    if mechanism == "PLAIN":
        return client.auth_plain(USERNAME, password)
    if mechanism == "PLAIN without IR":
        return client.auth_plain(USERNAME, password, send_initial_response=False)
    return client.auth_xoauth2(USERNAME, ACCESS_TOKEN if password == PASSWORD else "expired")


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN", "PLAIN without IR", "XOAUTH2"])
def test_auth_mechanisms_over_implicit_tls(
    implicit_tls_server: AiosmtpdServer, client_context: ssl.SSLContext, mechanism: str
) -> None:
    recorder = Recorder()
    with SMTPClient.connect(
        "127.0.0.1",
        implicit_tls_server.port,
        implicit_tls=True,
        ssl_context=client_context,
        recorder=recorder,
        timeout_s=WAIT_S,
    ) as client:
        client.ehlo()
        assert authenticate(client, mechanism, PASSWORD).code == 235
    sent = b"".join(
        entry.data for entry in recorder.transcript().entries if isinstance(entry, Line)
    )
    assert b"<redacted>" in sent
    for secret in (PASSWORD, ACCESS_TOKEN):
        assert secret.encode() not in sent


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN", "XOAUTH2"])
def test_wrong_credentials(
    implicit_tls_server: AiosmtpdServer, client_context: ssl.SSLContext, mechanism: str
) -> None:
    with SMTPClient.connect(
        "127.0.0.1",
        implicit_tls_server.port,
        implicit_tls=True,
        ssl_context=client_context,
        timeout_s=WAIT_S,
    ) as client:
        client.ehlo()
        with pytest.raises(PermanentReplyError) as caught:
            authenticate(client, mechanism, "wrong")
        assert caught.value.reply.code == 535
        assert caught.value.command.text in ("<redacted>", f"AUTH {mechanism} <redacted>")
        assert client.state is ClientState.READY
        client.auth_plain(USERNAME, PASSWORD)


def test_commands_in_the_wrong_state_are_refused_locally(plain_server: AiosmtpdServer) -> None:
    client = SMTPClient.connect(
        "127.0.0.1",
        plain_server.port,
        timeout_s=WAIT_S,
    )
    with client, pytest.raises(LocalProtocolError, match="allowed in READY"):
        client.mail(SENDER)


def test_the_same_commands_raw_show_what_aiosmtpd_says(plain_server: AiosmtpdServer) -> None:
    with SMTPClient.connect(
        "127.0.0.1",
        plain_server.port,
        timeout_s=WAIT_S,
    ) as client:
        client.send_bytes(b"MAIL FROM:<a@example.test>\r\n")
        assert client.read_reply().code == 503
        client.send_bytes(b"EHLO bare-lf.example\n")
        assert client.read_reply().code == 250
        client.send_bytes(b"NOOP " + b"x" * 600 + b"\r\n")
        too_long = client.read_reply()
        client.send_bytes(b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRSET\r\n")
        burst = [client.read_reply().code for _ in range(3)]
    assert (too_long.code, too_long.lines) == (500, ("Command line too long",))
    assert burst == [250, 250, 250]


def test_aiosmtpd_does_not_offer_pipelining_so_none_is_used(
    plain_server: AiosmtpdServer,
) -> None:
    recorder = Recorder()
    with SMTPClient.connect(
        "127.0.0.1", plain_server.port, timeout_s=WAIT_S, recorder=recorder
    ) as client:
        client.ehlo()
        assert client.capabilities is not None
        assert not client.capabilities.pipelining
        client.send_message(new_message("one at a time\n"))
    lines = [entry for entry in recorder.transcript().entries if isinstance(entry, Line)]
    mail = next(index for index, line in enumerate(lines) if line.data.startswith(b"MAIL"))
    assert "".join(line.direction.value for line in lines[mail : mail + 6]) == "CSCSCS"


def test_smtputf8_addresses(server_context: ssl.SSLContext) -> None:
    with AiosmtpdServer(enable_SMTPUTF8=True, auth_require_tls=False) as server:
        with SMTPClient.connect(
            "127.0.0.1",
            server.port,
            timeout_s=WAIT_S,
        ) as client:
            mail = new_message("hi\n")
            del mail["To"]
            mail["To"] = "jürgen@bücher.example"
            client.send_message(mail)
        (envelope,) = server.handler.envelopes
        assert envelope.rcpt_tos == ["jürgen@bücher.example"]
        assert "SMTPUTF8" in envelope.mail_options


def test_smtputf8_addresses_without_the_extension(plain_server: AiosmtpdServer) -> None:
    with SMTPClient.connect(
        "127.0.0.1",
        plain_server.port,
        timeout_s=WAIT_S,
    ) as client:
        mail = new_message("hi\n")
        del mail["To"]
        mail["To"] = "jürgen@bücher.example"
        with pytest.raises(LocalProtocolError, match="SMTPUTF8"):
            client.send_message(mail)


@pytest.mark.parametrize("tls", list(TLSMode))
def test_submit_whole_conversations(
    plain_server: AiosmtpdServer,
    starttls_server: AiosmtpdServer,
    implicit_tls_server: AiosmtpdServer,
    client_context: ssl.SSLContext,
    tls: TLSMode,
) -> None:
    server = {
        TLSMode.NONE: plain_server,
        TLSMode.STARTTLS: starttls_server,
        TLSMode.IMPLICIT: implicit_tls_server,
    }[tls]
    result = submit(
        Submission(
            host="127.0.0.1",
            port=server.port,
            message=new_message("submitted\n"),
            tls=tls,
            ssl_context=client_context,
            username=USERNAME,
            secret=PASSWORD,
            timeout_s=WAIT_S,
        )
    )
    assert result.reply is not None
    assert result.accepted == (RECIPIENT,)
    assert received_text(server) == "submitted\n"


def test_submit_starttls_to_a_server_without_it_is_refused(plain_server: AiosmtpdServer) -> None:
    submission = Submission(
        host="127.0.0.1", port=plain_server.port, message=new_message("x\n"), timeout_s=WAIT_S
    )
    with pytest.raises(LocalProtocolError, match="STARTTLS"):
        submit(submission)
    assert plain_server.handler.envelopes == []


@pytest.mark.parametrize(
    ("quit_after", "drop_after"),
    [(step, None) for step in StopPoint if step not in (StopPoint.TLS, StopPoint.DATA)]
    + [(None, step) for step in StopPoint if step is not StopPoint.TLS],
)
def test_stop_at_every_step(
    plain_server: AiosmtpdServer, quit_after: StopPoint | None, drop_after: StopPoint | None
) -> None:
    recorder = Recorder()
    result = submit(
        Submission(
            host="127.0.0.1",
            port=plain_server.port,
            message=new_message("maybe\n"),
            tls=TLSMode.NONE,
            username=USERNAME,
            secret=PASSWORD,
            timeout_s=WAIT_S,
            quit_after=quit_after,
            drop_after=drop_after,
        ),
        recorder=recorder,
    )
    stop = quit_after or drop_after
    delivered = stop is StopPoint.DOT
    assert (result.reply is not None) == delivered
    assert len(plain_server.handler.envelopes) == int(delivered)
    sent = [entry.data for entry in recorder.transcript().entries if isinstance(entry, Line)]
    assert (b"QUIT\r\n" in sent) == (quit_after is not None)


def test_submission_options_are_checked() -> None:
    base = {"host": "h", "port": 1, "message": b"x"}
    with pytest.raises(ValueError, match="QUIT as message text"):
        Submission(**base, quit_after=StopPoint.DATA)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only with tls=STARTTLS"):
        Submission(**base, tls=TLSMode.IMPLICIT, drop_after=StopPoint.TLS)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not both"):
        Submission(**base, quit_after=StopPoint.MAIL, drop_after=StopPoint.RCPT)  # type: ignore[arg-type]
