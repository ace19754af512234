"""A TLS handshake that fails is a session too, which says why: the failure a test most needs
explained (the app does not trust the fake's CA, or speaks clear text to port 465) leaves a
record, a transcript, a line in the live log and an entry in the HTTP API."""

from __future__ import annotations

import smtplib
import socket
import ssl
import time

import pytest

from client.transcript import Event
from fakeserver.scripting import AbortHandshake, TLSCertificate
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.session.records import EndReason, SessionRecord
from fakeserver.transport.tls import handshake_failure
from tests.support.rawsmtp import RawSMTP
from tests.support.wire import still_serves

WAIT_S = 5.0


def _tls_failed(record: SessionRecord) -> list[Event]:
    assert record.transcript is not None
    entries = record.transcript.entries
    return [entry for entry in entries if isinstance(entry, Event) and entry.kind == "tls-failed"]


def _why(record: SessionRecord) -> str:
    """Why the handshake failed, as the record says it (and its transcript, the same)."""
    [event] = _tls_failed(record)
    assert record.end_detail == event.detail
    assert record.describe().endswith(f"; {record.ended}: {event.detail}")
    return event.detail


def test_an_untrusted_certificate_on_the_implicit_tls_port_is_a_failed_session(
    gmail: FakeGmail,
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL(*gmail.smtps, context=ssl.create_default_context(), timeout=WAIT_S)

    [record] = gmail.wait_for_sessions(1)
    assert record.ended is EndReason.TLS_FAILED
    assert record.info.listener.implicit_tls
    assert record.info.tls_version is None
    assert (record.commands, record.reply_codes) == ((), ())
    assert _why(record) == (
        "the client does not trust the CA (give it the fake's ca.pem) [TLSV1_ALERT_UNKNOWN_CA]"
    )
    # The next client, which trusts the CA, is served as ever.
    with smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context(), timeout=WAIT_S) as smtp:
        assert smtp.noop()[0] == 250


def test_an_untrusted_certificate_after_starttls_is_a_failed_session(gmail: FakeGmail) -> None:
    with smtplib.SMTP(*gmail.submission, timeout=WAIT_S) as smtp:
        smtp.ehlo("client.example")
        with pytest.raises(ssl.SSLCertVerificationError):
            smtp.starttls(context=ssl.create_default_context())

    [record] = gmail.wait_for_sessions(1)
    assert record.ended is EndReason.TLS_FAILED
    assert record.commands == ("EHLO", "STARTTLS")
    assert record.reply_codes == (220, 250, 220)
    assert "does not trust the CA" in _why(record)


def test_clear_text_on_the_implicit_tls_port_is_named(gmail: FakeGmail) -> None:
    with socket.create_connection(gmail.smtps, timeout=WAIT_S) as sock:
        sock.sendall(b"EHLO client.example\r\n")
        assert sock.recv(100) == b""  # closed, with no word of SMTP

    [record] = gmail.wait_for_sessions(1)
    assert record.ended is EndReason.TLS_FAILED
    assert _why(record).startswith("the client did not speak TLS (plain SMTP on the implicit-TLS")


def test_a_client_that_waits_for_a_greeting_on_the_implicit_tls_port_times_out() -> None:
    # smtplib.SMTP (not SMTP_SSL) on port 465: each side waits for the other.
    with FakeGmail(ServerOptions(idle_timeout_s=0.5)) as gmail:
        started = time.monotonic()
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtplib.SMTP(*gmail.smtps, timeout=WAIT_S)
        assert time.monotonic() - started < WAIT_S

        [record] = gmail.wait_for_sessions(1)
        assert record.ended is EndReason.TLS_FAILED
        assert _why(record) == "the client did not finish the handshake within 0.5 s"
        gmail.check()


def test_a_client_that_leaves_during_the_handshake(gmail: FakeGmail) -> None:
    with socket.create_connection(gmail.smtps, timeout=WAIT_S):
        pass

    [record] = gmail.wait_for_sessions(1)
    assert record.ended is EndReason.TLS_FAILED
    assert _why(record) == "the client closed the connection during the handshake"


def test_a_connection_dropped_mid_handshake_by_a_stop_is_aborted_not_failed(
    gmail: FakeGmail,
) -> None:
    with socket.create_connection(gmail.smtps, timeout=WAIT_S) as sock:
        deadline = time.monotonic() + WAIT_S
        while not gmail.open_sessions and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gmail.open_sessions, "the session opens when the client connects"
        gmail.stop()  # every connection is dropped
        assert sock.recv(100) == b""

    [record] = gmail.sessions
    assert record.ended is EndReason.ABORTED
    assert _tls_failed(record) == []


