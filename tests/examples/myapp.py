"""A small application that sends mail through Gmail, as the README's recipes test it.

It is written the way applications usually are: settings in, smtplib (or aiosmtplib) out,
a retry when Gmail says "try again later", and its own error when the login is refused.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib


class MailError(Exception):
    """The mail could not be sent; ``str()`` is what Gmail said."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    username: str
    password: str
    ssl_context: ssl.SSLContext
    attempts: int = 3


def welcome_message(settings: MailSettings, to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.username
    message["To"] = to
    message["Subject"] = "Welcome!"
    message.set_content(f"Hello {to}, thanks for signing up.\n")
    return message


def send_welcome(settings: MailSettings, to: str) -> None:
    """Sends the welcome mail over implicit TLS, retrying temporary failures."""
    for attempt in range(1, settings.attempts + 1):
        try:
            with smtplib.SMTP_SSL(
                settings.host, settings.port, context=settings.ssl_context, timeout=10
            ) as smtp:
                smtp.login(settings.username, settings.password)
                smtp.send_message(welcome_message(settings, to))
            return
        except smtplib.SMTPAuthenticationError as error:
            said = error.smtp_error
            raise MailError(said.decode() if isinstance(said, bytes) else said) from error
        except (smtplib.SMTPDataError, smtplib.SMTPServerDisconnected) as error:
            temporary = getattr(error, "smtp_code", 421) // 100 == 4
            if not temporary or attempt == settings.attempts:
                raise MailError(str(error)) from error


async def send_welcome_async(settings: MailSettings, to: str) -> None:
    """The same with aiosmtplib, over STARTTLS."""
    await aiosmtplib.send(
        welcome_message(settings, to),
        hostname=settings.host,
        port=settings.port,
        username=settings.username,
        password=settings.password,
        start_tls=True,
        tls_context=settings.ssl_context,
        timeout=10,
    )
