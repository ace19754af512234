"""An application's mail code, as it is usually written: smtplib, with retries.

It sends one message and, like most applications (and ``tests/examples/myapp.py``), tries
again when the failure looks temporary: a 4xx reply, or a connection that closed or timed out
under it. That is the behaviour fault experiments are for: it survives a 421 at DATA, and it
delivers twice when the 250 after the message is lost.

With ``--lax-tls`` it does TLS the way much application code does: STARTTLS only when the
server offers it, and smtplib's own context, which checks neither the certificate nor the
host name (``ssl._create_stdlib_context``). Fault experiments show what that costs: a
stripped STARTTLS sends the password in clear text, and any certificate is trusted.

::

    python examples/clients/smtplib_client.py --host 127.0.0.1 --port 2465 --tls implicit \
        --cafile certs/ca.pem --user tester@gmail.com --password-env PASSWORD \
        --from tester@gmail.com --to friend@example.org [--attempts 3] [--timeout 10] [--lax-tls]

Exit status 0 when the message was accepted; 1 with the reason on standard error otherwise.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import ssl
import sys
import time
from collections.abc import Sequence
from email.message import EmailMessage

RETRY_DELAY_S = 0.2


def send(arguments: argparse.Namespace, message: EmailMessage, password: str) -> None:
    """One attempt: connect, TLS as asked, log in, send, QUIT."""
    # None makes smtplib use its own context, which verifies nothing (--lax-tls).
    context = None if arguments.lax_tls else ssl.create_default_context(cafile=arguments.cafile)
    smtp: smtplib.SMTP
    if arguments.tls == "implicit":
        smtp = smtplib.SMTP_SSL(
            arguments.host, arguments.port, context=context, timeout=arguments.timeout
        )
    else:
        smtp = smtplib.SMTP(arguments.host, arguments.port, timeout=arguments.timeout)
    with smtp:
        smtp.ehlo()
        offered = smtp.has_extn("starttls")
        if arguments.tls == "starttls" and (offered or not arguments.lax_tls):
            smtp.starttls(context=context)
        smtp.login(arguments.user, password)
        smtp.send_message(message)


def temporary(error: Exception) -> bool:
    """Whether trying again might help: a 4xx reply, or a lost or timed-out connection."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code // 100 == 4 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code // 100 == 4
    return isinstance(error, smtplib.SMTPServerDisconnected | ConnectionError | TimeoutError)


def main(argv: Sequence[str] | None = None) -> int:
    """Sends the message, retrying temporary failures; returns the exit status."""
    arguments = _parser().parse_args(argv)
    message = EmailMessage()
    message["From"], message["To"] = arguments.sender, arguments.to
    message["Subject"] = arguments.subject
    message.set_content(arguments.body)
    password = os.environ[arguments.password_env]
    for attempt in range(1, arguments.attempts + 1):
        try:
            send(arguments, message, password)
        except (smtplib.SMTPException, OSError) as error:
            if attempt < arguments.attempts and temporary(error):
                print(f"attempt {attempt} failed, trying again: {error!r}", file=sys.stderr)
                time.sleep(RETRY_DELAY_S)
                continue
            print(f"smtplib_client: not sent: {error!r}", file=sys.stderr)
            return 1
        print(f"sent on attempt {attempt}")
        return 0
    return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Send one message with smtplib, with retries.")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls", choices=["implicit", "starttls"], default="implicit")
    parser.add_argument("--cafile", help="CA certificates to trust (default: the system's)")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-env", required=True, metavar="VAR")
    parser.add_argument("--from", dest="sender", required=True)
    parser.add_argument("--to", required=True)
    parser.add_argument("--subject", default="Hello")
    parser.add_argument("--body", default="Hello, world")
    parser.add_argument("--attempts", type=int, default=3, help="tries in all")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per operation")
    parser.add_argument(
        "--lax-tls",
        action="store_true",
        help="STARTTLS only if offered, and no certificate check (what not to do)",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
