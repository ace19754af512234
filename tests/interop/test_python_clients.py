"""smtplib and aiosmtplib against the fake, on both ports, with both mechanisms, and the
negative twins: a wrong password surfaces as 535, an untrusted CA or a wrong host name makes
the client refuse."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage

import aiosmtplib
import pytest

from fakeserver.personas.model import Listener
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.transport.tls import generate
from tests.support.asyncclient import run_client

MECHANISMS = ["LOGIN", "PLAIN"]
PORTS = [Listener.SMTPS, Listener.SUBMISSION]


def message(subject: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "tester@gmail.com"
    mail["To"] = "friend@example.org"
    mail["Subject"] = subject
    mail.set_content("Hello from the interop suite.\n.leading dot\n")
    return mail


def smtplib_connect(gmail: FakeGmail, listener: Listener) -> smtplib.SMTP:
    if listener is Listener.SMTPS:
        return smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context(), timeout=5)
    client = smtplib.SMTP(*gmail.submission, timeout=5)
    client.starttls(context=gmail.client_context())
    return client


def smtplib_login(client: smtplib.SMTP, mechanism: str, user: str, password: str) -> None:
    # SMTP.auth() sends no EHLO itself (login() does), and it takes a 503 for success.
    client.ehlo_or_helo_if_needed()
    client.user, client.password = user, password
    authobject: Callable[..., str] = (
        client.auth_login if mechanism == "LOGIN" else client.auth_plain
    )
    client.auth(mechanism, authobject)


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("listener", PORTS)
def test_smtplib_sends(gmail: FakeGmail, listener: Listener, mechanism: str) -> None:
    with smtplib_connect(gmail, listener) as client:
        smtplib_login(client, mechanism, *gmail.credentials)
        assert client.send_message(message(f"smtplib {listener} {mechanism}")) == {}
    [captured] = gmail.outbox.wait_for(1)
    assert captured.message["Subject"] == f"smtplib {listener} {mechanism}"
    assert captured.session.listener is listener
    assert captured.session.auth_mechanism == mechanism
    assert "\n.leading dot\n" in captured.message.get_content()


def test_smtplib_without_initial_response(gmail: FakeGmail) -> None:
    with smtplib_connect(gmail, Listener.SMTPS) as client:
        client.ehlo()
        client.user, client.password = gmail.credentials
        code, _ = client.auth("PLAIN", client.auth_plain, initial_response_ok=False)
        assert code == 235


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("listener", PORTS)
def test_smtplib_wrong_password_is_535(
    gmail: FakeGmail, listener: Listener, mechanism: str
) -> None:
    with smtplib_connect(gmail, listener) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as failure:
            smtplib_login(client, mechanism, gmail.credentials[0], "wrong")
        assert failure.value.smtp_code == 535
        error = failure.value.smtp_error
        text = error.decode() if isinstance(error, bytes) else error
        assert text.startswith("5.7.8 Username and Password not accepted.")
        assert "?p=BadCredentials" in text
    assert gmail.messages == []


def test_smtplib_refuses_an_untrusted_ca(gmail: FakeGmail) -> None:
    stranger = ssl.create_default_context(cadata=generate().ca_pem.decode())
    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL(*gmail.smtps, context=stranger, timeout=5)
    with (
        smtplib.SMTP(*gmail.submission, timeout=5) as client,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        client.starttls(context=stranger)


def test_smtplib_refuses_a_wrong_host_name() -> None:
    # 127.0.0.2 is loopback too, but the certificate names only 127.0.0.1 (and ::1).
    with FakeGmail(ServerOptions(host="127.0.0.2")) as elsewhere:
        with pytest.raises(ssl.SSLCertVerificationError, match=r"IP address mismatch"):
            smtplib.SMTP_SSL(*elsewhere.smtps, context=elsewhere.client_context(), timeout=5)
        with (
            smtplib.SMTP(*elsewhere.submission, timeout=5) as client,
            pytest.raises(ssl.SSLCertVerificationError, match=r"IP address mismatch"),
        ):
            client.starttls(context=elsewhere.client_context())


async def aiosmtplib_send(
    gmail: FakeGmail, listener: Listener, mechanism: str, password: str, context: ssl.SSLContext
) -> None:
    implicit = listener is Listener.SMTPS
    host, port = gmail.smtps if implicit else gmail.submission
    client = aiosmtplib.SMTP(
        hostname=host,
        port=port,
        use_tls=implicit,
        start_tls=not implicit,
        tls_context=context,
        timeout=5,
    )
    async with client:
        await client.ehlo()  # auth_*() do not greet first; login() would
        user = gmail.credentials[0]
        if mechanism == "LOGIN":
            await client.auth_login(user, password)
        else:
            await client.auth_plain(user, password)
        await client.send_message(message(f"aiosmtplib {listener} {mechanism}"))


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("listener", PORTS)
def test_aiosmtplib_sends(gmail: FakeGmail, listener: Listener, mechanism: str) -> None:
    password = gmail.credentials[1]
    run_client(aiosmtplib_send(gmail, listener, mechanism, password, gmail.client_context()))
    [captured] = gmail.outbox.wait_for(1)
    assert captured.message["Subject"] == f"aiosmtplib {listener} {mechanism}"
    assert captured.session.auth_mechanism == mechanism


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("listener", PORTS)
def test_aiosmtplib_wrong_password_is_535(
    gmail: FakeGmail, listener: Listener, mechanism: str
) -> None:
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as failure:
        run_client(aiosmtplib_send(gmail, listener, mechanism, "wrong", gmail.client_context()))
    assert failure.value.code == 535
    assert "Username and Password not accepted" in failure.value.message


@pytest.mark.parametrize("listener", PORTS)
def test_aiosmtplib_refuses_an_untrusted_ca(gmail: FakeGmail, listener: Listener) -> None:
    stranger = ssl.create_default_context(cadata=generate().ca_pem.decode())
    # Implicit TLS fails inside connect(); STARTTLS fails in the handshake itself.
    refusals = (aiosmtplib.SMTPConnectError, ssl.SSLCertVerificationError)
    with pytest.raises(refusals, match="CERTIFICATE_VERIFY_FAILED"):
        run_client(aiosmtplib_send(gmail, listener, "PLAIN", gmail.credentials[1], stranger))
