"""When a connection is idle: Gmail cuts a client that makes no progress for a while.

Progress means what Gmail's "without a command" means: bytes that finish a line. Bytes that
finish no line do not count, or a client dripping one byte at a time would be held for ever;
inside message content, a bulk of one long line counts once enough of it has come.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["IdleClock"]

# In message content, this much of one long line counts as progress.
BULK_PROGRESS_OCTETS = 64 * 1024


class IdleClock:
    """One connection's idle timer: calls ``on_idle`` once ``timeout_s`` pass without progress.

    There is one timer per connection, moved forward lazily: progress only notes the time,
    and the timer, when it fires early, sets itself again for the time left.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, timeout_s: float, on_idle: Callable[[], None]
    ) -> None:
        self._loop = loop
        self._timeout_s = timeout_s
        self._on_idle = on_idle
        self._timer: asyncio.TimerHandle | None = None
        self._last_progress = 0.0
        self._unlined = 0  # octets of content that finished no line since the last progress
        self._stopped = False
        self.in_content = False  # inside a DATA body or BDAT chunk

    def heard(self, data: bytes) -> None:
        """The client sent ``data``; it moves the clock when it is progress."""
        if b"\n" in data:
            self.restart()
        elif self.in_content:
            self._unlined += len(data)
            if self._unlined >= BULK_PROGRESS_OCTETS:
                self.restart()

    def restart(self) -> None:
        """Counts from now."""
        self._last_progress = self._loop.time()
        self._unlined = 0
        if self._timer is None and not self._stopped:
            self._timer = self._loop.call_later(self._timeout_s, self._fire)

    def stop(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        self._timer = None
        if self._stopped:
            return
        left = self._last_progress + self._timeout_s - self._loop.time()
        if left > 0:
            self._timer = self._loop.call_later(left, self._fire)
            return
        self._on_idle()
