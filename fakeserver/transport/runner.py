"""The fake's listeners, on a loop thread of their own; what serves their connections (the
aiosmtpd adapter) is handed in.

We bind the sockets ourselves (``transport.loop.bind``), in the caller's thread, instead of using
aiosmtpd's ``Controller``: port 0 then works (the Controller connects back to its configured
port to check readiness, aiosmtpd#388), a port that is taken fails at once with a message
that says what to change, and the server is ready as soon as ``create_server`` returns, in
milliseconds. Every wait here is bounded.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from fakeserver.personas.model import Listener
from fakeserver.transport.loop import BACKLOG, Address, LoopThread, bind

__all__ = ["Address", "ListenerSpec", "Runner"]


@dataclass(frozen=True, slots=True)
class ListenerSpec:
    """A port to listen on: its kind, host and port (0: any free port)."""

    listener: Listener
    host: str
    port: int


class Connections(Protocol):
    """Makes the protocol of each connection to one listener, and can drop them all (the
    ``transport.connections.ProtocolFactory`` is one)."""

    def __call__(self) -> asyncio.BaseProtocol: ...

    async def close_all(self, *, timeout_s: float) -> None: ...

    @property
    def open_connections(self) -> int: ...


ConnectionsFor = Callable[[Listener, asyncio.AbstractEventLoop], Connections]
"""Makes the :class:`Connections` of a listener, once the loop it runs on exists."""


class Runner:
    """Runs one server's listeners on an event loop in a background thread.

    Args:
        specs: the listeners.
        connections: makes what serves each listener's connections.
        start_timeout_s: the longest ``start()`` and ``stop()`` wait for the thread.
    """

    def __init__(
        self,
        specs: Sequence[ListenerSpec],
        connections: ConnectionsFor,
        *,
        start_timeout_s: float = 10.0,
    ) -> None:
        self._specs = tuple(specs)
        self._connections = connections
        self._loop = LoopThread("fakeserver-loop", timeout_s=start_timeout_s)
        self._servers: list[asyncio.Server] = []
        self._factories: list[Connections] = []

    @property
    def running(self) -> bool:
        return self._loop.running

    def start(self) -> tuple[Address, ...]:
        """Binds every listener and starts serving.

        Returns:
            Where each listener is bound, in the order of ``specs``.

        Raises:
            ConfigurationError: a host cannot be resolved or a port cannot be bound.
        """
        sockets: list[socket.socket] = []
        try:
            for spec in self._specs:
                sockets.append(bind(spec.host, spec.port, option=f"--{spec.listener.value}-port"))
            self._loop.start()
            return self._loop.call(self._serve(sockets))
        except BaseException:
            for sock in sockets:
                sock.close()
            self.stop()
            raise

    async def _serve(self, sockets: list[socket.socket]) -> tuple[Address, ...]:
        loop = asyncio.get_running_loop()
        addresses = []
        for spec, sock in zip(self._specs, sockets, strict=True):
            factory = self._connections(spec.listener, loop)
            # In clear text on every port: the connections' protocols start TLS where the
            # listener is implicit-TLS, so that a failed handshake is seen (implicit_tls.py).
            server = await loop.create_server(factory, sock=sock, backlog=BACKLOG)
            self._factories.append(factory)
            self._servers.append(server)
            host, port = sock.getsockname()[:2]
            addresses.append(Address(host, port))
        return tuple(addresses)

    def abort_connections(self) -> None:
        """Drops every open connection and waits until they are gone; listeners stay."""
        if not any(factory.open_connections for factory in self._factories):
            return  # the common case between tests: no round trip to the loop thread
        if self._loop.running:
            self._loop.call(self._abort_all())

    async def _abort_all(self) -> None:
        for factory in self._factories:
            await factory.close_all(timeout_s=self._loop.timeout_s / 2)

    def stop(self) -> None:
        """Closes the listeners and every open connection, then ends the thread. Idempotent."""
        self._loop.stop(self._shutdown)
        self._servers.clear()
        self._factories.clear()

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        await self._abort_all()
        for server in self._servers:
            await server.wait_closed()
