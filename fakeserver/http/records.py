"""The values the HTTP layer shows: stored messages, sessions and rules, as plain data.

:mod:`fakeserver.http.source` makes them from a running fake; everything else reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fakeserver.outbox import CapturedMessage
from fakeserver.script import Expectation
from fakeserver.sessions import SessionRecord

__all__ = ["RuleEntry", "RuleError", "SessionView", "StoredMessage"]


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A captured message and its id (1, 2, 3... per fake, in arrival order)."""

    id: int
    message: CapturedMessage


@dataclass(frozen=True, slots=True)
class SessionView:
    """One connection as the API shows it.

    Attributes:
        record: its facts, commands and reply codes (final once closed).
        open: still connected.
        ended_at: Unix time it closed, or None.
        end: how it ended: ``quit``, ``client closed``, ``idle timeout``, ``fault``,
            ``server closed (421)`` or ``reset``; None while open.
        faults: the injected faults, as the server reported them.
    """

    record: SessionRecord
    open: bool
    ended_at: float | None
    end: str | None
    faults: tuple[str, ...]

    @property
    def id(self) -> int:
        return self.record.info.connection_id


@dataclass(slots=True)
class RuleEntry:
    """A script rule added through the API, and the expectations it made.

    Attributes:
        id: 1, 2, 3... per fake.
        spec: the rule as given (a ``[[step]]`` table as JSON); None for a scenario file's.
        expectations: one per step it names; they keep the counters.
    """

    id: int
    spec: dict[str, Any] | None
    expectations: list[Expectation]


class RuleError(ValueError):
    """A rule the scenario parser refused.

    Attributes:
        pointer: the JSON pointer of the bad value in the request body.
        problem: the scenario parser's message.
    """

    def __init__(self, pointer: str, problem: str) -> None:
        super().__init__(f"{pointer or '/'}: {problem}")
        self.pointer = pointer
        self.problem = problem
