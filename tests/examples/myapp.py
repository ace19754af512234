"""A small application that sends mail through Gmail, as the README's recipes test it.

It is written the way applications usually are: settings in, smtplib (or aiosmtplib) out,
a retry when Gmail says "try again later", and its own error when the login is refused.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

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


def invoice_message(
    settings: MailSettings, to: str, order: int, pdf: bytes, customer_id: str | None = None
) -> EmailMessage:
    """A text and an HTML version, and the invoice as a PDF: a new Date, Message-ID and MIME
    boundaries every time, as every real application's mail."""
    message = EmailMessage()
    if customer_id is not None:
        message["X-Customer-Id"] = customer_id
    message["From"] = settings.username
    message["To"] = to
    message["Subject"] = "Your invoice"
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="shop.example")
    text = f"your order {order} has shipped; the invoice is attached."
    message.set_content(f"Hello,\n\n{text}\n")
    message.add_alternative(f"<p>Hello,</p>\n<p>{text}</p>\n", subtype="html")
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="invoice.pdf")
    return message


def send_invoice(
    settings: MailSettings, to: str, order: int, pdf: bytes, customer_id: str | None = None
) -> None:
    """Sends the invoice over implicit TLS."""
    with smtplib.SMTP_SSL(
        settings.host, settings.port, context=settings.ssl_context, timeout=10
    ) as smtp:
        smtp.login(settings.username, settings.password)
        smtp.send_message(invoice_message(settings, to, order, pdf, customer_id))


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
