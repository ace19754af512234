"""Scripting a server, per test: name a step and an occurrence, and say what to answer instead.

::

    gmail.script.on("rcpt", nth=2).reply(550, "5.1.1", "No such user here")
    gmail.script.on("data", times=2).reply("rate_limited")       # 421 twice, then Gmail's 354
    gmail.script.on("end_of_data").replies("451 4.3.0 Try again", "451 4.3.0 Try again")
    gmail.script.on("mail", matching="bounce@").reply("550 5.7.1 Not from this sender")

A reply is a persona situation (``"rate_limited"``, ``"daily_quota"``, ``"bad_credentials"``...;
see :class:`~fakeserver.persona.Situation` and :data:`ALIASES`), a raw reply (text lines sent
exactly as given), or ``(code, status, text)`` rendered in the persona's house style (wrapped at
70 columns, ending with Gmail's ``<session-id> - gsmtp`` tag).

Lifetimes, after pytest-httpserver's permanent / oneshot / ordered handlers:

- every matching occurrence (the default);
- ``times=k``: the first ``k`` matching occurrences;
- ``nth=n``: only the ``n``-th matching occurrence (1-based);
- ``.replies(a, b, ...)``: ``a`` for the first, ``b`` for the second..., then the persona again.

Occurrences are counted over the whole server, so "421 at the first DATA, then normal" covers a
client that reconnects. When several expectations match, the one added first wins. An
expectation with a limited lifetime that has not been used up when the test ends is an
:class:`~fakeserver.errors.UnmetExpectation`.

What a scripted reply does to the conversation: a 2xx or 3xx reply changes only the words, and
the persona's rules still decide what the command did; a 4xx or 5xx reply means the command had
no effect (a refused end of data stores nothing, a refused RCPT adds no recipient, a refused
STARTTLS starts no TLS), and ``421`` also closes the connection, as RFC 5321 §3.8 says.
"""

from __future__ import annotations

import enum
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fakeserver.errors import ScriptError
from fakeserver.persona import ReplyTemplate, Situation

__all__ = ["ALIASES", "Expectation", "RawReply", "Script", "ScriptedReply", "Step"]


class Step(enum.StrEnum):
    """The points of a conversation a script can change."""

    GREETING = "greeting"
    EHLO = "ehlo"
    HELO = "helo"
    STARTTLS = "starttls"
    AUTH = "auth"
    """The reply to the AUTH command itself."""
    AUTH_RESPONSE = "auth_response"
    """The reply to each line the client sends during an AUTH exchange."""
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    END_OF_DATA = "end_of_data"
    BDAT = "bdat"
    """The reply after each BDAT chunk."""
    RSET = "rset"
    NOOP = "noop"
    HELP = "help"
    VRFY = "vrfy"
    EXPN = "expn"
    QUIT = "quit"


ALIASES = {
    "quota_exceeded": Situation.DAILY_QUOTA,
    "too_big": Situation.MESSAGE_TOO_BIG,
    "not_authenticated": Situation.AUTH_REQUIRED,
}
"""Friendlier names for a few situations."""

_RAW_REPLY = re.compile(r"[2-5]\d\d(?:[ -].*)?", re.DOTALL)


@dataclass(frozen=True, slots=True)
class RawReply:
    """Reply lines sent exactly as given (each gets a CRLF)."""

    lines: tuple[str, ...]

    @property
    def code(self) -> int:
        return int(self.lines[0][:3])


ScriptedReply = Situation | RawReply | ReplyTemplate


def reply_code(reply: ScriptedReply, templates: Mapping[Situation, ReplyTemplate]) -> int:
    """The reply code a scripted reply sends."""
    if isinstance(reply, Situation):
        return templates[reply].code
    return reply.code


@dataclass(slots=True)
class Expectation:
    """One scripted change; made by :meth:`Script.on` and finished with a ``reply`` method."""

    step: Step
    matching: Callable[[str], bool] | None
    description: str
    times: int | None = None
    nth: int | None = None
    sequence: list[ScriptedReply] = field(default_factory=list)
    seen: int = 0
    used: int = 0

    def reply(
        self, reply: str | int | Situation, status: str | None = None, text: str | None = None
    ) -> Expectation:
        """Answers with one reply: a situation name, raw text, or ``(code, status, text)``."""
        self.sequence = [_parse_reply(reply, status, text)]
        return self

    def replies(self, *replies: str | Situation | ScriptedReply) -> Expectation:
        """Answers the first occurrence with the first reply, and so on, then lets it be."""
        if not replies:
            raise ScriptError("replies()", "give at least one reply")
        self.sequence = [
            item if isinstance(item, RawReply | ReplyTemplate) else _parse_reply(item, None, None)
            for item in replies
        ]
        self.times = len(self.sequence)
        self.description += f".replies({len(self.sequence)} replies)"
        return self

    @property
    def unmet(self) -> bool:
        """Limited in lifetime, and not used up."""
        if self.nth is not None:
            return self.used < 1
        return self.times is not None and self.used < self.times

    def _fires(self, argument: str) -> bool:
        """Counts this occurrence if it matches, and says whether it is one to change."""
        if self.matching is not None and not self.matching(argument):
            return False
        self.seen += 1
        if self.nth is not None:
            return self.seen == self.nth
        return self.times is None or self.seen <= self.times

    def _use(self) -> ScriptedReply:
        reply = self.sequence[min(self.used, len(self.sequence) - 1)]
        self.used += 1
        return reply


