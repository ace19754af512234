"""Gmail behaviours a server can switch on, and the counters they need.

:class:`Policy` says which limits apply (all off by default); :class:`Usage` counts, for
all connections of one server, what each account has sent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Policy", "Usage"]


@dataclass(frozen=True, slots=True)
class Policy:
    """Gmail behaviours that are off by default and switched on per server.

    Attributes:
        daily_quota: messages an account may send before end of data gets ``550 5.4.5 Daily
            user sending limit exceeded``; counted over the server's life. None: no limit.
        rate_limit_per_minute: DATA commands an account may issue in any 60 seconds before
            DATA gets ``421 4.3.0 Temporary System Problem`` and the connection closes.
        auth_failure_limit: failed logins on one connection before AUTH gets ``454 4.7.0 Too
            many login attempts``.
    """

    daily_quota: int | None = None
    rate_limit_per_minute: int | None = None
    auth_failure_limit: int | None = None


class Usage:
    """What each account has sent, shared by all connections of one server.

    Only the server's event-loop thread touches it.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._accepted: dict[str, int] = {}
        self._data_times: dict[str, deque[float]] = {}

    def clear(self) -> None:
        """Forgets all counts (a new test, a new day)."""
        self._accepted.clear()
        self._data_times.clear()

    def accepted(self, user: str) -> int:
        """Messages accepted for ``user`` so far."""
        return self._accepted.get(user, 0)

    def record_accepted(self, user: str) -> None:
        self._accepted[user] = self._accepted.get(user, 0) + 1

    def data_commands_in_last_minute(self, user: str) -> int:
        """Records one DATA by ``user`` and returns how many fell in the last 60 seconds."""
        now = self._clock()
        times = self._data_times.setdefault(user, deque())
        times.append(now)
        while times and times[0] <= now - 60.0:
            times.popleft()
        return len(times)
