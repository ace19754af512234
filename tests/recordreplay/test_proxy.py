"""The recording proxy between real clients and real servers: our fake Gmail on both its ports
and stock aiosmtpd in plain text, implicit TLS and STARTTLS. What it records holds both sides,
the TLS handshake and no secret; the negative twins are an upstream that is down, one whose
certificate or name is wrong, a client that does not trust us, and a client sending garbage."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from client.transcript import Comment, Direction, Event, Line, Transcript, dump, read
from fakeserver.errors import ConfigurationError, ServerThreadError
from fakeserver.recordreplay.proxy import ProxyOptions, RecordingProxy, TLSMode
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.transport.tls import client_context, default_certificates, generate
from tests.recordreplay.conftest import PASSWORD, USER, WAIT_S, Aiosmtpd
from tests.support.rawsmtp import RawSMTP
from tests.support.recording_clients import MESSAGE, connect, secret_spellings, send

C, S = Direction.CLIENT, Direction.SERVER


def texts(transcript: Transcript, direction: Direction) -> list[str]:
    return [
        line.data.decode("utf-8", "replace").rstrip("\r\n")
        for line in transcript.lines
        if line.direction is direction
    ]


def tls_events(transcript: Transcript) -> list[int]:
    """Indexes, among the entries, of the TLS handshakes."""
    return [
        index
        for index, entry in enumerate(transcript.entries)
        if isinstance(entry, Event) and entry.kind == "tls"
    ]


def assert_no_secret(text: str, user: str, password: str) -> None:
    for secret in secret_spellings(user, password):
        assert secret not in text, f"{secret!r} was recorded"


def proxy_for(
    upstream: tuple[str, int], mode: TLSMode, trusting: ssl.SSLContext, **more: object
) -> RecordingProxy:
    options = ProxyOptions(upstream=upstream, tls=mode, upstream_context=trusting)
    return RecordingProxy(options.replace(**more))


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize("mode", [TLSMode.STARTTLS, TLSMode.IMPLICIT])
def test_records_our_fake_gmail_on_both_ports(
    gmail: FakeGmail, trusting: ssl.SSLContext, tmp_path: Path, mode: TLSMode, mechanism: str
) -> None:
    upstream = gmail.submission if mode is TLSMode.STARTTLS else gmail.smtps
    with proxy_for(upstream, mode, trusting, out_dir=tmp_path) as proxy:
        send(proxy.address, mode, proxy.client_context(), gmail.credentials, mechanism=mechanism)
        [transcript] = proxy.wait_for_transcripts(1, WAIT_S)
        proxy.check()
    [captured] = gmail.outbox.wait_for(1)
    assert captured.raw == MESSAGE
    assert captured.session.auth_mechanism == mechanism

    [path] = tmp_path.iterdir()
    assert read(path) == transcript, "the file holds what the API returns"
    server, client = texts(transcript, S), texts(transcript, C)
    assert server[0].startswith("220 smtp.gmail.com ESMTP ")
    assert server[-1].startswith("221 2.0.0 closing connection ")
    assert f"mail FROM:<tester@gmail.com> size={len(MESSAGE)}" in client
    assert "Hello through the proxy." in client
    assert client[-1] == "QUIT"
    assert transcript.header("tls") == mode.value
    [tls] = tls_events(transcript)
    entries = transcript.entries
    if mode is TLSMode.IMPLICIT:
        assert tls == 0, "the handshake comes before the greeting"
    else:
        assert entries[tls - 2] == Line(C, b"STARTTLS\r\n")
        assert entries[tls - 1] == Line(S, b"220 2.0.0 Ready to start TLS\r\n")
    # After QUIT and 221 both sides close at once; either may be seen first.
    assert entries[-1] in (Event("closed", "by server"), Event("closed", "by client"))
    assert any(line.endswith("<redacted>") for line in client)
    assert_no_secret(path.read_text(), *gmail.credentials)
    assert_no_secret(dump(transcript), *gmail.credentials)


@pytest.mark.parametrize("mode", ["plain", "implicit", "starttls"])
def test_records_stock_aiosmtpd(trusting: ssl.SSLContext, tmp_path: Path, mode: str) -> None:
    tls = {"plain": TLSMode.NONE, "implicit": TLSMode.IMPLICIT}.get(mode, TLSMode.STARTTLS)
    with Aiosmtpd(mode) as upstream, proxy_for(upstream.address, tls, trusting) as proxy:
        send(proxy.address, tls, proxy.client_context(), (USER, PASSWORD))
        [transcript] = proxy.wait_for_transcripts(1, WAIT_S)
        proxy.check()
        [envelope] = upstream.handler.envelopes
    assert envelope.original_content == MESSAGE
    server = texts(transcript, S)
    assert server[0].startswith("220 aiosmtpd.test ")
    assert "235 2.7.0 Authentication successful" in server
    assert "AUTH PLAIN <redacted>" in texts(transcript, C)
    assert len(tls_events(transcript)) == (0 if tls is TLSMode.NONE else 1)
    assert_no_secret(dump(transcript), USER, PASSWORD)


def test_a_dead_upstream_gets_the_client_a_421(trusting: ssl.SSLContext) -> None:
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        with proxy_for(dead.getsockname(), TLSMode.IMPLICIT, trusting) as proxy:
            with pytest.raises(smtplib.SMTPConnectError) as refused:
                connect(proxy.address, TLSMode.IMPLICIT, proxy.client_context())
            [transcript] = proxy.wait_for_transcripts(1, WAIT_S)
            proxy.check()
    assert refused.value.smtp_code == 421
    error = refused.value.smtp_error
    assert isinstance(error, bytes)
    assert error.startswith(b"4.3.0 smtprig proxy: cannot reach 127.0.0.1")
    assert texts(transcript, S) == [f"421 {error.decode()}"]
    assert transcript.entries[-1] == Event("closed", "by proxy")


@pytest.fixture
def stranger() -> ssl.SSLContext:
    """Trusts another CA than the upstream's."""
    return client_context(generate())


