"""smtplib as the tests drive it through the proxy and against the replay server."""

from __future__ import annotations

import base64
import smtplib
import ssl
from collections.abc import Callable

from fakeserver.proxy import TLSMode

TIMEOUT_S = 5.0
MESSAGE = b"From: tester@gmail.com\r\nSubject: recorded\r\n\r\nHello through the proxy.\r\n"


def connect(address: tuple[str, int], mode: TLSMode, context: ssl.SSLContext) -> smtplib.SMTP:
    """An smtplib client, TLS as ``mode`` says; the certificate and its name are checked."""
    host, port = address
    if mode is TLSMode.IMPLICIT:
        return smtplib.SMTP_SSL(host, port, context=context, timeout=TIMEOUT_S)
    client = smtplib.SMTP(host, port, timeout=TIMEOUT_S)
    if mode is TLSMode.STARTTLS:
        try:
            client.starttls(context=context)
        except BaseException:
            client.close()
            raise
    return client


def login(client: smtplib.SMTP, user: str, password: str, mechanism: str = "PLAIN") -> None:
    """Logs in with ``mechanism`` (smtplib would pick PLAIN from Gmail's list)."""
    client.ehlo_or_helo_if_needed()
    client.user, client.password = user, password
    authobject: Callable[..., str] = (
        client.auth_login if mechanism == "LOGIN" else client.auth_plain
    )
    client.auth(mechanism, authobject)


def send(
    address: tuple[str, int],
    mode: TLSMode,
    context: ssl.SSLContext,
    credentials: tuple[str, str],
    *,
    mechanism: str = "PLAIN",
    recipient: str = "friend@example.org",
) -> None:
    """One whole session: TLS as ``mode`` says, login, one message, QUIT."""
    with connect(address, mode, context) as client:
        login(client, *credentials, mechanism)
        client.sendmail("tester@gmail.com", [recipient], MESSAGE)


def secret_spellings(user: str, password: str) -> list[str]:
    """Every spelling of the credentials that must never reach a file or an output."""
    plain = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    return [password, base64.b64encode(password.encode()).decode(), plain]
