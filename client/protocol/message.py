"""Turning a message into what is sent for it, and judging the replies, without I/O.

``prepare_message`` decides the envelope (sender and recipients), the bytes to send, and the
MAIL parameters the server's capabilities require (SIZE, BODY=8BITMIME, SMTPUTF8), so that the
driver only has to send them: a ``PreparedMessage``. A message the server cannot take as is
(8-bit data without 8BITMIME, non-ASCII addresses without SMTPUTF8) is refused here, before any
byte is sent. ``judge_envelope`` reads the replies to MAIL, RCPT and DATA and says, as an
``EnvelopeVerdict``, whether the data can follow, and if not, which refusal explains why.
"""

from __future__ import annotations

import copy
import email.policy
import email.utils
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from client.errors import LocalProtocolError
from client.protocol.events import Capabilities, Exchange, Reply, Verb
from client.protocol.wire import normalize_line_endings

__all__ = ["EnvelopeVerdict", "PreparedMessage", "judge_envelope", "prepare_message"]

# Headers that name recipients who must not see each other (RFC 5322 §3.6.3); they are used for
# the envelope and then removed from the data, as every mail client does.
_BLIND_HEADERS = ("Bcc", "Resent-Bcc")


@dataclass(frozen=True, slots=True)
class PreparedMessage:
    """Everything needed to send one message: its envelope, its data and MAIL parameters.

    Attributes:
        sender: the reverse-path, without angle brackets ("" for the null sender).
        recipients: the forward-paths, in order, without duplicates.
        data: the message with CRLF line ends, before dot-stuffing.
        mail_parameters: ESMTP parameters for MAIL FROM, e.g. ``("SIZE=1234",)``.
    """

    sender: str
    recipients: tuple[str, ...]
    data: bytes
    mail_parameters: tuple[str, ...]


def prepare_message(
    message: EmailMessage | bytes,
    capabilities: Capabilities,
    *,
    sender: str | None = None,
    recipients: Sequence[str] | None = None,
) -> PreparedMessage:
    """Work out what to send for ``message`` to a server with ``capabilities``.

    Args:
        message: a message object, or the message as bytes (then ``sender`` and
            ``recipients`` are required).
        capabilities: what the server offered in its EHLO reply.
        sender: the reverse-path; by default the message's Sender, else its From address.
        recipients: the forward-paths; by default every To, Cc and Bcc address.

    Returns:
        What to send; Bcc headers are not in its data.

    Raises:
        ValueError: no sender or no recipients could be found.
        LocalProtocolError: the server lacks an extension the message needs.
    """
    if isinstance(message, EmailMessage):
        sender = _header_sender(message) if sender is None else sender
        recipients = _header_recipients(message) if recipients is None else recipients
    if sender is None:
        raise ValueError("no sender: pass sender=, or give the message a From header")
    if not recipients:
        raise ValueError("no recipients: pass recipients=, or give the message To/Cc/Bcc")
    unique_recipients = tuple(dict.fromkeys(recipients))
    needs_smtputf8 = not all(address.isascii() for address in (sender, *unique_recipients))
    if needs_smtputf8 and not capabilities.smtputf8:
        raise LocalProtocolError(
            "an address is not ASCII and the server does not offer SMTPUTF8 (RFC 6531 §3.2)"
        )
    if isinstance(message, EmailMessage):
        data = _serialize(message, utf8=needs_smtputf8)
    else:
        data = normalize_line_endings(message)
    parameters: list[str] = []
    if capabilities.has("SIZE"):
        parameters.append(f"SIZE={len(data)}")
    if not data.isascii():
        # RFC 6152 §3: 8-bit data only with BODY=8BITMIME, and only to a server offering it.
        if not capabilities.eight_bit_mime:
            raise LocalProtocolError(
                "the message has 8-bit data and the server does not offer 8BITMIME "
                "(RFC 6152 §3); encode it as quoted-printable or base64"
            )
        parameters.append("BODY=8BITMIME")
    if needs_smtputf8:
        parameters.append("SMTPUTF8")
    return PreparedMessage(sender, unique_recipients, data, tuple(parameters))


def _header_sender(message: EmailMessage) -> str | None:
    # RFC 5322 §3.6.2: Sender names the agent responsible for sending, when it is not From.
    for header in ("Sender", "From"):
        addresses = email.utils.getaddresses(message.get_all(header, []))
        if addresses and addresses[0][1]:
            return addresses[0][1]
    return None


def _header_recipients(message: EmailMessage) -> list[str]:
    values = [value for header in ("To", "Cc", "Bcc") for value in message.get_all(header, [])]
    return [address for _, address in email.utils.getaddresses(values) if address]


def _serialize(message: EmailMessage, *, utf8: bool) -> bytes:
    without_blind = copy.copy(message)
    for header in _BLIND_HEADERS:
        del without_blind[header]
    # policy.SMTP writes CRLF and RFC 2047-encodes non-ASCII headers; SMTPUTF8 writes them as
    # UTF-8, which is allowed only in an SMTPUTF8 transaction (RFC 6532 §3).
    policy = email.policy.SMTPUTF8 if utf8 else email.policy.SMTP
    return without_blind.as_bytes(policy=policy)


@dataclass(frozen=True, slots=True)
class EnvelopeVerdict:
    """How the envelope of one message went.

    Attributes:
        accepted: recipients the server accepted.
        refused: refused recipients, each with its reply.
        failure: the exchange whose refusal stops the message, or None if the data can follow.
    """

    accepted: tuple[str, ...]
    refused: tuple[tuple[str, Reply], ...]
    failure: Exchange | None


def judge_envelope(recipients: Sequence[str], exchanges: Sequence[Exchange]) -> EnvelopeVerdict:
    """Judge the replies to MAIL, the RCPTs and DATA, in order; the list may stop early.

    The data can follow only if the last exchange is DATA answered with 354. Otherwise, with a
    recipient accepted, the last exchange is what failed; without one, the first refusal (of
    MAIL or of the first recipient) says why. A 421 always wins: the server is closing
    (RFC 5321 §3.8).
    """
    replies = [exchange.reply for exchange in exchanges if exchange.command.verb is Verb.RCPT]
    pairs = list(zip(recipients, replies, strict=False))
    accepted = tuple(to for to, reply in pairs if reply.is_completion)
    refused = tuple((to, reply) for to, reply in pairs if not reply.is_completion)
    last = exchanges[-1]
    failure: Exchange | None = None
    if last.command.verb is not Verb.DATA or not last.reply.is_intermediate:
        failure = last
        if not accepted and last.reply.code != 421:
            failure = next((item for item in exchanges if item.reply.code >= 400), last)
    return EnvelopeVerdict(accepted, refused, failure)