def test_an_upstream_certificate_we_do_not_trust_is_refused(
    gmail: FakeGmail, stranger: ssl.SSLContext
) -> None:
    with proxy_for(gmail.smtps, TLSMode.IMPLICIT, stranger) as proxy:
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            connect(proxy.address, TLSMode.IMPLICIT, proxy.client_context())
        proxy.wait_for_transcripts(1, WAIT_S)
    assert refused.value.smtp_code == 421
    assert b"certificate verify failed" in refused.value.smtp_error


def test_after_starttls_an_untrusted_upstream_gets_421_instead_of_220(
    gmail: FakeGmail, stranger: ssl.SSLContext
) -> None:
    with proxy_for(gmail.submission, TLSMode.STARTTLS, stranger) as proxy:
        with pytest.raises(smtplib.SMTPResponseException) as refused:
            connect(proxy.address, TLSMode.STARTTLS, proxy.client_context())
        [transcript] = proxy.wait_for_transcripts(1, WAIT_S)
    assert refused.value.smtp_code == 421
    assert b"TLS with the upstream server failed" in refused.value.smtp_error
    assert tls_events(transcript) == []
    assert texts(transcript, S)[-1].startswith("421 4.3.0 smtprig proxy: TLS with the upstream")


def test_an_upstream_whose_certificate_names_another_host_is_refused(
    trusting: ssl.SSLContext,
) -> None:
    # The certificate names 127.0.0.1, localhost and smtp.gmail.com, not 127.0.0.2.
    elsewhere = FakeGmail(ServerOptions(host="127.0.0.2"))
    with elsewhere, proxy_for(elsewhere.smtps, TLSMode.IMPLICIT, trusting) as proxy:
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            connect(proxy.address, TLSMode.IMPLICIT, proxy.client_context())
        proxy.wait_for_transcripts(1, WAIT_S)
    assert b"IP address mismatch" in refused.value.smtp_error


def test_a_client_that_does_not_trust_us_is_recorded_and_never_relayed(
    gmail: FakeGmail, trusting: ssl.SSLContext, stranger: ssl.SSLContext
) -> None:
    with proxy_for(gmail.smtps, TLSMode.IMPLICIT, trusting) as proxy:
        with pytest.raises(ssl.SSLCertVerificationError):
            connect(proxy.address, TLSMode.IMPLICIT, stranger)
        [transcript] = proxy.wait_for_transcripts(1, WAIT_S)
        proxy.check()
    [failed] = [entry for entry in transcript.entries if isinstance(entry, Event)][:1]
    assert failed.kind == "tls-failed"
    assert transcript.lines == ()
    assert gmail.transcripts == [], "the upstream was never contacted"


@pytest.fixture
def plain_gmail() -> Iterator[FakeGmail]:
    """Our fake Gmail with its port-25-like listener (plain text, offering STARTTLS)."""
    with FakeGmail(ServerOptions(plain_port=0, seed=7)) as server:
        yield server
        server.check()


