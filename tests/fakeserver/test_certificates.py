"""The certificates: valid for every built-in persona's host name, so an app that checks the
provider's name accepts the fake; and a certs dir made for other names keeps its CA."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest

from fakeserver.personas.loader import load_persona, shipped_personas
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.transport.tls import SERVER_NAMES, generate, load_or_create, write
from tests.support.rawsmtp import RawSMTP

OLD_NAMES = ("smtp.gmail.com", "localhost", "127.0.0.1", "::1")  # before the other personas


@pytest.mark.parametrize("name", shipped_personas())
def test_a_client_that_checks_the_providers_name_accepts_the_fake(name: str) -> None:
    hostname = load_persona(name).hostname
    assert hostname in SERVER_NAMES
    with FakeGmail(ServerOptions(persona=name)) as fake:
        # As an app whose DNS (or /etc/hosts) sends the provider's name to the fake.
        with RawSMTP(fake.submission) as raw:
            assert raw.reply()[0].startswith(b"220 ")
            raw.command("EHLO client.example")
            assert raw.command("STARTTLS")[0].startswith(b"220 ")
            raw.starttls(fake.client_context(), server_hostname=hostname)
            assert isinstance(raw.sock, ssl.SSLSocket)
            assert raw.command("EHLO client.example")[0].startswith(b"250")
        fake.check()


def test_a_name_the_certificate_does_not_hold_is_refused() -> None:
    with FakeGmail() as fake, RawSMTP(fake.submission) as raw:
        raw.reply()
        raw.command("EHLO client.example")
        raw.command("STARTTLS")
        with pytest.raises(ssl.SSLCertVerificationError, match=r"mail\.example\.com"):
            raw.starttls(fake.client_context(), server_hostname="mail.example.com")


def test_a_certs_dir_made_for_other_names_keeps_its_ca(tmp_path: Path) -> None:
    old = write(generate(OLD_NAMES), tmp_path)
    ca_before = old.ca.read_bytes()

    certificates, where, changed = load_or_create(tmp_path)

    assert changed
    assert where.ca.read_bytes() == ca_before, "clients that trust ca.pem go on trusting it"
    assert certificates.server_names == SERVER_NAMES
    metadata = json.loads((tmp_path / "smtprig-certs.json").read_text())
    assert metadata["server_names"] == list(SERVER_NAMES)
    # The new server certificate is the CA's, and holds the new names.
    with FakeGmail(ServerOptions(certificates=certificates, persona="sendgrid")) as fake:
        context = ssl.create_default_context(cafile=str(where.ca))
        with RawSMTP(fake.smtps, context=context, server_hostname="smtp.sendgrid.net") as raw:
            assert raw.reply()[0].startswith(b"220 ")
    assert load_or_create(tmp_path)[2] is False, "kept from now on"


def test_a_certs_dir_whose_ca_key_is_broken_is_made_afresh(tmp_path: Path) -> None:
    old = write(generate(OLD_NAMES), tmp_path)
    old.ca_key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")

    certificates, where, changed = load_or_create(tmp_path)

    assert changed
    assert certificates.server_names == SERVER_NAMES
    assert where.ca.read_bytes() == certificates.ca_pem
    assert b"broken" not in where.ca_key.read_bytes()
