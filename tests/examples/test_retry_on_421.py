"""Recipe: check that the application retries when Gmail says it is busy."""

from __future__ import annotations

import ssl

from fakeserver import FakeGmail
from tests.examples.myapp import MailSettings, send_welcome


def test_retries_after_421(fake_gmail: FakeGmail, fake_gmail_ssl_context: ssl.SSLContext) -> None:
    fake_gmail.script.on("data", times=1).reply("rate_limited")  # 421 4.3.0, then normal
    host, port = fake_gmail.smtps
    settings = MailSettings(host, port, *fake_gmail.credentials, fake_gmail_ssl_context)

    send_welcome(settings, "new.user@example.org")

    assert len(fake_gmail.outbox.wait_for(1)) == 1  # delivered once, not twice
    fake_gmail.wait_for_sessions(2).assert_reconnected_after(421)
