"""A TCP server on its own event loop thread, shared by the recording proxy and the replay server.

Like :mod:`fakeserver.transport.runner` for the fake Gmail, it stands on ``transport.loop``: the
listening socket is bound in the caller's thread (port 0 works; a port that is taken fails at
once, saying what to change) and an asyncio loop runs in a daemon thread. Every accepted
connection reaches its handler with reading paused: the handler starts TLS first (implicit TLS)
or resumes reading (plain), because bytes read before ``start_tls`` would be stranded where the
handshake never sees them (CPython gh-142352). A handler that raises never stops the server: the
error is kept in ``errors`` for the owner's ``check()``, and the connection is closed. Every
wait here is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from client.tls_mode import TLSMode
from fakeserver.errors import ConfigurationError
from fakeserver.recordreplay.linestream import LineStream
from fakeserver.transport.loop import BACKLOG, Address, LoopThread, bind

__all__ = ["Handler", "TLSMode", "ThreadedServer", "tls_mode"]

Handler = Callable[[LineStream, int], Coroutine[Any, Any, None]]
"""Serves one connection: the stream (reading paused) and the connection's 1-based number."""


def tls_mode(value: str | TLSMode, where: str) -> TLSMode:
    """The TLS mode called ``value`` (``client.TLSMode``: none, implicit, starttls).

    Raises:
        ConfigurationError: ``value`` names no mode; the message lists the valid ones.
    """
    try:
        return TLSMode(value)
    except ValueError:
        valid = ", ".join(mode.value for mode in TLSMode)
        raise ConfigurationError(where, f"{value!r} is not one of {valid}") from None


class ThreadedServer:
    """Serves connections with ``handler`` on an event loop in a background thread.

    Args:
        handler: called once per connection, in the loop thread.
        host: the address to listen on.
        port: the port; 0 picks a free one.
        option: the setting that names host and port, for error messages.
        name: the thread's name.
        timeout_s: the longest ``start()`` and ``stop()`` wait for anything.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        host: str,
        port: int,
        option: str,
        name: str,
        timeout_s: float = 10.0,
    ) -> None:
        self._handler = handler
        self._host, self._port, self._option = host, port, option
        self._timeout_s = timeout_s
        self._loop = LoopThread(name, timeout_s=timeout_s)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._count = 0
        self._lock = threading.Lock()
        self._errors: list[BaseException] = []
        self.address: Address | None = None

    def start(self) -> Address:
        """Binds and starts serving; returns where.

        Raises:
            ConfigurationError: the address cannot be bound.
            RuntimeError: already running.
        """
        sock = bind(self._host, self._port, option=self._option)
        self.address = self._loop.serve(sock, self._listen, self._shutdown)
        return self.address

    async def _listen(self, sock: socket.socket) -> None:
        self._server = await asyncio.start_server(self._accepted, sock=sock, backlog=BACKLOG)

    def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain callback runs inside connection_made, before the transport reads anything.
        stream = LineStream(reader, writer)
        stream.pause_reading()
        self._count += 1
        task = asyncio.get_running_loop().create_task(self._serve(stream, self._count))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, stream: LineStream, number: int) -> None:
        try:
            await self._handler(stream, number)
        except asyncio.CancelledError:
            stream.abort()  # stopping: no time for a client's TLS goodbye
            raise
        except Exception as error:  # a bug must cost one connection, never the server
            self.report_error(error)
        with contextlib.suppress(Exception):
            await stream.close()

    def report_error(self, error: BaseException) -> None:
        """Keeps an unexpected error for the owner's ``check()``."""
        with self._lock:
            self._errors.append(error)

    def take_errors(self) -> list[BaseException]:
        """The unexpected errors so far, forgotten once returned."""
        with self._lock:
            errors, self._errors = self._errors, []
        return errors

    def stop(self) -> None:
        """Stops listening, cancels every connection (handlers see ``CancelledError`` and
        may finish up, briefly) and ends the thread. Idempotent."""
        self._loop.stop(self._shutdown)
        self._server = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self._timeout_s / 2)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._timeout_s / 4):
                    await self._server.wait_closed()
