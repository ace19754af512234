"""What the transport needs from the server it serves: sessions to talk to, and a few settings.

The transport knows a session only by what it does (:class:`ConnectionSession`: events in,
actions out), and the server only by :class:`SessionHost`, so it never reaches into the layers
that decide what is said. The server's shared state
(:class:`fakeserver.server.state.ServerState`) is the one host, and
:class:`fakeserver.session.session.Session` the one session.
"""

from __future__ import annotations

from typing import Protocol

from fakeserver.personas.model import Listener
from fakeserver.session import actions, events

__all__ = ["ConnectionSession", "SessionHost"]


class ConnectionSession(Protocol):
    """One connection's session, as the transport drives it."""

    @property
    def records_lines(self) -> bool:
        """Whether anyone keeps the lines; when not, body data need not be reported."""
        ...

    def handle(self, event: events.Event) -> list[actions.Action]:
        """Takes in what happened; returns what to do, in order."""
        ...


class SessionHost(Protocol):
    """The server behind the listeners."""

    @property
    def hostname(self) -> str:
        """The name the server gives itself (aiosmtpd wants one, or it asks DNS each time)."""
        ...

    @property
    def command_line_limit(self) -> int:
        """The longest command line, CRLF included: aiosmtpd reads lines up to it."""
        ...

    @property
    def idle_timeout_s(self) -> float:
        """Silence after which a session is told ``IdleTimeout``."""
        ...

    def open_session(self, listener: Listener, peer: tuple[str, int]) -> ConnectionSession:
        """A new session for a client that connected to ``listener`` from ``peer``."""
        ...

    def report_error(self, error: BaseException) -> None:
        """Keeps an error raised while serving, for the test that caused it."""
        ...
