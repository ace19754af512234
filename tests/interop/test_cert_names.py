"""``--cert-name``: a client that checks the name it connects by (an SES region's, a company
relay's) accepts the fake when the certificate holds that name, and refuses it, with the
reason in the fake's output, when it does not. curl checks the name; ``--resolve`` sends the
name to loopback, as /etc/hosts would.

curl is installed by .ci/run; a missing one fails the test rather than skipping it.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from fakeserver.cli.main import main
from fakeserver.errors import ConfigurationError
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.session.records import EndReason
from fakeserver.session.session import LEFT_AFTER_HANDSHAKE
from fakeserver.transport.tls import (
    SERVER_NAMES,
    client_context,
    default_certificates,
    generate,
    load_or_create,
    server_name,
    write,
)
from tests.support.rawsmtp import RawSMTP
from tests.support.serveproc import ServeProcess

REGIONAL = "email-smtp.us-east-1.amazonaws.com"  # ses.md: the certificate names the region
SERVE = ("--smtps-port", "0", "--submission-port", "0", "--certs-dir", "certs", "--no-http")
TIMEOUT_S = 20


def curl_send(name: str, port: int, cafile: str, mail: Path) -> subprocess.CompletedProcess[str]:
    curl = shutil.which("curl")
    assert curl is not None, "curl is missing: .ci/run installs it"
    command = [
        curl, "--silent", "--show-error", "--url", f"smtps://{name}:{port}",
        "--resolve", f"{name}:{port}:127.0.0.1", "--cacert", cafile,
        "--user", "tester@gmail.com:app-password",
        "--mail-from", "tester@gmail.com", "--mail-rcpt", "friend@example.org",
        "--upload-file", str(mail),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)


def test_a_client_that_checks_a_regional_name_sends_when_the_certificate_holds_it(
    tmp_path: Path,
) -> None:
    mail = tmp_path / "mail.eml"
    mail.write_text("From: tester@gmail.com\r\nSubject: regional\r\n\r\nHello.\r\n")
    args = (*SERVE, "--persona", "ses", "--cert-name", REGIONAL)
    with ServeProcess(*args, "--json", cwd=tmp_path) as server:
        ready = json.loads(server.expect(r"^\{").string)
        result = curl_send(REGIONAL, ready["smtps"]["port"], ready["cafile"], mail)
        assert result.returncode == 0, result.stderr
        message = json.loads(server.expect(r'^\{"event": "message"').string)
        assert message["subject"] == "regional"
        assert server.stop() == 0


def test_without_the_name_curl_leaves_after_the_handshake_and_the_fake_says_why(
    tmp_path: Path,
) -> None:
    mail = tmp_path / "mail.eml"
    mail.write_text("Subject: refused\r\n\r\nHello.\r\n")
    with ServeProcess(*SERVE, "--persona", "ses", "--json", cwd=tmp_path) as server:
        ready = json.loads(server.expect(r"^\{").string)
        result = curl_send(REGIONAL, ready["smtps"]["port"], ready["cafile"], mail)
        assert result.returncode == 60, result.stderr  # curl: peer certificate not trusted
        assert REGIONAL in result.stderr
        # curl checks the name once the handshake is done, and leaves without a word.
        closed = json.loads(server.expect(r'^\{"event": "closed"').string)
        assert closed["ended"] == "client closed"
        assert closed["end_detail"] == LEFT_AFTER_HANDSHAKE
        assert "--cert-name NAME adds one" in closed["end_detail"]
        assert server.stop() == 0


def test_without_the_name_python_refuses_in_the_handshake_and_the_fake_says_why() -> None:
    # Python's ssl checks the name inside the handshake, so the handshake fails.
    with FakeGmail(ServerOptions(persona="ses")) as fake:
        with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
            RawSMTP(fake.smtps, context=fake.client_context(), server_hostname=REGIONAL)
        (record,) = fake.wait_for_sessions(1)
    assert record.ended is EndReason.TLS_FAILED
    assert record.end_detail is not None
    assert "connect by a name the certificate holds" in record.end_detail


def test_a_client_that_talks_after_the_handshake_gets_no_such_hint() -> None:
    with FakeGmail() as fake:
        with RawSMTP(fake.smtps, context=fake.client_context()) as raw:
            raw.reply()
            raw.command("EHLO client.example")
        (record,) = fake.wait_for_sessions(1)
    assert record.ended is EndReason.CLIENT_CLOSED
    assert record.end_detail is None


def test_in_python_cert_names_add_names_from_the_ca_everything_already_trusts() -> None:
    options = ServerOptions(persona="ses", cert_names=(REGIONAL, "Relay.Corp.TEST"))
    with FakeGmail(options) as fake:
        assert fake.certificates.server_names == (*SERVER_NAMES, REGIONAL, "relay.corp.test")
        # The context the pytest plugin hands out trusts the process's CA: it still does.
        trusting = client_context(default_certificates())
        with RawSMTP(fake.smtps, context=trusting, server_hostname=REGIONAL) as raw:
            assert raw.reply()[0].startswith(b"220 email-smtp.amazonaws.com ESMTP")
            assert raw.command("QUIT")[0].startswith(b"221")
        fake.check()


@pytest.mark.parametrize(
    ("names", "error"),
    [(("bad name",), "'bad name' is not a host name"), (REGIONAL, "not one string")],
)
def test_cert_names_that_cannot_be_held_are_a_configuration_error(
    names: tuple[str, ...] | str, error: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"cert_names.*{error}"):
        ServerOptions(cert_names=names)


def test_the_banner_lists_the_names_asked_for(tmp_path: Path) -> None:
    args = (*SERVE, "--persona", "ses", "--cert-name", REGIONAL, "--cert-name", "relay.corp.test")
    with ServeProcess(*args, cwd=tmp_path) as server:
        server.expect(
            r"The certificate is valid for email-smtp\.amazonaws\.com, localhost, 127\.0\.0\.1"
            r" and ::1 \(and 3 other personas' host names\); also"
            r" email-smtp\.us-east-1\.amazonaws\.com, relay\.corp\.test\.$"
        )
        assert server.stop() == 0


def test_a_name_added_later_keeps_the_ca_and_the_names_already_held(tmp_path: Path) -> None:
    first = write(generate(), tmp_path)
    ca = first.ca.read_bytes()

    certificates, _, changed = load_or_create(tmp_path, server_names=(*SERVER_NAMES, REGIONAL))
    assert changed
    assert first.ca.read_bytes() == ca, "clients that trust ca.pem go on trusting it"
    assert certificates.server_names == (*SERVER_NAMES, REGIONAL)

    # A run that asks for fewer names keeps the certificate as it is (no taking turns).
    assert load_or_create(tmp_path)[1:] == (first, False)
    again, _, changed = load_or_create(tmp_path, server_names=(*SERVER_NAMES, "relay.corp.test"))
    assert changed
    assert again.server_names == (*SERVER_NAMES, "relay.corp.test", REGIONAL)


@pytest.mark.parametrize(
    "name", ["bad name", "10.0.0.005", "-relay.test", "relay..test", "mail.ex_ample.test", "é.test"]
)
def test_a_name_a_certificate_cannot_hold_is_refused_with_an_example(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["certs", "--certs-dir", str(tmp_path), f"--cert-name={name}"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"--cert-name: {name!r} is not a host name or IP address" in error
    assert "give one like email-smtp.us-east-1.amazonaws.com" in error
    assert not (tmp_path / "ca.pem").exists()


@pytest.mark.parametrize(
    ("name", "held"),
    [("Relay.Corp.TEST", "relay.corp.test"), ("*.example.test", "*.example.test"),
     ("10.0.0.5", "10.0.0.5"), ("fe80:0::1", "fe80::1")],
)  # fmt: skip
def test_a_name_is_held_in_its_plain_form(name: str, held: str) -> None:
    assert server_name(name) == held
