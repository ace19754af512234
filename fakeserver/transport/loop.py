"""What every server of smtprig stands on: a listening socket bound in the caller's thread,
and an asyncio event loop running in a daemon thread of its own.

Binding in the caller's thread means port 0 works, and a port that is taken fails at once,
in the caller, with a message that says which setting to change (aiosmtpd's Controller can
do neither: aiosmtpd#388). Every wait here is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any, NamedTuple, TypeVar

from fakeserver.errors import ConfigurationError

__all__ = ["BACKLOG", "Address", "LoopThread", "bind"]

_T = TypeVar("_T")

BACKLOG = 1024
"""Pending connections a listener queues (1,000 idle clients must not be refused)."""


class Address(NamedTuple):
    """Where a listener is bound; unpacks as ``(host, port)`` for socket APIs."""

    host: str
    port: int


def bind(host: str, port: int, *, option: str) -> socket.socket:
    """A listening, non-blocking TCP socket on ``host`` port ``port`` (0: any free port).

    Args:
        host: an address or a name to resolve.
        port: 0 to 65535.
        option: the setting that gave the port, named in error messages.

    Raises:
        ConfigurationError: the port is out of range, the host cannot be resolved, or the
            port cannot be bound.
    """
    if not 0 <= port <= 65535:
        raise ConfigurationError(option, f"{port} is not a port number (0-65535)")
    try:
        family, address = _resolve(host, port)
    except OSError as error:
        raise ConfigurationError(
            "--host", f"cannot resolve {host!r}: {error}; use an address like 127.0.0.1"
        ) from error
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets
    # whose proto says TCP. Without it, a reply written after another (TLS's session tickets,
    # a multi-line reply) waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError as error:
        sock.close()
        raise ConfigurationError(
            option,
            f"cannot listen on {host} port {port}: {error.strerror}; "
            f"pick another port, or 0 for any free one",
        ) from error
    return sock


def _resolve(host: str, port: int) -> tuple[socket.AddressFamily, tuple[str, int]]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return family, (str(address[0]), int(address[1]))
    family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
    return family, (host, port)


class LoopThread:
    """An asyncio event loop in a daemon thread, driven from other threads.

    Args:
        name: the thread's name.
        timeout_s: the longest any call into the loop, or stopping it, may take.
    """

    def __init__(self, name: str, *, timeout_s: float = 10.0) -> None:
        self._name = name
        self.timeout_s = timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("already running")
        loop = asyncio.new_event_loop()
        running = threading.Event()
        # The first callback runs once the loop runs: until then a call would find it stopped.
        loop.call_soon(running.set)
        thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        if not running.wait(self.timeout_s):
            raise RuntimeError(f"the {self._name} thread's loop did not start")

    def call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Runs ``coroutine`` on the loop and returns its result, within ``timeout_s``.

        Raises:
            RuntimeError: the loop is not running.
            TimeoutError: it took longer.
        """
        loop = self._loop
        if loop is None or not loop.is_running():
            coroutine.close()
            raise RuntimeError("not running")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(self.timeout_s)

    def serve(
        self,
        sock: socket.socket,
        serve: Callable[[socket.socket], Coroutine[Any, Any, None]],
        shutdown: Callable[[], Coroutine[Any, Any, None]],
    ) -> Address:
        """Starts the loop and runs ``serve(sock)`` on it; returns where ``sock`` listens.

        If that fails, the socket is closed and the loop stopped (with ``shutdown``) before
        the error is raised, so a server that did not start leaves nothing behind.
        """
        try:
            self.start()
            self.call(serve(sock))
        except BaseException:
            sock.close()
            self.stop(shutdown)
            raise
        host, port = sock.getsockname()[:2]
        return Address(host, port)

    def stop(self, shutdown: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Runs ``shutdown`` on the loop (bounded), cancels what is left, ends the thread.

        Idempotent; a loop that would not stop in time is left to its daemon thread.
        """
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            if loop.is_running():
                with contextlib.suppress(TimeoutError):
                    self.call(self._shut(shutdown))
                loop.call_soon_threadsafe(loop.stop)
            thread.join(self.timeout_s)
        finally:
            if not thread.is_alive():
                loop.close()
            self._loop = self._thread = None

    async def _shut(self, shutdown: Callable[[], Coroutine[Any, Any, None]]) -> None:
        await shutdown()
        current = asyncio.current_task()
        leftovers = [task for task in asyncio.all_tasks() if task is not current]
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.wait(leftovers, timeout=self.timeout_s / 2)
