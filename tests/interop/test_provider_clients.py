"""smtplib, aiosmtplib, swaks and curl against the Microsoft 365, SES and SendGrid personas, on
every port each provider has, with each password mechanism it offers; and the negative twins:
a wrong password, and AUTH before STARTTLS where the provider refuses it (SendGrid takes it).

swaks and curl are installed by .ci/run; a missing one fails the test rather than skipping it.
"""

from __future__ import annotations

import shutil
import smtplib
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from fakeserver.personas.model import Listener
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.session.accounts import Account
from tests.support.asyncclient import run_client

USER, PASSWORD = "apikey", "SG.app-secret"
PERSONAS = ("office365", "ses", "sendgrid")
TIMEOUT_S = 20
# Every port each provider has, and each password mechanism it offers (office365.md §2: AUTH
# LOGIN XOAUTH2 after STARTTLS; ses.md and sendgrid.md: AUTH PLAIN LOGIN).
ROUTES = [
    (persona, listener, mechanism)
    for persona, listeners, mechanisms in [
        ("office365", [Listener.SUBMISSION], ["LOGIN"]),
        ("ses", [Listener.SMTPS, Listener.SUBMISSION, Listener.PLAIN], ["LOGIN", "PLAIN"]),
        ("sendgrid", [Listener.SMTPS, Listener.SUBMISSION, Listener.PLAIN], ["LOGIN", "PLAIN"]),
    ]
    for listener in listeners
    for mechanism in mechanisms
]
ROUTE_IDS = [f"{persona}-{listener.value}-{mechanism}" for persona, listener, mechanism in ROUTES]


@pytest.fixture(scope="module")
def _running() -> Iterator[dict[str, FakeGmail]]:
    """One fake per persona for the module (without Microsoft 365's 5 s before errors)."""
    running: dict[str, FakeGmail] = {}
    try:
        for persona in PERSONAS:
            plain = 0 if persona != "office365" else None
            options = ServerOptions(
                persona=persona,
                accounts=(Account(USER, PASSWORD),),
                plain_port=plain,
                error_delays=False,
                seed=14,
            )
            running[persona] = FakeGmail(options).start()
        yield running
    finally:
        for fake in running.values():
            fake.stop()


@pytest.fixture
def fakes(_running: dict[str, FakeGmail]) -> Iterator[dict[str, FakeGmail]]:
    """The fakes, as good as new for this test; what went wrong in them fails it."""
    for fake in _running.values():
        fake.reset()
    yield _running
    for fake in _running.values():
        fake.check()


