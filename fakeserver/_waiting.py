"""Bounded waits for a test thread on what a server thread does.

Every ``wait_for_*`` of the fakeserver API comes down to the same thing: under the
``threading.Condition`` the server thread notifies, wait until enough has happened, and
never longer than ``timeout_s``. A wait that runs out raises ``TimeoutError`` saying what
was awaited and how far it got, so the test that waited explains itself.

The caller holds the condition (``with condition:``), so that what it returns after the
wait is read under the same lock the wait ended with.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sized

__all__ = ["wait_for_count", "wait_until"]


def wait_until(
    condition: threading.Condition,
    ready: Callable[[], bool],
    timeout_s: float,
    failure: Callable[[], str],
) -> None:
    """Waits, holding ``condition``, until ``ready()`` is true.

    Args:
        condition: notified whenever ``ready()`` may have changed; held by the caller.
        ready: checked under the condition, first at once and then after each notification.
        timeout_s: the longest the wait may take.
        failure: the message of the ``TimeoutError``, built when the wait runs out.

    Raises:
        TimeoutError: ``ready()`` was still false after ``timeout_s``.
    """
    if not condition.wait_for(ready, timeout_s):
        raise TimeoutError(failure())


def wait_for_count(
    condition: threading.Condition,
    items: Sized,
    count: int,
    timeout_s: float,
    *,
    awaited: str,
    happened: str,
) -> None:
    """Waits, holding ``condition``, until ``items`` holds at least ``count`` entries.

    The message on a timeout reads ``waited {timeout_s} s for {count} {awaited};
    {len(items)} {happened}``, e.g. "waited 5.0 s for 2 message(s); 1 arrived".

    Raises:
        TimeoutError: fewer than ``count`` after ``timeout_s``.
    """
    wait_until(
        condition,
        lambda: len(items) >= count,
        timeout_s,
        lambda: f"waited {timeout_s} s for {count} {awaited}; {len(items)} {happened}",
    )
