"""Fixtures for the recording proxy and the replay server: upstreams to record, and the CA.

Every server binds 127.0.0.1 port 0 and uses the per-process in-memory CA, so tests never touch
``certs/`` and run in parallel. Stock aiosmtpd runs on an event loop in a thread the fixture
owns (not aiosmtpd's ``Controller``, which cannot bind port 0: aiosmtpd#388).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from fakeserver.server import FakeGmail, ServerOptions
from fakeserver.tls import client_context, default_certificates, server_context

WAIT_S = 5.0
"""The longest a test waits for anything; a correct run takes milliseconds."""

USER = "alice@example.test"
PASSWORD = "s3cret-app-password"


@pytest.fixture
def trusting() -> ssl.SSLContext:
    """A client context that trusts the in-memory test CA and checks host names."""
    return client_context(default_certificates())


@pytest.fixture
def gmail() -> Iterator[FakeGmail]:
    """Our fake Gmail, to record through the proxy; errors in its thread fail the test."""
    with FakeGmail(ServerOptions(seed=5)) as server:
        yield server
        server.check()


class _Handler:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 2.0.0 OK queued"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    good = isinstance(data, LoginPassword) and data == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=good, handled=False)


class Aiosmtpd:
    """Stock aiosmtpd on 127.0.0.1 port 0, on a loop thread this object owns.

    Args:
        mode: ``plain``, ``implicit`` (TLS from the first byte) or ``starttls``.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.handler = _Handler()
        self._context = server_context(default_certificates())
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.address = ("127.0.0.1", 0)

    def _protocol(self) -> SMTP:
        return SMTP(
            self.handler,
            hostname="aiosmtpd.test",
            tls_context=self._context if self.mode == "starttls" else None,
            authenticator=_authenticate,
            # aiosmtpd counts only STARTTLS as TLS (FIELD-NOTES): AUTH on the others needs this.
            auth_require_tls=self.mode == "starttls",
            loop=self._loop,
        )

    def __enter__(self) -> Self:
        listener = socket.create_server(("127.0.0.1", 0))
        self.address = listener.getsockname()[:2]
        self._thread.start()
        implicit = self._context if self.mode == "implicit" else None
        create = self._loop.create_server(self._protocol, sock=listener, ssl=implicit)
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
