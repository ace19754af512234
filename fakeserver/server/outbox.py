"""The outbox: every message the fake accepted, with its envelope and session facts.

Messages are added by the server's event-loop thread *before* it sends the 250 that
acknowledges them, so a client that saw the 250 always finds its message here. Readers in
other threads use :meth:`Outbox.wait_for` instead of sleeping.
"""

from __future__ import annotations

import mailbox
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from fakeserver._waiting import wait_for_count
from fakeserver.session.records import CapturedMessage

__all__ = ["CapturedMessage", "Outbox"]


class Outbox:
    """Accepted messages in arrival order; safe to read from any thread.

    Args:
        maildir: also store each message in this Maildir (created if missing).
        explain: says what the connections did, for a wait that ran out (the server's).
    """

    def __init__(
        self, *, maildir: Path | None = None, explain: Callable[[], str] | None = None
    ) -> None:
        self._explain = explain
        self._messages: list[CapturedMessage] = []
        self._last_id = 0  # ids are never reused, even after clear()
        self._changed = threading.Condition()
        self._maildir = mailbox.Maildir(maildir, create=True) if maildir is not None else None

    def add(self, message: CapturedMessage) -> CapturedMessage:
        """Stores ``message`` under the next id and returns it so numbered; raises if the
        Maildir cannot take it (so no 250 is sent)."""
        if self._maildir is not None:
            self._maildir.add(message.raw)
        with self._changed:
            self._last_id += 1
            # Numbered in place, not copied: the message is the server's until this returns.
            object.__setattr__(message, "id", self._last_id)
            self._messages.append(message)
            self._changed.notify_all()
        return message

    def __len__(self) -> int:
        with self._changed:
            return len(self._messages)

    def __iter__(self) -> Iterator[CapturedMessage]:
        return iter(self.messages)

    def __getitem__(self, index: int) -> CapturedMessage:
        with self._changed:
            return self._messages[index]

    @property
    def messages(self) -> list[CapturedMessage]:
        """A snapshot of the messages so far."""
        with self._changed:
            return list(self._messages)

    def clear(self) -> None:
        with self._changed:
            self._messages.clear()

    def wait_for(self, count: int = 1, timeout_s: float = 5.0) -> list[CapturedMessage]:
        """Waits until at least ``count`` messages are here.

        Returns:
            A snapshot of all the messages.

        Raises:
            TimeoutError: fewer than ``count`` arrived within ``timeout_s``; the message says
                how many did, and what the connections did (a refused login, a failed TLS
                handshake, no connection at all), so that the test explains itself.
        """
        try:
            with self._changed:
                wait_for_count(
                    self._changed,
                    self._messages,
                    count,
                    timeout_s,
                    awaited="message(s)",
                    happened="arrived",
                )
                return list(self._messages)
        except TimeoutError as error:
            if self._explain is None:
                raise
            # Asked once the outbox's lock is let go: the server's records have their own.
            raise TimeoutError(f"{error}{self._explain()}") from None
