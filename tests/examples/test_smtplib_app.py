"""Recipe: test an application that sends mail with smtplib."""

from __future__ import annotations

import ssl

from fakeserver import FakeGmail
from tests.examples.myapp import MailSettings, send_welcome


def test_welcome_mail_is_sent(
    fake_gmail: FakeGmail, fake_gmail_ssl_context: ssl.SSLContext
) -> None:
    host, port = fake_gmail.smtps
    settings = MailSettings(host, port, *fake_gmail.credentials, fake_gmail_ssl_context)

    send_welcome(settings, "new.user@example.org")

    [mail] = fake_gmail.outbox.wait_for(1)
    assert mail.recipients == ("new.user@example.org",)
    assert mail.message["Subject"] == "Welcome!"
    assert "thanks for signing up" in mail.message.get_content()
    fake_gmail.wait_for_sessions(1).assert_quit()
