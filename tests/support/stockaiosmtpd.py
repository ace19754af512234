"""Stock aiosmtpd for tests, on 127.0.0.1 port 0 and an event loop in a thread we own.

Not aiosmtpd's ``Controller``, which cannot bind port 0 (aiosmtpd#388): the listening socket
is bound here, so nothing races for a port. Starting and stopping are bounded by ``WAIT_S``.
Nothing of smtprig is imported, so the client tests use it without the fake server.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from aiosmtpd.smtp import (
    SMTP,
    AuthenticatorType,
    AuthResult,
    Envelope,
    LoginPassword,
    Session,
)

WAIT_S = 5.0
"""The longest starting or stopping may take; a correct run takes milliseconds."""


class EnvelopeKeeper:
    """An aiosmtpd handler that accepts every message and keeps its envelope."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 2.0.0 OK queued"


def password_checker(username: str, password: str) -> AuthenticatorType:
    """An aiosmtpd authenticator for LOGIN and PLAIN that accepts this one account."""
    account = (username.encode(), password.encode())

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        good = isinstance(data, LoginPassword) and data == account
        # handled=False: aiosmtpd then sends its own 535 (it defaults to True, which sends
        # nothing).
        return AuthResult(success=good, handled=False)

    return authenticate


HandlerT = TypeVar("HandlerT")


class StockAiosmtpd(Generic[HandlerT]):
    """aiosmtpd's own ``SMTP`` serving ``handler``, from ``with`` to the end of the block.

    Args:
        handler: the aiosmtpd handler (``handle_*`` hooks, ``auth_*`` mechanisms).
        starttls: server context offered through STARTTLS.
        implicit_tls: server context for TLS from the first byte.
        smtp_options: more keyword arguments for ``aiosmtpd.smtp.SMTP``.
    """

    def __init__(
        self,
        handler: HandlerT,
        *,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        **smtp_options: Any,
    ) -> None:
        self.handler = handler
        self._starttls = starttls
        self._implicit_tls = implicit_tls
        self._smtp_options = smtp_options
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.address: tuple[str, int] = ("127.0.0.1", 0)

    @property
    def port(self) -> int:
        return self.address[1]

    def _protocol(self) -> SMTP:
        return SMTP(
            self.handler,
            hostname="aiosmtpd.test",
            tls_context=self._starttls,
            loop=self._loop,
            **self._smtp_options,
        )

    def __enter__(self) -> Self:
        listener = socket.create_server(("127.0.0.1", 0))
        self.address = listener.getsockname()[:2]
        self._thread.start()
        create = self._loop.create_server(self._protocol, sock=listener, ssl=self._implicit_tls)
        try:
            self._server = asyncio.run_coroutine_threadsafe(create, self._loop).result(WAIT_S)
        except BaseException:
            listener.close()
            self._stop_loop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(WAIT_S)
        self._stop_loop()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(WAIT_S)
        if self._thread.is_alive():
            raise AssertionError("the aiosmtpd loop did not stop")
        self._loop.close()
