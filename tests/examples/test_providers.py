"""Recipe: one test against every provider, and a provider's own refusal."""

from __future__ import annotations

import ssl

import pytest

from fakeserver import FakeGmail
from tests.examples.myapp import MailError, MailSettings, send_welcome, send_welcome_async
from tests.support.asyncclient import run_client


@pytest.mark.parametrize("fake_server_persona", ["gmail", "office365", "ses", "sendgrid"])
def test_welcome_mail_through_every_provider(
    fake_server: FakeGmail, fake_gmail_ssl_context: ssl.SSLContext
) -> None:
    host, port = fake_server.submission  # every provider has a STARTTLS port
    settings = MailSettings(host, port, *fake_server.credentials, fake_gmail_ssl_context)

    run_client(send_welcome_async(settings, "new.user@example.org"))

    [mail] = fake_server.outbox.wait_for(1)
    assert mail.message["Subject"] == "Welcome!"
    fake_server.wait_for_sessions(1).assert_ehlo_after_starttls()


@pytest.mark.parametrize("fake_server_persona", ["ses"])
def test_an_unverified_sender_is_reported(
    fake_server: FakeGmail, fake_gmail_ssl_context: ssl.SSLContext
) -> None:
    fake_server.script.on("end_of_data").reply("sender_not_allowed")  # SES's sandbox 554
    host, port = fake_server.smtps
    settings = MailSettings(host, port, *fake_server.credentials, fake_gmail_ssl_context)

    with pytest.raises(MailError, match="Email address is not verified"):
        send_welcome(settings, "new.user@example.org")

    assert fake_server.messages == []
