"""The script rules the HTTP API added, and the error of one it refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fakeserver.scripting.script import Expectation

__all__ = ["RuleEntry", "RuleError"]


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
