"""Raw mode: the protocol core steps aside, bytes go out exactly as given, and replies are
parsed, never judged.

This is how ``SMTPClient`` tests servers (``send_bytes``, ``read_reply``, ``handshake_tls``) and
how ``client.replay`` speaks a transcript's client lines. Once a client is raw it stays raw; the
bytes the core had received and not yet parsed are the first the raw reader sees.
"""

from __future__ import annotations

from client._driver import Driver
from client.errors import ConnectionLostError
from client.protocol.events import Reply
from client.protocol.wire import ReplyReader

__all__ = ["RawMode"]

_CHALLENGE_CODE = 334


class RawMode:
    """The wire handed over to the caller; making one takes the core out of the conversation.

    Args:
        driver: the connection's driver.
    """

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._reader = ReplyReader()
        self._reader.feed(driver.core.take_over())
        self._after_challenge = False

    def send_bytes(self, data: bytes) -> None:
        """See ``SMTPClient.send_bytes``."""
        # RFC 4954 §4: what follows a 334 challenge answers it, so it is redacted as a secret.
        sasl_response, self._after_challenge = self._after_challenge, False
        transport = self._driver.transport
        transport.send(data, transport.deadline(), sasl_response=sasl_response)

    def read_reply(self, *, timeout_s: float | None = None) -> Reply:
        """See ``SMTPClient.read_reply``."""
        transport = self._driver.transport
        deadline = transport.deadline(timeout_s)
        # Each turn either returns, raises, or waits for bytes before the deadline.
        while True:
            reply = self._reader.next_reply()
            if reply is not None:
                transport.report_received(reply.wire)
                self._after_challenge = reply.code == _CHALLENGE_CODE
                return reply
            data = transport.receive(deadline, waiting_for=None)
            if not data:
                transport.close()
                raise ConnectionLostError("the server closed", partial=self._reader.pending())
            self._reader.feed(data)

    def handshake_tls(self) -> None:
        """See ``SMTPClient.handshake_tls``."""
        self._driver.start_tls()