def test_garbage_from_a_client_is_relayed_recorded_and_survived(
    plain_gmail: FakeGmail, trusting: ssl.SSLContext
) -> None:
    garbage = [b"\xff\xfe\x00\x1b[2J\r\n", b"EHLO bare-lf.example\n", b"x" * 70_000 + b"\r\n"]
    with proxy_for(plain_gmail.plain, TLSMode.NONE, trusting) as proxy:
        with RawSMTP(proxy.address) as raw:
            raw.reply()
            for line in garbage:
                raw.send(line)
            while raw.read_line():
                pass  # every reply, up to the close that follows the too-long line
        with RawSMTP(proxy.address) as raw:
            raw.reply()
            assert raw.text("QUIT").startswith("221 "), "the next client is served as usual"
        first, second = proxy.wait_for_transcripts(2, WAIT_S)
        proxy.check()
    sent = b"".join(line.data for line in first.lines if line.direction is C)
    assert sent == b"".join(garbage), "every byte relayed and recorded"
    with pytest.raises(ServerThreadError, match="unrecognized command"):
        plain_gmail.check()  # the upstream saw the garbage too
    assert "C~ \\xff\\xfe\\x00\\x1b[2J\\r\\n" in dump(first).splitlines()
    assert texts(second, S)[-1].startswith("221 ")


def test_without_tls_on_our_side_starttls_is_answered_454_not_relayed(
    plain_gmail: FakeGmail, trusting: ssl.SSLContext
) -> None:
    with proxy_for(plain_gmail.plain, TLSMode.NONE, trusting) as proxy:
        with RawSMTP(proxy.address) as raw:
            raw.reply()
            assert "250-STARTTLS" in raw.text("EHLO client.example")
            assert raw.text("STARTTLS").startswith("454 4.7.0 smtprig proxy: TLS not available")
            assert raw.text("QUIT").startswith("221 ")
        proxy.wait_for_transcripts(1, WAIT_S)
    [upstream] = plain_gmail.wait_for_transcripts(1)
    assert b"STARTTLS\r\n" not in [line.data for line in upstream.lines]


def test_plaintext_pipelined_after_starttls_is_discarded(
    gmail: FakeGmail, trusting: ssl.SSLContext
) -> None:
    # RFC 3207 §4.2: what a client sends after STARTTLS in clear must never count as sent in TLS.
    with proxy_for(gmail.submission, TLSMode.STARTTLS, trusting) as proxy:
        with RawSMTP(proxy.address) as raw:
            raw.reply()
            raw.text("EHLO client.example")
            raw.send(b"STARTTLS\r\nEHLO injected.example\r\n")
            assert raw.text(b"").startswith("220 2.0.0")
            raw.starttls(proxy.client_context())
            assert "250-AUTH" in raw.text("EHLO client.example")
            assert raw.text("QUIT").startswith("221 ")
        [transcript] = proxy.wait_for_transcripts(1, WAIT_S)
    assert "EHLO injected.example" not in texts(transcript, C)
    assert any(
        isinstance(entry, Comment) and "discarded 23 bytes" in entry.text
        for entry in transcript.entries
    )
    [upstream] = gmail.wait_for_transcripts(1)
    assert b"EHLO injected.example\r\n" not in [line.data for line in upstream.lines]


def test_a_bdat_chunk_without_a_line_end_is_relayed_at_once(
    gmail: FakeGmail, trusting: ssl.SSLContext
) -> None:
    with proxy_for(gmail.smtps, TLSMode.IMPLICIT, trusting) as proxy:
        with RawSMTP(proxy.address, context=proxy.client_context()) as raw:
            raw.reply()
            raw.text("EHLO client.example")
            raw.text("AUTH PLAIN AHRlc3RlckBnbWFpbC5jb20AYXBwLXBhc3N3b3Jk")
            raw.text("MAIL FROM:<tester@gmail.com>")
            raw.text("RCPT TO:<friend@example.org>")
            assert raw.text(b"BDAT 14 LAST\r\nSubject: x\r\n\r\n").startswith("250 2.0.0 OK")
            raw.text("QUIT")
        [transcript] = proxy.wait_for_transcripts(1, WAIT_S)
    assert gmail.outbox.wait_for(1)[0].raw == b"Subject: x\r\n\r\n"
    assert texts(transcript, C)[-4:] == ["BDAT 14 LAST", "Subject: x", "", "QUIT"]


def test_stopping_keeps_the_transcripts_of_open_connections(
    gmail: FakeGmail, trusting: ssl.SSLContext
) -> None:
    proxy = proxy_for(gmail.smtps, TLSMode.IMPLICIT, trusting).start()
    try:
        with RawSMTP(proxy.address, context=proxy.client_context()) as raw:
            raw.reply()
            proxy.stop()
            assert raw.closed_by_server()
    finally:
        proxy.stop()
    [recorded] = proxy.recorded
    assert recorded.closed_by == "proxy"
    assert recorded.transcript.entries[-1] == Event("closed", "by proxy")


