"""A whole submission conversation in one call, with swaks-style early stops for testing servers.

``submit`` connects, starts TLS the chosen way, authenticates, sends one message and quits.
``quit_after`` / ``drop_after`` end the conversation right after a named step, politely (QUIT)
or by dropping the connection, to see how a server copes with a client that goes away there.
"""

from __future__ import annotations

import enum
import os
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from client.protocol.events import Capabilities, SendResult
from client.protocol.message import prepare_message
from client.protocol.sasl import Login, Plain, SASLMechanism, XOAuth2
from client.smtp_client import DEFAULT_TIMEOUT_S, SMTPClient
from client.tls_mode import TLSMode
from client.transport import TranscriptSink

__all__ = ["StopPoint", "Submission", "TLSMode", "submit"]


class StopPoint(enum.Enum):
    """Points in the conversation after which it can be stopped (swaks' ``--quit-after``)."""

    CONNECT = "connect"
    """Connected (and TLS done, for implicit TLS) and greeted."""
    EHLO = "ehlo"
    """The first EHLO answered."""
    TLS = "tls"
    """The STARTTLS handshake done, before the EHLO that follows it."""
    AUTH = "auth"
    """Authenticated."""
    MAIL = "mail"
    """The sender accepted."""
    RCPT = "rcpt"
    """Every recipient answered."""
    DATA = "data"
    """354 received, before any message data. Only ``drop_after`` can stop here: QUIT would be
    taken as message text."""
    DOT = "dot"
    """The end of the data answered."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """One message to submit, and how.

    Attributes:
        host: server name or address.
        port: TCP port.
        message: the message; as bytes it needs ``sender`` and ``recipients``.
        sender: the reverse-path; the message's Sender or From address by default.
        recipients: the forward-paths; the message's To, Cc and Bcc by default.
        tls: how TLS is used.
        ssl_context: the TLS context; certificates are verified by default.
        cafile: a PEM file of CA certificates to trust instead of the system's.
        tls_hostname: the name the certificate must carry; ``host`` by default.
        username: authenticate as this user; no AUTH without it.
        secret: the password, or the OAuth 2.0 access token for XOAUTH2.
        auth_mechanism: ``"LOGIN"``, ``"PLAIN"`` or ``"XOAUTH2"``; by default PLAIN if
            offered, else LOGIN.
        local_hostname: the name for EHLO.
        timeout_s: seconds allowed for each operation.
        quit_after: send QUIT and stop after this step.
        drop_after: close the connection without QUIT after this step.
    """

    host: str
    port: int
    message: EmailMessage | bytes
    sender: str | None = None
    recipients: tuple[str, ...] | None = None
    tls: TLSMode = TLSMode.STARTTLS
    ssl_context: ssl.SSLContext | None = None
    cafile: str | os.PathLike[str] | None = None
    tls_hostname: str | None = None
    username: str | None = None
    secret: str | None = None
    auth_mechanism: str | None = None
    local_hostname: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    quit_after: StopPoint | None = None
    drop_after: StopPoint | None = None

    def __post_init__(self) -> None:
        stop = self.quit_after or self.drop_after
        if self.quit_after is not None and self.drop_after is not None:
            raise ValueError("give quit_after or drop_after, not both")
        if self.quit_after is StopPoint.DATA:
            raise ValueError("quit_after=DATA would send QUIT as message text; use drop_after")
        if stop is StopPoint.TLS and self.tls is not TLSMode.STARTTLS:
            raise ValueError("the 'tls' step exists only with tls=STARTTLS")
        if stop is StopPoint.AUTH and self.username is None:
            raise ValueError("the 'auth' step needs a username")
        if self.username is not None and self.secret is None:
            raise ValueError("a username needs a secret (password or token)")


def submit(submission: Submission, *, recorder: TranscriptSink | None = None) -> SendResult:
    """Run the conversation ``submission`` describes.

    Returns:
        The outcome; its ``reply`` is None if the conversation stopped before the end of data.

    Raises:
        ReplyError: a step was refused (the connection is then closed after QUIT).
        ValueError, SMTPError: see ``SMTPClient``.
    """
    with SMTPClient.connect(
        submission.host,
        submission.port,
        implicit_tls=submission.tls is TLSMode.IMPLICIT,
        ssl_context=submission.ssl_context,
        cafile=submission.cafile,
        tls_hostname=submission.tls_hostname,
        timeout_s=submission.timeout_s,
        recorder=recorder,
        local_hostname=submission.local_hostname,
    ) as client:
        return _converse(client, submission)


def _converse(client: SMTPClient, submission: Submission) -> SendResult:
    stopped = SendResult(None)
    if _stop_after(client, submission, StopPoint.CONNECT):
        return stopped
    client.identify()
    if _stop_after(client, submission, StopPoint.EHLO):
        return stopped
    if submission.tls is TLSMode.STARTTLS:
        client.starttls(send_ehlo=False)
        if _stop_after(client, submission, StopPoint.TLS):
            return stopped
        client.ehlo()
    if submission.username is not None and submission.secret is not None:
        offered = (client.capabilities or Capabilities()).auth_mechanisms
        mechanism = _mechanism(submission, submission.username, submission.secret, offered)
        client.authenticate(mechanism)
        if _stop_after(client, submission, StopPoint.AUTH):
            return stopped
    if not _stops_in_transaction(submission):
        return client.send_message(
            submission.message, sender=submission.sender, recipients=submission.recipients
        )
    prepared = prepare_message(
        submission.message,
        client.capabilities or Capabilities(),
        sender=submission.sender,
        recipients=submission.recipients,
    )
    client.mail(prepared.sender, parameters=prepared.mail_parameters)
    if _stop_after(client, submission, StopPoint.MAIL):
        return stopped
    for recipient in prepared.recipients:
        client.rcpt(recipient)
    if _stop_after(client, submission, StopPoint.RCPT):
        return SendResult(None, prepared.recipients)
    client.data()
    if _stop_after(client, submission, StopPoint.DATA):
        return SendResult(None, prepared.recipients)
    reply = client.message_data(prepared.data)
    _stop_after(client, submission, StopPoint.DOT)
    return SendResult(reply, prepared.recipients)


def _stops_in_transaction(submission: Submission) -> bool:
    stop = submission.quit_after or submission.drop_after
    return stop in (StopPoint.MAIL, StopPoint.RCPT, StopPoint.DATA, StopPoint.DOT)


def _stop_after(client: SMTPClient, submission: Submission, step: StopPoint) -> bool:
    if submission.quit_after is step:
        client.quit()
        return True
    if submission.drop_after is step:
        client.close()
        return True
    return False


def _mechanism(
    submission: Submission, username: str, secret: str, offered: tuple[str, ...]
) -> SASLMechanism:
    name = submission.auth_mechanism or ("PLAIN" if "PLAIN" in offered else "LOGIN")
    mechanisms: dict[str, SASLMechanism] = {
        "LOGIN": Login(username, secret),
        "PLAIN": Plain(username, secret),
        "XOAUTH2": XOAuth2(username, secret),
    }
    if name.upper() not in mechanisms:
        raise ValueError(f"unknown AUTH mechanism {name!r}; choose from {', '.join(mechanisms)}")
    return mechanisms[name.upper()]
