"""The event-loop thread and the listening sockets of one fake server.

We bind the sockets ourselves, in the caller's thread, instead of using aiosmtpd's
``Controller``: port 0 then works (the Controller connects back to its configured port to
check readiness, aiosmtpd#388), a port that is taken fails at once with a message that says
what to change, and the server is ready as soon as ``create_server`` returns, in
milliseconds. Every wait here is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from fakeserver._aiosmtpd import ProtocolFactory
from fakeserver.core import ServerCore
from fakeserver.dialogue import Listener
from fakeserver.errors import ConfigurationError

__all__ = ["Address", "ListenerSpec", "Runner"]

_BACKLOG = 1024
_TLS_HANDSHAKE_TIMEOUT_S = 30.0
# How long a closing TLS connection waits for the client's close_notify (asyncio's default
# is 30 s, which would keep a connection whose client has gone quiet).
_TLS_SHUTDOWN_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class ListenerSpec:
    """A port to listen on: its kind, host and port (0: any free port)."""

    listener: Listener
    host: str
    port: int


class Address(NamedTuple):
    """Where a listener is bound; unpacks as ``(host, port)`` for socket APIs."""

    host: str
    port: int


class Runner:
    """Runs one server's listeners on an event loop in a background thread.

    Args:
        core: the server's shared state.
        specs: the listeners.
        start_timeout_s: the longest ``start()`` and ``stop()`` wait for the thread.
    """

    def __init__(
        self, core: ServerCore, specs: Sequence[ListenerSpec], *, start_timeout_s: float = 10.0
    ) -> None:
        self._core = core
        self._specs = tuple(specs)
        self._timeout_s = start_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.Server] = []
        self._factories: list[ProtocolFactory] = []

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> tuple[Address, ...]:
        """Binds every listener and starts serving.

        Returns:
            Where each listener is bound, in the order of ``specs``.

        Raises:
            ConfigurationError: a host cannot be resolved or a port cannot be bound.
        """
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        sockets: list[socket.socket] = []
        try:
            for spec in self._specs:
                sockets.append(_bind(spec))
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fakeserver-loop", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            future = asyncio.run_coroutine_threadsafe(self._serve(sockets), loop)
            return future.result(self._timeout_s)
        except BaseException:
            for sock in sockets:
                sock.close()
            self.stop()
            raise

    async def _serve(self, sockets: list[socket.socket]) -> tuple[Address, ...]:
        loop = asyncio.get_running_loop()
        addresses = []
        for spec, sock in zip(self._specs, sockets, strict=True):
            factory = ProtocolFactory(self._core, spec.listener, loop)
            implicit_tls = spec.listener is Listener.SMTPS
            server = await loop.create_server(
                factory,
                sock=sock,
                ssl=self._core.tls_context if implicit_tls else None,
                ssl_handshake_timeout=_TLS_HANDSHAKE_TIMEOUT_S if implicit_tls else None,
                ssl_shutdown_timeout=_TLS_SHUTDOWN_TIMEOUT_S if implicit_tls else None,
                backlog=_BACKLOG,
            )
            self._factories.append(factory)
            self._servers.append(server)
            host, port = sock.getsockname()[:2]
            addresses.append(Address(host, port))
        return tuple(addresses)

    def abort_connections(self) -> None:
        """Drops every open connection and waits until they are gone; listeners stay."""
        loop = self._loop
        if loop is None or not loop.is_running():
            return
        if not any(factory.open_connections for factory in self._factories):
            return  # the common case between tests: no round trip to the loop thread
        future = asyncio.run_coroutine_threadsafe(self._abort_all(), loop)
        future.result(self._timeout_s)

    async def _abort_all(self) -> None:
        for factory in self._factories:
            await factory.close_all(timeout_s=self._timeout_s / 2)

    def stop(self) -> None:
        """Closes the listeners and every open connection, then ends the thread. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            if loop.is_running():
                future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
                with contextlib.suppress(TimeoutError):
                    future.result(self._timeout_s)
                loop.call_soon_threadsafe(loop.stop)
            thread.join(self._timeout_s)
        finally:
            if not thread.is_alive():
                loop.close()
            self._loop = self._thread = None
            self._servers.clear()
            self._factories.clear()

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        await self._abort_all()
        current = asyncio.current_task()
        leftovers = [task for task in asyncio.all_tasks() if task is not current]
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.wait(leftovers, timeout=self._timeout_s / 2)
        for server in self._servers:
            await server.wait_closed()


def _bind(spec: ListenerSpec) -> socket.socket:
    option = f"--{spec.listener.value}-port"
    if not 0 <= spec.port <= 65535:
        raise ConfigurationError(option, f"{spec.port} is not a port number (0-65535)")
    try:
        family, address = _resolve(spec.host, spec.port)
    except OSError as error:
        raise ConfigurationError(
            "--host", f"cannot resolve {spec.host!r}: {error}; use an address like 127.0.0.1"
        ) from error
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets
    # whose proto says TCP. Without it, the greeting written after TLS's session tickets
    # waited ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(_BACKLOG)
        sock.setblocking(False)
    except OSError as error:
        sock.close()
        raise ConfigurationError(
            option,
            f"cannot listen on {spec.host} port {spec.port}: {error.strerror}; "
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
