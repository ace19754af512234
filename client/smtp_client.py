"""``SMTPClient``, the blocking client: the public face of one connection.

Its methods are the whole API; the work is done by three collaborators it owns:
``client._driver.Driver`` (the round trip between the protocol core and the socket, each one
bounded by ``timeout_s``), ``client._sending.MessageSender`` (whole messages, pipelined when the
server allows) and ``client._raw.RawMode`` (bytes as given, replies parsed, never judged).

After a protocol error, a timeout, a lost connection or a failed TLS handshake the connection is
closed; after a refusing reply (``ReplyError``) the session goes on.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import ssl
import warnings
from collections.abc import Callable, Iterable, Sequence
from email.message import EmailMessage
from typing import Concatenate, Final, ParamSpec, Self, TypeVar

from client._driver import FATAL_ERRORS, Driver, reply_or_raise
from client._raw import RawMode
from client._sending import MessageSender
from client.errors import PermanentReplyError, RemoteProtocolError, SMTPError
from client.protocol.events import Capabilities, Reply, SendResult, Verb
from client.protocol.sasl import Login, Plain, SASLConversation, SASLMechanism, XOAuth2
from client.protocol.states import ClientState
from client.transport import TranscriptSink, Transport

__all__ = ["DEFAULT_TIMEOUT_S", "SMTPClient"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S: Final = 30.0
"""Seconds allowed for each operation. RFC 5321 §4.5.3.2 suggests minutes for a relay; a test
tool should fail fast, and callers sending large messages can raise it."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _closes_on_failure(
    method: Callable[Concatenate[SMTPClient, _P], _R],
) -> Callable[Concatenate[SMTPClient, _P], _R]:
    """After an error that leaves the conversation out of step, close the connection."""

    @functools.wraps(method)
    def wrapper(self: SMTPClient, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except FATAL_ERRORS:
            self.close()
            raise

    return wrapper


class SMTPClient:
    """A blocking SMTP client: one connection, used step by step, to send whole messages, or
    raw.

    Make one with ``SMTPClient.connect`` and use it as a context manager, which sends QUIT and
    closes. Step methods return the server's reply and raise ``ReplyError`` when it refuses.

    Args:
        transport: a connected transport; ``connect`` makes one.
        ssl_context: the context for STARTTLS; the system's trust store by default.
        local_hostname: the name for EHLO/HELO; by default our address as a literal.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self._driver = Driver(transport, ssl_context=ssl_context)
        self._core = self._driver.core
        self._sender = MessageSender(self._driver)
        self._raw_mode: RawMode | None = None
        self.local_hostname = local_hostname or _address_literal(transport.local_address)
        self.greeting: Reply | None = None

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        *,
        implicit_tls: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        cafile: str | os.PathLike[str] | None = None,
        tls_hostname: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        recorder: TranscriptSink | None = None,
        local_hostname: str | None = None,
        read_greeting: bool = True,
    ) -> Self:
        """Open a connection and, by default, read the greeting.

        Args:
            host: name or address to connect to.
            port: TCP port.
            implicit_tls: start TLS before any SMTP (RFC 8314 §3.3, port 465 style).
            ssl_context: the TLS context; certificates and host names are verified by default.
            cafile: a PEM file of CA certificates to trust instead of the system's.
            tls_hostname: the name the certificate must carry; ``host`` by default.
            timeout_s: seconds allowed for each operation, this connection included.
            recorder: receives every line and event, e.g. a ``transcript.Recorder``.
            local_hostname: the name for EHLO/HELO.
            read_greeting: wait for the greeting; without it the client starts in raw mode.

        Raises:
            ValueError: both ``ssl_context`` and ``cafile`` were given.
            ReplyError: the greeting refused service; the connection is closed.
            ConnectionLostError, SMTPTimeoutError, TLSNegotiationError: see ``client.errors``.
        """
        if ssl_context is not None and cafile is not None:
            raise ValueError("give ssl_context or cafile, not both")
        if cafile is not None:
            ssl_context = ssl.create_default_context(cafile=os.fspath(cafile))
        transport = Transport.open(
            host, port, timeout_s=timeout_s, server_hostname=tls_hostname, recorder=recorder
        )
        try:
            client = cls(transport, ssl_context=ssl_context, local_hostname=local_hostname)
        except BaseException:
            transport.close()
            raise
        try:
            if implicit_tls:
                client._driver.start_tls()
            if read_greeting:
                client.greeting = reply_or_raise(client._driver.next_exchange())
            else:
                client.take_over()
        except BaseException:
            client.close()
            raise
        return client

    @property
    def state(self) -> ClientState:
        """Where the conversation is, e.g. ``ClientState.READY`` between transactions."""
        return self._core.state

    @property
    def capabilities(self) -> Capabilities | None:
        """The extensions from the last EHLO; None before one and again after STARTTLS."""
        return self._core.capabilities

    @property
    def tls_version(self) -> str | None:
        """The TLS version in use, e.g. ``"TLSv1.3"``; None in clear text."""
        return self._driver.transport.tls_version

    @property
    def closed(self) -> bool:
        """Whether the connection is closed (by QUIT, an error, the server or ``close``)."""
        return self._driver.transport.closed

    @_closes_on_failure
    def ehlo(self, name: str | None = None) -> Reply:
        """EHLO; the reply's extension lines become ``capabilities``."""
        return self._driver.command(self._core.ehlo, name or self.local_hostname)

    @_closes_on_failure
    def helo(self, name: str | None = None) -> Reply:
        """HELO, for servers that refuse EHLO; ``capabilities`` becomes empty."""
        return self._driver.command(self._core.helo, name or self.local_hostname)

    def identify(self, name: str | None = None) -> Reply:
        """EHLO, or HELO if the server refuses EHLO with a 5yz reply (RFC 5321 §3.2)."""
        try:
            return self.ehlo(name)
        except PermanentReplyError:
            return self.helo(name)

    @_closes_on_failure
    def starttls(self, *, send_ehlo: bool = True) -> Reply:
        """STARTTLS, the TLS handshake, then EHLO again (RFC 3207 §4.2) unless told not to.

        Returns:
            The 220 reply to STARTTLS.
        """
        reply = self._driver.command(self._core.starttls)
        self._driver.start_tls()
        self._core.tls_established()
        if send_ehlo:
            self.ehlo()
        return reply

    def auth_login(self, username: str, password: str) -> Reply:
        """AUTH LOGIN: the server prompts for the user name, then for the password."""
        return self.authenticate(Login(username, password))

    def auth_plain(
        self, username: str, password: str, *, send_initial_response: bool = True
    ) -> Reply:
        """AUTH PLAIN (RFC 4616), credentials on the AUTH line unless told otherwise."""
        mechanism = Plain(username, password)
        return self.authenticate(mechanism, send_initial_response=send_initial_response)

    def auth_xoauth2(self, username: str, access_token: str) -> Reply:
        """AUTH XOAUTH2 with an OAuth 2.0 access token."""
        return self.authenticate(XOAuth2(username, access_token))

    @_closes_on_failure
    def authenticate(
        self, mechanism: SASLMechanism, *, send_initial_response: bool = True
    ) -> Reply:
        """Run a whole SASL exchange (RFC 4954 §4) and return the final 235 reply.

        Raises:
            ReplyError: the server refused (535 bad credentials, 504 unknown mechanism...).
            RemoteProtocolError: a challenge the mechanism has no answer for; the exchange
                is cancelled with ``*`` and the connection closed.
        """
        conversation = SASLConversation(mechanism, send_initial_response=send_initial_response)
        exchange = self._driver.exchange(
            self._core.auth, mechanism.name, conversation.initial_response
        )
        # Bounded: the conversation stops answering after MAX_SASL_CHALLENGES challenges.
        while exchange.reply.is_intermediate:
            answer = conversation.answer(exchange.reply)
            if answer is None:
                self._driver.exchange(self._core.sasl_cancel)
                raise RemoteProtocolError(
                    f"{mechanism.name} has no answer to {exchange.reply}", reply=exchange.reply
                )
            exchange = self._driver.exchange(self._core.sasl_response, answer)
        return reply_or_raise(exchange)

    @_closes_on_failure
    def mail(self, sender: str, *, parameters: Sequence[str] = ()) -> Reply:
        """``MAIL FROM:<sender>`` with optional ESMTP parameters such as ``SIZE=1234``."""
        return self._driver.command(self._core.mail, sender, parameters)

    @_closes_on_failure
    def rcpt(self, recipient: str, *, parameters: Sequence[str] = ()) -> Reply:
        """``RCPT TO:<recipient>``."""
        return self._driver.command(self._core.rcpt, recipient, parameters)

    @_closes_on_failure
    def data(self) -> Reply:
        """DATA; the 354 reply means the server waits for ``message_data``."""
        return self._driver.command(self._core.data)

    @_closes_on_failure
    def message_data(self, message: bytes) -> Reply:
        """The message after a 354: line ends made CRLF, dot-stuffed, ``.`` appended.

        Returns:
            The reply to the end of the data: 250 when the server took the message.

        Raises:
            LocalProtocolError: a line is longer than RFC 5321 §4.5.3.1.6 allows.
        """
        return self._driver.command(self._core.message_data, message)

    @_closes_on_failure
    def rset(self) -> Reply:
        """RSET: abort the current mail transaction."""
        return self._driver.command(self._core.rset)

    @_closes_on_failure
    def noop(self) -> Reply:
        """NOOP."""
        return self._driver.command(self._core.noop)

    @_closes_on_failure
    def quit(self) -> Reply:
        """QUIT, then close."""
        try:
            return self._driver.command(self._core.quit)
        finally:
            self.close()

    @_closes_on_failure
    def send_message(
        self,
        message: EmailMessage | bytes,
        *,
        sender: str | None = None,
        recipients: Sequence[str] | None = None,
    ) -> SendResult:
        """Send one message: MAIL, a RCPT per recipient, DATA, then the data.

        Sends EHLO first if nothing identified the client yet. MAIL, RCPT and DATA go in one
        write when the server offers PIPELINING (RFC 2920), one at a time otherwise.

        Args:
            message: the message; its Bcc headers name recipients and are left out of the data.
            sender: the reverse-path; the message's Sender or From address by default.
            recipients: the forward-paths; the message's To, Cc and Bcc by default.

        Returns:
            The final reply, and which recipients were accepted or refused.

        Raises:
            ValueError: no sender or no recipients.
            ReplyError: MAIL, DATA or the data was refused, or every recipient was (the error
                is then the first recipient's). The transaction is reset; the session goes on.
        """
        if self.state is ClientState.GREETED:
            self.identify()
        return self._sender.send_message(message, sender=sender, recipients=recipients)

    def send_messages(
        self,
        messages: Iterable[EmailMessage | bytes],
        *,
        sender: str | None = None,
        recipients: Sequence[str] | None = None,
    ) -> list[SendResult | SMTPError]:
        """Send several messages on this connection, each in a transaction of its own.

        With PIPELINING, each message's end of data goes in one write with the next message's
        MAIL, RCPT and DATA: RFC 2920 §3.1 lets a group end only at DATA, and its own example
        ends a message's data and says QUIT in one group. A message then costs one round trip
        instead of two. Without PIPELINING this is ``send_message`` for each in turn.

        Args:
            messages: the messages, each as ``send_message`` takes it.
            sender: the reverse-path of every message; see ``send_message``.
            recipients: the forward-paths of every message; see ``send_message``.

        Returns:
            One entry per message, in order: its ``SendResult``, or the ``ReplyError`` that
            refused it (the session goes on). Once the session ends (a 421, a lost
            connection, a timeout, the server breaking the protocol), the error that ended it
            stands for that message and for every one after it, none of which was delivered
            unless the server stored one whose reply was lost.

        Raises:
            ValueError: a message has no sender or no recipients; nothing was sent.
            LocalProtocolError: SMTP does not allow sending mail now; nothing was sent.
        """
        if self.state is ClientState.GREETED:
            self.identify()
        return self._sender.send_messages(messages, sender=sender, recipients=recipients)

    def take_over(self) -> None:
        """Enter raw mode: from now on only ``send_bytes``, ``read_reply`` and
        ``handshake_tls`` work, and nothing checks what is sent. Closing does not send QUIT."""
        self._raw()

    @_closes_on_failure
    def send_bytes(self, data: bytes) -> None:
        """Raw mode: write ``data`` exactly as given (no CRLF added, no dot-stuffing).

        The write is marked as a SASL response in the transcript if the last reply was a 334
        challenge, so it is redacted like one.
        """
        self._raw().send_bytes(data)

    @_closes_on_failure
    def read_reply(self, *, timeout_s: float | None = None) -> Reply:
        """Raw mode: wait for the next complete reply, whatever it is.

        Raises:
            SMTPTimeoutError: no complete reply within ``timeout_s`` (the client's by default).
            ConnectionLostError: the server closed first; ``partial`` holds any unfinished line.
            RemoteProtocolError: the server sent something that is not a reply.
        """
        return self._raw().read_reply(timeout_s=timeout_s)

    @_closes_on_failure
    def handshake_tls(self) -> None:
        """Raw mode: do the TLS handshake now (after a 220 to a STARTTLS you sent yourself)."""
        self._raw().handshake_tls()

    def close(self) -> None:
        """Close the connection without QUIT. Safe to call more than once."""
        self._driver.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Send QUIT if the session allows it, then close. A failing QUIT is only logged: the
        block's own exception, if any, is the one that matters."""
        try:
            if not self.closed and self._core.allows(Verb.QUIT):
                self.quit()
        except SMTPError as error:
            log.debug("QUIT on leaving the block failed: %s", error)
        finally:
            self.close()

    def __del__(self) -> None:
        driver = getattr(self, "_driver", None)
        transport = driver.transport if driver is not None else None
        if transport is not None and not transport.closed:
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2, source=self)
            transport.close()

    def __repr__(self) -> str:
        where = f"{self._driver.transport.server_hostname} state={self.state.name}"
        return f"<SMTPClient {where}{' closed' if self.closed else ''}>"

    def _raw(self) -> RawMode:
        if self._raw_mode is None:
            self._raw_mode = RawMode(self._driver)
        return self._raw_mode


def _address_literal(address: str) -> str:
    """Our address as an EHLO argument (RFC 5321 §4.1.3): ``[192.0.2.1]`` or ``[IPv6:...]``."""
    if ipaddress.ip_address(address.split("%")[0]).version == 6:
        return f"[IPv6:{address}]"
    return f"[{address}]"
