"""``make demo``: the seed's conversation, done right, against a fake Gmail.

The seed (a blog post) spoke SMTP to smtp.gmail.com:465 by hand: HELO, AUTH LOGIN, MAIL
FROM, RCPT TO, DATA, QUIT, one ``recv(1024)`` per command. This runs the same steps with
smtprig's client, against a fake Gmail started for the occasion, prints every line as the
seed did (the password redacted), shows what the fake captured, and stops.
"""

from __future__ import annotations

import sys

from client.console import ConsoleLog
from client.smtp_client import SMTPClient
from fakeserver.server.fake import FakeGmail

__all__ = ["main"]

MESSAGE = b"Subject: Hello from the seed\r\n\r\nHello, world\r\n"


def main() -> int:
    """Runs the demo; returns the exit status."""
    with FakeGmail() as gmail:
        host, port = gmail.smtps
        user, password = gmail.credentials
        print(f"A fake Gmail is listening on {host} port {port} (implicit TLS, like 465).")
        print("The seed's conversation, by smtprig's client:\n")
        console = ConsoleLog(sys.stdout)
        with SMTPClient.connect(
            host,
            port,
            implicit_tls=True,
            ssl_context=gmail.client_context(),
            tls_hostname="smtp.gmail.com",
            recorder=console,
        ) as client:
            client.helo("Ken")
            client.auth_login(user, password)
            client.mail(user)
            client.rcpt("friend@example.org")
            client.data()
            client.message_data(MESSAGE)
        [captured] = gmail.outbox.wait_for(1)
        session = captured.session
        print("\nWhat the fake captured:")
        print(f"  from {captured.mail_from} to {', '.join(captured.recipients)}")
        print(f"  over {session.tls_version} as {session.user} ({session.auth_mechanism})")
        print(f"  session id {session.session_id}")
        for line in captured.raw.decode("utf-8", "replace").splitlines():
            print(f"  | {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
