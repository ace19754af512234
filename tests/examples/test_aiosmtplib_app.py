"""Recipe: test an asyncio application that sends mail with aiosmtplib."""

from __future__ import annotations

import ssl

from fakeserver import FakeGmail
from tests.examples.myapp import MailSettings, send_welcome_async
from tests.support.asyncclient import run_client


def test_async_welcome_mail(fake_gmail: FakeGmail, fake_gmail_ssl_context: ssl.SSLContext) -> None:
    host, port = fake_gmail.submission  # the STARTTLS port, like 587
    settings = MailSettings(host, port, *fake_gmail.credentials, fake_gmail_ssl_context)

    run_client(send_welcome_async(settings, "new.user@example.org"))

    [mail] = fake_gmail.outbox.wait_for(1)
    assert mail.session.tls_version == "TLSv1.3"
    fake_gmail.wait_for_sessions(1).assert_ehlo_after_starttls()