@pytest.fixture
def cafile(fakes: dict[str, FakeGmail], tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_bytes(fakes["ses"].ca_pem)
    return path


def received(fake: FakeGmail, subject: str) -> EmailMessage:
    """The one message this test sent, which must have ``subject``."""
    [captured] = fake.outbox.wait_for(1)
    assert captured.message["Subject"] == subject
    return captured.message


def message(subject: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "sender@example.org", "friend@example.org", subject
    mail.set_content("Hello from the provider suite.\n")
    return mail


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run .ci/run, or apt-get install -y {name}")
    return path


# ---------------------------------------------------------------- smtplib and aiosmtplib


def smtplib_connect(fake: FakeGmail, listener: Listener) -> smtplib.SMTP:
    host, port = fake.listeners[listener]
    if listener.implicit_tls:
        return smtplib.SMTP_SSL(host, port, context=fake.client_context(), timeout=5)
    client = smtplib.SMTP(host, port, timeout=5)
    client.starttls(context=fake.client_context())
    return client


def smtplib_login(client: smtplib.SMTP, mechanism: str, password: str) -> None:
    client.ehlo_or_helo_if_needed()
    client.user, client.password = USER, password
    client.auth(mechanism, client.auth_login if mechanism == "LOGIN" else client.auth_plain)


@pytest.mark.parametrize(("persona", "listener", "mechanism"), ROUTES, ids=ROUTE_IDS)
def test_smtplib_sends(
    fakes: dict[str, FakeGmail], persona: str, listener: Listener, mechanism: str
) -> None:
    subject = f"smtplib {persona} {listener} {mechanism}"
    with smtplib_connect(fakes[persona], listener) as client:
        smtplib_login(client, mechanism, PASSWORD)
        assert client.send_message(message(subject)) == {}
    assert received(fakes[persona], subject).get_content() == "Hello from the provider suite.\n"


async def aiosmtplib_send(
    fake: FakeGmail, listener: Listener, mechanism: str, password: str, subject: str
) -> None:
    host, port = fake.listeners[listener]
    client = aiosmtplib.SMTP(
        hostname=host,
        port=port,
        use_tls=listener.implicit_tls,
        start_tls=not listener.implicit_tls,
        tls_context=fake.client_context(),
        timeout=5,
    )
    async with client:
        await client.ehlo()
        if mechanism == "LOGIN":
            await client.auth_login(USER, password)
        else:
            await client.auth_plain(USER, password)
        await client.send_message(message(subject))


@pytest.mark.parametrize(("persona", "listener", "mechanism"), ROUTES, ids=ROUTE_IDS)
def test_aiosmtplib_sends(
    fakes: dict[str, FakeGmail], persona: str, listener: Listener, mechanism: str
) -> None:
    subject = f"aiosmtplib {persona} {listener} {mechanism}"
    run_client(aiosmtplib_send(fakes[persona], listener, mechanism, PASSWORD, subject))
    assert received(fakes[persona], subject)["Subject"] == subject


# Each provider's own refusal (office365.md, ses.md, sendgrid.md §2).
WRONG_PASSWORD = {
    "office365": (535, "5.7.3 Authentication unsuccessful ["),
    "ses": (535, "Authentication Credentials Invalid"),
    "sendgrid": (535, "Authentication failed: Bad username / password"),
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_python_clients_see_each_providers_wrong_password_reply(
    fakes: dict[str, FakeGmail], persona: str
) -> None:
    code, text = WRONG_PASSWORD[persona]
    with (
        smtplib_connect(fakes[persona], Listener.SUBMISSION) as client,
        pytest.raises(smtplib.SMTPAuthenticationError) as smtplib_failure,
    ):
        smtplib_login(client, "LOGIN", "wrong")
    assert smtplib_failure.value.smtp_code == code
    error = smtplib_failure.value.smtp_error
    assert text in (error.decode() if isinstance(error, bytes) else error)
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as aio_failure:
        run_client(aiosmtplib_send(fakes[persona], Listener.SUBMISSION, "LOGIN", "wrong", "x"))
    assert aio_failure.value.code == code
    assert text in aio_failure.value.message


def test_auth_before_starttls_is_refused_by_ses_and_office365_and_taken_by_sendgrid(
    fakes: dict[str, FakeGmail],
) -> None:
    # SES lists AUTH before TLS, so smtplib tries it, and SES refuses it (ses.md SES-3).
    with (
        smtplib.SMTP(*fakes["ses"].submission, timeout=5) as client,
        pytest.raises(smtplib.SMTPAuthenticationError) as refused,
    ):
        client.login(USER, PASSWORD)
    assert (refused.value.smtp_code, refused.value.smtp_error) == (
        530,
        b"Must issue a STARTTLS command first",
    )
    # Microsoft 365 does not list AUTH before TLS, so smtplib will not try; a client that
    # does anyway gets Exchange's refusal (office365.md §3.7, [CODE]).
    with smtplib.SMTP(*fakes["office365"].submission, timeout=5) as client:
        client.ehlo()
        assert not client.has_extn("auth")
        with pytest.raises(smtplib.SMTPNotSupportedError):
            client.login(USER, PASSWORD)
        code, text = client.docmd("AUTH", "LOGIN")
    assert (code, text[:40]) == (530, b"5.7.0 Must issue a STARTTLS command firs")
    # SendGrid takes AUTH and the whole transaction in clear text (sendgrid.md SG-1, SG-4).
    with smtplib.SMTP(*fakes["sendgrid"].submission, timeout=5) as client:
        client.login(USER, PASSWORD)
        client.send_message(message("sendgrid in clear text"))
    assert received(fakes["sendgrid"], "sendgrid in clear text")
    assert fakes["ses"].messages == []
    assert fakes["office365"].messages == []


# ---------------------------------------------------------------- swaks and curl


def port_of(fake: FakeGmail, listener: Listener) -> int:
    return fake.listeners[listener].port


def swaks(
    fake: FakeGmail, listener: Listener, mechanism: str, subject: str, cafile: Path, **changes: str
) -> list[str]:
    tls = {Listener.SMTPS: ["--tls-on-connect"], Listener.SUBMISSION: ["--tls"]}.get(
        listener, ["--tls"]
    )
    if changes.get("tls") == "none":
        tls = []
    return [
        tool("swaks"), "--server", "127.0.0.1", "--port", str(port_of(fake, listener)), *tls,
        "--tls-verify", "--tls-ca-path", str(cafile),
        "--auth", mechanism, "--auth-user", USER,
        "--auth-password", changes.get("password", PASSWORD),
        "--from", "sender@example.org", "--to", "friend@example.org",
        "--header", f"Subject: {subject}", "--body", "Sent by swaks.",
    ]  # fmt: skip


def curl(
    fake: FakeGmail, listener: Listener, mechanism: str, subject: str, cafile: Path, **changes: str
) -> list[str]:
    mail = cafile.parent / f"{subject.replace(' ', '-')}.eml"
    mail.write_text(f"From: sender@example.org\r\nSubject: {subject}\r\n\r\nSent by curl.\r\n")
    port = port_of(fake, listener)
    scheme = "smtps" if listener.implicit_tls else "smtp"
    tls = [] if listener.implicit_tls or changes.get("tls") == "none" else ["--ssl-reqd"]
    return [
        tool("curl"), "--silent", "--show-error", "--url", f"{scheme}://localhost:{port}", *tls,
        "--cacert", str(cafile), "--resolve", f"localhost:{port}:127.0.0.1",
        "--login-options", f"AUTH={mechanism}",
        "--user", f"{USER}:{changes.get('password', PASSWORD)}",
        "--mail-from", "sender@example.org", "--mail-rcpt", "friend@example.org",
        "--upload-file", str(mail),
    ]  # fmt: skip


CLIENTS = {"swaks": swaks, "curl": curl}


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)


@pytest.mark.parametrize("client", ["swaks", "curl"])
@pytest.mark.parametrize(("persona", "listener", "mechanism"), ROUTES, ids=ROUTE_IDS)
def test_command_line_clients_send(
    fakes: dict[str, FakeGmail],
    cafile: Path,
    client: str,
    persona: str,
    listener: Listener,
    mechanism: str,
) -> None:
    subject = f"{client} {persona} {listener} {mechanism}"
    result = run(CLIENTS[client](fakes[persona], listener, mechanism, subject, cafile))
    assert result.returncode == 0, result.stdout + result.stderr
    assert received(fakes[persona], subject)["Subject"] == subject


@pytest.mark.parametrize("client", ["swaks", "curl"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_command_line_clients_report_a_wrong_password(
    fakes: dict[str, FakeGmail], cafile: Path, client: str, persona: str
) -> None:
    command = CLIENTS[client](
        fakes[persona], Listener.SUBMISSION, "LOGIN", "wrong", cafile, password="wrong"
    )
    result = run(command)
    # swaks exits 28 when AUTH fails; curl exits 67 ("Login denied").
    assert result.returncode == {"swaks": 28, "curl": 67}[client], result.stdout + result.stderr
    if client == "swaks":
        assert f"<~* {WRONG_PASSWORD[persona][0]} " in result.stdout  # the provider's words
        assert WRONG_PASSWORD[persona][1] in result.stdout


# Without TLS: SES refuses the AUTH it lists (530, ses.md SES-3); Microsoft 365 lists none, so
# swaks gives up and curl goes on to MAIL, which gets 530 5.7.57; SendGrid takes it all.
WITHOUT_TLS = {
    ("swaks", "ses"): (28, "<** 530 Must issue a STARTTLS command first"),
    ("swaks", "office365"): (28, "*** Host did not advertise authentication"),
    ("swaks", "sendgrid"): (0, "<-  235 Authentication successful"),
    ("curl", "ses"): (67, "curl: (67) Login denied"),
    ("curl", "office365"): (55, "curl: (55) MAIL failed: 530"),
    ("curl", "sendgrid"): (0, ""),
}


@pytest.mark.parametrize(("client", "persona"), sorted(WITHOUT_TLS))
def test_auth_without_tls_meets_each_providers_rule(
    fakes: dict[str, FakeGmail], cafile: Path, client: str, persona: str
) -> None:
    subject = f"{client} {persona} without tls"
    command = CLIENTS[client](
        fakes[persona], Listener.SUBMISSION, "LOGIN", subject, cafile, tls="none"
    )
    result = run(command)
    status, words = WITHOUT_TLS[client, persona]
    assert result.returncode == status, result.stdout + result.stderr
    assert words in result.stdout + result.stderr
    if status == 0:
        assert received(fakes[persona], subject)["Subject"] == subject
    else:
        assert fakes[persona].messages == []
