"""Sending whole messages: each message's envelope, the judging of its replies, then its data.

``MessageSender`` does what ``SMTPClient.send_message`` and ``send_messages`` promise, on the
client's ``Driver``. With PIPELINING (RFC 2920) MAIL, every RCPT and DATA go in one write, and
in a batch each message's end of data goes in one write with the next message's envelope;
without it, one command at a time. Whatever happens, a refused envelope leaves no transaction
half open: it is reset before the next message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from email.message import EmailMessage

from client._driver import FATAL_ERRORS, Driver, reply_or_raise
from client.errors import LocalProtocolError, ReplyError, SMTPError
from client.protocol.events import Capabilities, Exchange, SendResult, Verb
from client.protocol.message import (
    EnvelopeVerdict,
    PreparedMessage,
    judge_envelope,
    prepare_message,
)
from client.protocol.states import ClientState

__all__ = ["MessageSender"]


class MessageSender:
    """Sends messages on one connection that has already said EHLO or HELO.

    Args:
        driver: the connection's driver.
    """

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._core = driver.core

    def send_message(
        self,
        message: EmailMessage | bytes,
        *,
        sender: str | None = None,
        recipients: Sequence[str] | None = None,
    ) -> SendResult:
        """See ``SMTPClient.send_message``."""
        return self._send(self._prepare(message, sender, recipients))

    def send_messages(
        self,
        messages: Iterable[EmailMessage | bytes],
        *,
        sender: str | None = None,
        recipients: Sequence[str] | None = None,
    ) -> list[SendResult | SMTPError]:
        """See ``SMTPClient.send_messages``; every message is prepared before any is sent."""
        prepared = [self._prepare(message, sender, recipients) for message in messages]
        results: list[SendResult | SMTPError] = []
        try:
            if self._pipelining:
                self._send_pipelined(prepared, results)
            else:
                for each in prepared:
                    try:
                        results.append(self._send(each))
                    except ReplyError as refused:
                        results.append(refused)
                        if self._core.state is ClientState.CLOSED:
                            break  # a 421: the session is over
        except (*FATAL_ERRORS, ReplyError) as error:  # a ReplyError here refused the RSET
            self._driver.close()
            if isinstance(error, LocalProtocolError):
                raise
            results.append(error)
        ended = results[-1] if len(results) < len(prepared) else None
        results.extend(ended for _ in range(len(prepared) - len(results)) if ended)
        return results

    def _prepare(
        self,
        message: EmailMessage | bytes,
        sender: str | None,
        recipients: Sequence[str] | None,
    ) -> PreparedMessage:
        capabilities = self._core.capabilities or Capabilities()
        return prepare_message(message, capabilities, sender=sender, recipients=recipients)

    @property
    def _pipelining(self) -> bool:
        capabilities = self._core.capabilities
        return bool(capabilities and capabilities.pipelining)

    def _send(self, prepared: PreparedMessage) -> SendResult:
        """One message: its envelope (in one write with PIPELINING), then its data."""
        if self._pipelining:
            group, count = self._envelope_group(prepared)
            self._driver.send(group)
            exchanges = self._envelope_replies(count)
        else:
            exchanges = self._envelope_one_at_a_time(prepared)
        verdict = self._judge(prepared, exchanges)
        reply = self._driver.command(self._core.message_data, prepared.data)
        return SendResult(reply, verdict.accepted, verdict.refused)

    def _send_pipelined(
        self, prepared: Sequence[PreparedMessage], results: list[SendResult | SMTPError]
    ) -> None:
        """The pipelined half of ``send_messages``; appends to ``results`` as replies come."""
        if not prepared:
            return
        group, count = self._envelope_group(prepared[0])
        self._driver.send(group)
        for index, message in enumerate(prepared):
            exchanges = self._envelope_replies(count)
            following = prepared[index + 1] if index + 1 < len(prepared) else None
            try:
                verdict = self._judge(message, exchanges, reset=False)
            except ReplyError as refused:
                results.append(refused)
                if self._core.state is ClientState.CLOSED:
                    return
                in_transaction = self._core.state is not ClientState.READY
                reset = self._driver.encode(self._core.rset) if in_transaction else b""
                group, count = self._envelope_group(following) if following else (b"", 0)
                if reset or group:
                    self._driver.send(reset + group)
                if reset:
                    reply_or_raise(self._driver.next_exchange())
                continue
            data = self._driver.encode(self._core.message_data, message.data)
            group, count = self._envelope_group(following) if following else (b"", 0)
            self._driver.send(data + group)
            end = self._driver.next_exchange()
            if end.reply.is_completion:
                results.append(SendResult(end.reply, verdict.accepted, verdict.refused))
            else:
                results.append(ReplyError.for_reply(end.reply, end.command))
            if self._core.state is ClientState.CLOSED:
                return

    def _envelope_group(self, prepared: PreparedMessage) -> tuple[bytes, int]:
        """MAIL, a RCPT per recipient and DATA, encoded for one write; and how many."""
        encode, core = self._driver.encode, self._core
        lines = [encode(core.mail, prepared.sender, prepared.mail_parameters)]
        lines.extend(encode(core.rcpt, to) for to in prepared.recipients)
        lines.append(encode(core.data))
        return b"".join(lines), len(lines)

    def _envelope_replies(self, count: int) -> list[Exchange]:
        exchanges: list[Exchange] = []
        # After a 421 the server closes (RFC 5321 §3.8): the other replies never come.
        while len(exchanges) < count and self._core.state is not ClientState.CLOSED:
            exchanges.append(self._driver.next_exchange())
        return exchanges

    def _envelope_one_at_a_time(self, prepared: PreparedMessage) -> list[Exchange]:
        core = self._core
        steps: list[tuple[Verb, Callable[[], bytes]]] = [
            (Verb.MAIL, functools.partial(core.mail, prepared.sender, prepared.mail_parameters)),
            *((Verb.RCPT, functools.partial(core.rcpt, to)) for to in prepared.recipients),
            (Verb.DATA, core.data),
        ]
        exchanges: list[Exchange] = []
        # A refused MAIL or only refused recipients make the rest pointless.
        for verb, encode in steps:
            if exchanges and not core.allows(verb):
                break
            exchanges.append(self._driver.exchange(encode))
        return exchanges

    def _judge(
        self,
        prepared: PreparedMessage,
        exchanges: Sequence[Exchange],
        *,
        reset: bool = True,
    ) -> EnvelopeVerdict:
        """The envelope's verdict; raises its ``ReplyError`` when the data cannot follow,
        after a RSET that ends the half-open transaction unless ``reset`` is False."""
        verdict = judge_envelope(prepared.recipients, exchanges)
        if verdict.failure is not None:
            if reset and self._core.state in (ClientState.MAIL, ClientState.RCPT):
                self._driver.exchange(self._core.rset)
            raise ReplyError.for_reply(verdict.failure.reply, verdict.failure.command)
        return verdict
