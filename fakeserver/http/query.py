"""Query parameters and JSON bodies, checked, with a :class:`Problem` naming what is wrong.

Unknown query parameters are refused rather than ignored, so a typo (``timout_s``) fails
loudly instead of waiting ten seconds for the default. Every number has bounds, and every
wait a ceiling (:data:`MAX_WAIT_S`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from fakeserver.http.problems import Problem
from fakeserver.session.records import CapturedMessage

__all__ = [
    "DEFAULT_WAIT_S",
    "FILTERS",
    "MAX_WAIT_S",
    "MessageFilter",
    "decode_json",
    "integer",
    "known_only",
    "message_filter",
    "seconds",
]

DEFAULT_WAIT_S = 10.0
MAX_WAIT_S = 120.0
MAX_COUNT = 100_000
FILTERS = ("to", "from", "subject", "user", "q", "after", "limit")
"""The filters of the message list and of ``messages/wait``."""


def known_only(query: Mapping[str, str], allowed: Collection[str]) -> None:
    """Refuses a parameter not in ``allowed`` (``token`` is the middleware's)."""
    for name in query:
        if name not in allowed and name != "token":
            known = ", ".join(sorted(allowed)) or "none"
            raise Problem(400, f"unknown parameter {name!r}; this route takes: {known}", field=name)


def integer(
    query: Mapping[str, str], name: str, default: int, *, low: int = 0, high: int = MAX_COUNT
) -> int:
    """``query[name]`` as a whole number from ``low`` to ``high``; ``default`` when absent."""
    text = query.get(name)
    if text is None:
        return default
    # isascii(): str.isdigit() and int() take any script's digits ("٣" is not a number here).
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise Problem(400, f"{name} must be a whole number from {low} to {high}", field=name)
    return int(text)


def seconds(query: Mapping[str, str], name: str, default: float) -> float:
    """``query[name]`` as seconds from 0 to :data:`MAX_WAIT_S`."""
    text = query.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_WAIT_S:  # NaN fails too
        raise Problem(400, f"{name} must be a number of seconds from 0 to {MAX_WAIT_S}", field=name)
    return value


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """Which messages a list or a wait is about; every text test ignores case.

    Attributes:
        to: a text some recipient contains.
        sender: a text the MAIL FROM address contains.
        subject: a text the Subject contains.
        user: the AUTH user, exactly.
        q: a text the sender, a recipient or the Subject contains.
        after: only messages with a higher id.
        limit: at most this many, oldest first.
    """

    to: str | None = None
    sender: str | None = None
    subject: str | None = None
    user: str | None = None
    q: str | None = None
    after: int = 0
    limit: int = MAX_COUNT

    def matches(self, message: CapturedMessage, subject: str) -> bool:
        if message.id <= self.after:
            return False
        recipients = " ".join(message.recipients).casefold()
        checks = (
            (self.to, recipients),
            (self.sender, message.mail_from.casefold()),
            (self.subject, subject.casefold()),
        )
        if any(wanted is not None and wanted not in text for wanted, text in checks):
            return False
        if self.user is not None and (message.session.user or "").casefold() != self.user:
            return False
        if self.q is not None:
            haystack = f"{message.mail_from} {recipients} {subject}".casefold()
            return self.q in haystack
        return True


def message_filter(query: Mapping[str, str]) -> MessageFilter:
    """The filters in ``query`` (see :data:`FILTERS`)."""

    def text(name: str) -> str | None:
        value = query.get(name)
        if value is not None and len(value) > 1000:
            raise Problem(400, f"{name} must be at most 1000 characters", field=name)
        return value.casefold() if value is not None else None

    return MessageFilter(
        to=text("to"),
        sender=text("from"),
        subject=text("subject"),
        user=text("user"),
        q=text("q") or None,
        after=integer(query, "after", 0),
        limit=integer(query, "limit", MAX_COUNT, low=1),
    )


def decode_json(text: str) -> Any:
    """A request body as JSON; NaN and Infinity are refused (a fault's delay must be finite)."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    try:
        return json.loads(text, parse_constant=refuse) if text.strip() else None
    except ValueError as error:
        raise Problem(400, f"the body is not JSON: {error}", pointer="") from error
