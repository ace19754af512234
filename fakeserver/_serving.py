"""A TCP server on its own event loop thread, shared by the recording proxy and the replay server.

Like :mod:`fakeserver.runner` for the fake Gmail, it binds the listening socket in the caller's
thread (port 0 works; a port that is taken fails at once, saying what to change) and runs an
asyncio loop in a daemon thread. Every accepted connection reaches its handler with reading
paused: the handler starts TLS first (implicit TLS) or resumes reading (plain), because bytes
read before ``start_tls`` would be stranded where the handshake never sees them (CPython
gh-142352). A handler that raises never stops the server: the error is kept in ``errors`` for
the owner's ``check()``, and the connection is closed. Every wait here is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fakeserver._linestream import LineStream
from fakeserver.errors import ConfigurationError
from fakeserver.runner import Address

__all__ = ["Handler", "TLSMode", "ThreadedServer", "bind"]

_T = TypeVar("_T")
_BACKLOG = 128

Handler = Callable[[LineStream, int], Coroutine[Any, Any, None]]
"""Serves one connection: the stream (reading paused) and the connection's 1-based number."""


class TLSMode(enum.StrEnum):
    """How a side of a connection uses TLS."""

    IMPLICIT = "implicit"
    """TLS from the first byte, like port 465."""
    STARTTLS = "starttls"
    """Plain text until the client's STARTTLS (RFC 3207), like port 587."""
    NONE = "none"
    """Plain text throughout."""

    @classmethod
    def parse(cls, value: str | TLSMode, where: str) -> TLSMode:
        """The mode called ``value``.

        Raises:
            ConfigurationError: ``value`` names no mode; the message lists the valid ones.
        """
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(mode.value for mode in cls)
            raise ConfigurationError(where, f"{value!r} is not one of {valid}") from None


def bind(host: str, port: int, option: str) -> socket.socket:
    """A listening, non-blocking socket on ``host`` port ``port`` (0: any free port).

    Raises:
        ConfigurationError: the port is out of range, the host cannot be resolved, or the port
            cannot be bound; ``option`` names the setting to change.
    """
    if not 0 <= port <= 65535:
        raise ConfigurationError(option, f"{port} is not a port number (0-65535)")
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
        address: tuple[Any, ...] = (host, port)
    except ValueError:
        try:
            family, _, _, _, address = socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
        except OSError as error:
            raise ConfigurationError(
                option, f"cannot resolve {host!r}: {error}; use an address like 127.0.0.1"
            ) from error
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(_BACKLOG)
        sock.setblocking(False)
    except OSError as error:
        sock.close()
        raise ConfigurationError(
            option,
            f"cannot listen on {host} port {port}: {error.strerror}; "
            "pick another port, or 0 for any free one",
        ) from error
    return sock


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
        self._name = name
        self._timeout_s = timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
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
        if self._thread is not None:
            raise RuntimeError("already running")
        sock = bind(self._host, self._port, self._option)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._call(self._listen(sock))
        except BaseException:
            sock.close()
            self.stop()
            raise
        host, port = sock.getsockname()[:2]
        self.address = Address(host, port)
        return self.address

    async def _listen(self, sock: socket.socket) -> None:
        self._server = await asyncio.start_server(self._accepted, sock=sock, backlog=_BACKLOG)

    def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain callback runs inside connection_made, before the transport reads anything.
        stream = LineStream(reader, writer)
        stream.pause_reading()
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # asyncio turns Nagle off only for sockets made with proto=IPPROTO_TCP, and ours
            # are accepted from one made with proto 0: without this, each line after the
            # first of a multi-line reply waits for the client's delayed ACK (~40 ms).
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            if loop.is_running():
                with contextlib.suppress(TimeoutError):
                    self._call(self._shutdown())
                loop.call_soon_threadsafe(loop.stop)
            thread.join(self._timeout_s)
        finally:
            if not thread.is_alive():
                loop.close()
            self._loop = self._thread = None
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

    def _call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("not running")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(self._timeout_s)