@pytest.mark.parametrize(
    ("tls", "upstream_tls"),
    [(TLSMode.STARTTLS, TLSMode.IMPLICIT), (TLSMode.NONE, TLSMode.STARTTLS)],
)
def test_starttls_on_one_side_only_is_a_configuration_error(
    tls: TLSMode, upstream_tls: TLSMode
) -> None:
    with pytest.raises(ConfigurationError, match="use it on both sides or on neither"):
        ProxyOptions(upstream=("127.0.0.1", 25), tls=tls, upstream_tls=upstream_tls)


def test_default_certificates_are_presented(trusting: ssl.SSLContext) -> None:
    proxy = RecordingProxy(ProxyOptions(upstream=("127.0.0.1", 25)))
    assert proxy.ca_pem == default_certificates().ca_pem
    with pytest.raises(RuntimeError, match="not running"):
        _ = proxy.address


def test_a_plaintext_client_can_be_recorded_against_an_implicit_tls_upstream(
    gmail: FakeGmail, trusting: ssl.SSLContext
) -> None:
    options = ProxyOptions(
        upstream=gmail.smtps, tls=TLSMode.NONE, upstream_tls=TLSMode.IMPLICIT
    ).replace(upstream_context=trusting)
    with RecordingProxy(options) as proxy:
        send(proxy.address, TLSMode.NONE, trusting, gmail.credentials)
        [transcript] = proxy.wait_for_transcripts(1, WAIT_S)
    assert gmail.outbox.wait_for(1)[0].session.tls_version is not None, "TLS upstream"
    assert tls_events(transcript) == [], "none on the client's side"
    assert transcript.header("upstream-tls") == "implicit"


def test_connections_at_the_same_time_get_a_transcript_each(
    gmail: FakeGmail, trusting: ssl.SSLContext
) -> None:
    with proxy_for(gmail.smtps, TLSMode.IMPLICIT, trusting) as proxy:
        context = proxy.client_context()
        with RawSMTP(proxy.address, context=context) as one:
            with RawSMTP(proxy.address, context=context) as two:
                one.reply()
                two.reply()
                one.command("EHLO one.example")
                two.command("EHLO two.example")
                two.command("QUIT")
            one.command("QUIT")
        transcripts = proxy.wait_for_transcripts(2, WAIT_S)
    names = {texts(transcript, C)[0] for transcript in transcripts}
    assert names == {"EHLO one.example", "EHLO two.example"}
    assert all(len(texts(transcript, C)) == 2 for transcript in transcripts)


def test_a_silent_connection_is_closed_after_the_idle_timeout(
    gmail: FakeGmail, trusting: ssl.SSLContext
) -> None:
    with proxy_for(gmail.smtps, TLSMode.IMPLICIT, trusting, idle_timeout_s=0.2) as proxy:
        with RawSMTP(proxy.address, context=proxy.client_context()) as raw:
            raw.reply()
            assert raw.closed_by_server()
        [transcript] = proxy.wait_for_transcripts(1, WAIT_S)
    last = transcript.entries[-1]
    assert isinstance(last, Event)
    assert last.kind == "closed"


def test_sasl_responses_pipelined_before_their_challenges_are_still_redacted(
    gmail: FakeGmail, trusting: ssl.SSLContext, tmp_path: Path
) -> None:
    # RFC 4954 §4 has a client wait for each 334; one that does not must not leak its secret.
    user, password = gmail.credentials
    lines = [base64.b64encode(text.encode()).decode() for text in (user, password)]
    with proxy_for(gmail.smtps, TLSMode.IMPLICIT, trusting, out_dir=tmp_path) as proxy:
        with RawSMTP(proxy.address, context=proxy.client_context()) as raw:
            raw.reply()
            raw.command("EHLO client.example")
            raw.send(f"AUTH LOGIN\r\n{lines[0]}\r\n{lines[1]}\r\nNOOP\r\n".encode())
            assert [raw.reply()[0][:3] for _ in range(4)] == [b"334", b"334", b"235", b"250"]
            raw.command("QUIT")
        [transcript] = proxy.wait_for_transcripts(1, WAIT_S)
    [path] = tmp_path.iterdir()
    for text in (path.read_text(), dump(transcript)):
        assert_no_secret(text, user, password)
        assert lines[0] not in text
    # The NOOP too may be redacted, if it was read before the 235: safe, if overcautious.
    assert texts(transcript, C)[1:4] == ["AUTH LOGIN", "<redacted>", "<redacted>"]