def test_a_failed_handshake_does_not_disturb_a_bystander(gmail: FakeGmail) -> None:
    with RawSMTP(gmail.smtps, context=gmail.client_context()) as bystander:
        bystander.reply()
        for _ in range(20):
            with socket.create_connection(gmail.smtps, timeout=WAIT_S) as sock:
                sock.sendall(b"\x16\x03\x01\x00\x05hello")
                sock.recv(100)
        still_serves(bystander)
    assert len(gmail.wait_for_sessions(21)) == 21


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (None, "the client closed the connection during the handshake"),
        (TimeoutError(), "the client did not finish the handshake within 3 s"),
        (ConnectionAbortedError("SSL handshake is taking longer than 3 seconds"),
         "the client did not finish the handshake within 3 s"),
    ],
)  # fmt: skip
def test_what_a_failure_is_called(error: BaseException | None, said: str) -> None:
    assert handshake_failure(error, 3.0) == said


def test_an_alert_without_advice_is_named_by_openssl() -> None:
    error = ssl.SSLError(1, "[SSL: TLSV1_ALERT_PROTOCOL_VERSION] alert")
    error.reason = "TLSV1_ALERT_PROTOCOL_VERSION"  # what OpenSSL sets; the constructor does not
    assert handshake_failure(error) == (
        "the client sent the alert 'protocol version' [TLSV1_ALERT_PROTOCOL_VERSION]"
    )


def test_the_reason_is_kept_without_transcripts() -> None:
    with FakeGmail(ServerOptions(record_transcripts=False)) as gmail:
        with socket.create_connection(gmail.smtps, timeout=WAIT_S):
            pass
        [record] = gmail.wait_for_sessions(1)
        assert record.transcript is None
        assert record.end_detail == "the client closed the connection during the handshake"
        gmail.check()


def test_a_wait_for_mail_that_runs_out_says_why(gmail: FakeGmail) -> None:
    with pytest.raises(TimeoutError) as nobody:
        gmail.outbox.wait_for(1, timeout_s=0.1)
    host, port = gmail.smtps
    assert str(nobody.value) == (
        "waited 0.1 s for 1 message(s); 0 arrived; no client connected (the fake listens on "
        f"{host} port {port} (smtps), {gmail.submission[0]} port {gmail.submission[1]} "
        "(submission))"
    )

    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL(*gmail.smtps, context=ssl.create_default_context(), timeout=WAIT_S)
    gmail.wait_for_sessions(1)
    with pytest.raises(TimeoutError) as untrusted:
        gmail.outbox.wait_for(1, timeout_s=0.1)
    assert str(untrusted.value) == (
        "waited 0.1 s for 1 message(s); 0 arrived; the connections:\n"
        "  connection 1 (smtps): (no commands); replies (none); TLS failed: the client does not "
        "trust the CA (give it the fake's ca.pem) [TLSV1_ALERT_UNKNOWN_CA]"
    )


@pytest.mark.parametrize("port", ["smtps", "submission"])
def test_a_handshake_the_script_refused_ended_by_fault(gmail: FakeGmail, port: str) -> None:
    gmail.script.on("tls").fault(AbortHandshake())
    with pytest.raises(ssl.SSLError):
        _handshake(gmail, port)

    [record] = gmail.wait_for_sessions(1)
    assert record.ended is EndReason.FAULT
    assert record.faults == ("AbortHandshake()",)
    assert _why(record) == "the fake refused the handshake, as the script asked"


@pytest.mark.parametrize("port", ["smtps", "submission"])
def test_a_bad_certificate_the_client_refused_is_not_blamed_on_its_trust(
    gmail: FakeGmail, port: str
) -> None:
    gmail.script.on("tls").fault(TLSCertificate("untrusted"))
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(gmail, port)

    [record] = gmail.wait_for_sessions(1)
    assert record.ended is EndReason.TLS_FAILED
    assert _why(record) == (
        "the client refused the untrusted certificate the script presented [TLSV1_ALERT_UNKNOWN_CA]"
    )
    assert record.transcript is not None
    kinds = [entry.kind for entry in record.transcript.entries if isinstance(entry, Event)]
    assert "certificate" not in kinds, "that event says a client took a bad certificate"


def _handshake(gmail: FakeGmail, port: str) -> None:
    """A client that trusts the fake's CA, on the implicit-TLS port or through STARTTLS."""
    if port == "smtps":
        smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context(), timeout=WAIT_S).close()
        return
    with smtplib.SMTP(*gmail.submission, timeout=WAIT_S) as smtp:
        smtp.ehlo("client.example")
        smtp.starttls(context=gmail.client_context())
