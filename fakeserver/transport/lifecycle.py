"""The lifecycle every smtprig server shares, written once.

Every server class (``FakeGmail``, ``RecordingProxy``, ``ReplayServer``, ``Cassette``) is
started with ``start()``, which returns the server so that ``X(...).start()`` can be kept,
stopped with an idempotent ``stop()``, and used as ``with X(...) as server:`` for both.
:class:`Lifecycle` gives them the ``with`` block; :class:`ThreadedServerOwner` gives the two
that serve through a :class:`~fakeserver.recordreplay.serving.ThreadedServer` (the proxy and
the replay server) everything else that is only a call through to it.
"""

from __future__ import annotations

import abc
import ssl
from types import TracebackType
from typing import ClassVar, Self

from fakeserver.errors import ServerThreadError
from fakeserver.recordreplay.serving import ThreadedServer
from fakeserver.transport.loop import Address
from fakeserver.transport.tls import Certificates, client_context

__all__ = ["Lifecycle", "ThreadedServerOwner"]


class Lifecycle(abc.ABC):
    """``start()`` and ``stop()``, and a ``with`` block that calls them."""

    @abc.abstractmethod
    def start(self) -> Self:
        """Starts serving; returns self."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stops serving. Idempotent."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class ThreadedServerOwner(Lifecycle):
    """A server whose connections a :class:`ThreadedServer` serves, presenting
    ``certificates`` to its clients.

    A subclass sets ``_server`` and ``certificates`` in its ``__init__``, and names itself
    in ``_running_what`` for the error of an ``address`` asked for too early.
    """

    _running_what: ClassVar[str]
    _server: ThreadedServer
    certificates: Certificates

    def start(self) -> Self:
        """Starts listening; returns self.

        Raises:
            ConfigurationError: the address cannot be bound.
        """
        self._server.start()
        return self

    def stop(self) -> None:
        """Closes every connection and the listener. Idempotent."""
        self._server.stop()

    @property
    def address(self) -> Address:
        """Where clients connect: ``(host, port)``."""
        if self._server.address is None:
            raise RuntimeError(f"{self._running_what} is not running; use start() or a with block")
        return self._server.address

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate clients must trust, PEM-encoded."""
        return self.certificates.ca_pem

    def client_context(self) -> ssl.SSLContext:
        """A new client context that trusts the server's CA and checks host names."""
        return client_context(self.certificates)

    def _raise_thread_errors(self) -> None:
        """Raises ``ServerThreadError`` with what went wrong in the server's thread, if
        anything did; those errors are then forgotten."""
        errors = self._server.take_errors()
        if errors:
            raise ServerThreadError(errors)
