"""Clients as the tests drive them through the proxy and against the replay server, and a
transcript that holds secrets."""

from __future__ import annotations

import base64
import smtplib
import ssl
from collections.abc import Callable
from pathlib import Path

from client.transcript import Direction, Recorder, write
from fakeserver.recordreplay.proxy import TLSMode
from tests.support.rawsmtp import RawSMTP

C, S = Direction.CLIENT, Direction.SERVER
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


SECRET_USER, SECRET_PASSWORD = "me@gmail.com", "correct horse battery"
_PLAIN_BLOB = base64.b64encode(f"\0{SECRET_USER}\0{SECRET_PASSWORD}".encode()).decode()
_WRONG_PASSWORD = base64.b64encode(b"a wrong password").decode()
SECRETS = [*secret_spellings(SECRET_USER, SECRET_PASSWORD), _WRONG_PASSWORD]
"""What must never be shown or stored when the transcript of ``write_secret_transcript`` is
replayed against ``send_wrong_password``."""


def write_secret_transcript(path: Path) -> Path:
    """A transcript written with its secrets (AUTH LOGIN, then AUTH PLAIN), unredacted."""
    recorder = Recorder(redact_secrets=False)
    for direction, line in [
        (S, "220 smtp.gmail.com ESMTP id1sm1.1 - gsmtp"),
        (C, "EHLO laptop"),
        (S, "250 AUTH LOGIN PLAIN"),
        (C, "AUTH LOGIN"),
        (S, "334 VXNlcm5hbWU6"),
        (C, base64.b64encode(SECRET_USER.encode()).decode()),
        (S, "334 UGFzc3dvcmQ6"),
        (C, base64.b64encode(SECRET_PASSWORD.encode()).decode()),
        (S, "235 2.7.0 Accepted"),
        (C, f"AUTH PLAIN {_PLAIN_BLOB}"),
        (S, "503 5.5.1 Already authenticated"),
        (C, "QUIT"),
        (S, "221 2.0.0 closing connection id1sm1.1 - gsmtp"),
    ]:
        recorder.line(direction, f"{line}\r\n".encode())
    write(path, recorder.transcript(), redact_secrets=False)
    if _PLAIN_BLOB not in path.read_text():
        raise AssertionError("the transcript should hold the secret")
    return path


def send_wrong_password(raw: RawSMTP) -> str:
    """Follows ``write_secret_transcript`` up to the password, and sends another; returns the
    reply (a 554 from the replay server)."""
    raw.reply()
    raw.command("EHLO laptop")
    raw.command("AUTH LOGIN")
    raw.command(base64.b64encode(SECRET_USER.encode()).decode())
    return raw.text(_WRONG_PASSWORD)
