"""The event log of one served fake: numbered events in a bounded ring, and a wake-up for
whoever waits on the HTTP loop.

Events are appended by the SMTP loop thread (observers) and by the HTTP loop (script
changes, resets); they are read by Server-Sent Event streams and long polls on the HTTP loop.
A long poll or a stream waits on one shared :class:`asyncio.Future` per log, so a thousand
open streams cost a thousand suspended tasks and no thread. Appending never blocks on a
reader: the ring forgets the oldest events, and a reader whose cursor fell out of it is told
so (a ``gap``), never buffered without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["Event", "EventLog"]

RING_SIZE = 1000
"""Events a log keeps for streams that reconnect with ``Last-Event-ID``."""


@dataclass(frozen=True, slots=True)
class Event:
    """One numbered event.

    Attributes:
        id: 1, 2, 3... per log, never reused while the server runs.
        type: ``message``, ``session.open``, ``session.close``, ``fault``, ``script.changed``
            or ``reset``.
        data: the payload; for ``message`` and ``session.close`` only the id, which the
            reader expands when it sends the event (so no parsing happens in the SMTP thread).
    """

    id: int
    type: str
    data: dict[str, Any]


class EventLog:
    """Numbered events in a ring of ``size``; safe to append from any thread.

    Appending wakes the HTTP loop only when something waits there, and once however many
    events come before it runs: the SMTP loop appends for every message and connection, and
    a wake-up is a write to the HTTP loop's self-pipe and a thread switch.
    """

    def __init__(self, size: int = RING_SIZE) -> None:
        self._lock = threading.Lock()
        self._ring: deque[Event] = deque(maxlen=size)
        self._last_id = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Future[None] | None = None  # what waiters wait on, if any
        self._wake_scheduled = False
        self.closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wakes waiters on ``loop`` from now on (the HTTP loop, once it runs)."""
        self._loop = loop

    @property
    def last_id(self) -> int:
        with self._lock:
            return self._last_id

    def append(self, type_: str, data: dict[str, Any]) -> None:
        """Adds an event and wakes every waiter; callable from any thread."""
        with self._lock:
            self._last_id += 1
            self._ring.append(Event(self._last_id, type_, data))
            wake = self._changed is not None and not self._wake_scheduled
            self._wake_scheduled = self._wake_scheduled or wake
        if wake:
            self._wake()

    def since(self, after: int) -> tuple[list[Event], bool]:
        """The events with an id above ``after``, and whether some were already forgotten
        (or ``after`` comes from before this server started: an id it never gave)."""
        with self._lock:
            events = [event for event in self._ring if event.id > after]
            first = self._ring[0].id if self._ring else self._last_id + 1
            gap = after < first - 1 or after > self._last_id
        return events, gap

    async def wait(self, timeout_s: float, *, after: int) -> None:
        """Returns once there is an event past ``after`` (at once if there is one already), at
        close, or after ``timeout_s``; on the HTTP loop.

        Callers read ``last_id``, check their condition, then wait past that id: an event that
        came in between ends the wait at once, so no event is ever slept through.
        """
        if self.closed or timeout_s <= 0:
            return
        with self._lock:
            if self._last_id > after:
                return
            if self._changed is None or self._changed.done():
                self._changed = asyncio.get_running_loop().create_future()
            changed = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(changed), timeout_s)

    def close(self) -> None:
        """Ends every wait (the server is stopping); on the HTTP loop."""
        self.closed = True
        self._fire()

    def _wake(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between the check and now
            loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        with self._lock:
            changed, self._changed = self._changed, None
            self._wake_scheduled = False
        if changed is not None and not changed.done():
            changed.set_result(None)