class Script:
    """The expectations of one server; edited from the test thread, read by the server's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expectations: list[Expectation] = []

    def on(
        self,
        step: str | Step,
        *,
        matching: str | re.Pattern[str] | Callable[[str], bool] | None = None,
        times: int | None = None,
        nth: int | None = None,
    ) -> Expectation:
        """Starts an expectation; finish it with ``.reply(...)`` or ``.replies(...)``.

        Args:
            step: one of :class:`Step` (``"rcpt"``, ``"end_of_data"``...).
            matching: only commands whose argument contains this text, matches this
                pattern, or passes this test (``"TO:<bad@"``); None: all.
            times: change only the first ``times`` matching occurrences.
            nth: change only the ``nth`` matching occurrence (1 is the first).

        Raises:
            ScriptError: an unknown step, or a bad ``times``/``nth``.
        """
        try:
            named = Step(step)
        except ValueError:
            raise ScriptError(
                f"on({step!r})", f"unknown step; use one of {[item.value for item in Step]}"
            ) from None
        if times is not None and nth is not None:
            raise ScriptError(f"on({step!r})", "give times= or nth=, not both")
        for name, value in (("times", times), ("nth", nth)):
            if value is not None and value < 1:
                raise ScriptError(f"on({step!r}, {name}={value})", f"{name} counts from 1")
        expectation = Expectation(
            named, _matcher(matching), _describe(named, matching, times, nth), times, nth
        )
        with self._lock:
            self._expectations.append(expectation)
        return expectation

    def decide(self, step: Step, argument: str = "") -> ScriptedReply | None:
        """The scripted reply for this occurrence of ``step``, or None for the persona's.

        Every expectation for the step counts the occurrence (so ``nth`` means the n-th
        occurrence, whoever answered the others); the first one added that fires answers.
        """
        chosen = None
        with self._lock:
            for expectation in self._expectations:
                if expectation.step is step and expectation.sequence:
                    fires = expectation._fires(argument)
                    if fires and chosen is None:
                        chosen = expectation._use()
        return chosen

    def unmet(self) -> list[str]:
        """Descriptions of limited expectations that have not been used up."""
        with self._lock:
            return [
                f"{item.description} used {item.used} time(s)"
                for item in self._expectations
                if item.unmet
            ]

    def clear(self) -> None:
        with self._lock:
            self._expectations.clear()


def _parse_reply(
    reply: str | int | Situation, status: str | None, text: str | None
) -> ScriptedReply:
    if isinstance(reply, int):
        if text is None:
            raise ScriptError(f"reply({reply})", "a code needs text: reply(550, '5.1.1', 'text')")
        return ReplyTemplate(reply, status, (text,), True, reply == 421, "scripted")
    if isinstance(reply, Situation):
        return reply
    if reply in ALIASES:
        return ALIASES[reply]
    try:
        return Situation(reply)
    except ValueError:
        pass
    lines = tuple(reply.splitlines())
    if not lines or not all(_RAW_REPLY.fullmatch(line) for line in lines):
        raise ScriptError(
            f"reply({reply!r})",
            "not a situation name (e.g. 'rate_limited') nor reply lines like '451 4.3.0 Later'",
        )
    return RawReply(lines)


def _matcher(
    matching: str | re.Pattern[str] | Callable[[str], bool] | None,
) -> Callable[[str], bool] | None:
    if matching is None or callable(matching):
        return matching
    if isinstance(matching, re.Pattern):
        pattern = matching
        return lambda argument: pattern.search(argument) is not None
    text = matching.casefold()
    return lambda argument: text in argument.casefold()


def _describe(
    step: Step,
    matching: object,
    times: int | None,
    nth: int | None,
) -> str:
    parts = [repr(step.value)]
    if matching is not None:
        parts.append(f"matching={matching!r}")
    if times is not None:
        parts.append(f"times={times}")
    if nth is not None:
        parts.append(f"nth={nth}")
    return f"on({', '.join(parts)})"
