"""Recipe: check what the application does with a wrong password."""

from __future__ import annotations

import ssl

import pytest

from fakeserver import FakeGmail
from tests.examples.myapp import MailError, MailSettings, send_welcome


def test_bad_password_is_reported(
    fake_gmail: FakeGmail, fake_gmail_ssl_context: ssl.SSLContext
) -> None:
    host, port = fake_gmail.smtps
    settings = MailSettings(host, port, "tester@gmail.com", "wrong", fake_gmail_ssl_context)

    with pytest.raises(MailError, match="Username and Password not accepted"):
        send_welcome(settings, "new.user@example.org")

    assert fake_gmail.messages == []
