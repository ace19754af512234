"""Scripting a server, per test: name a step and an occurrence, and say what to answer instead.

::

    gmail.script.on("rcpt", nth=2).reply(550, "5.1.1", "No such user here")
    gmail.script.on("data", times=2).reply("rate_limited")       # 421 twice, then Gmail's 354
    gmail.script.on("end_of_data").replies("451 4.3.0 Try again", "451 4.3.0 Try again")
    gmail.script.on("mail", matching="bounce@").reply("550 5.7.1 Not from this sender")

A reply is a persona situation (``"rate_limited"``, ``"daily_quota"``, ``"bad_credentials"``,
``"basic_auth_disabled"``...; see :class:`~fakeserver.personas.model.Situation` and
:data:`ALIASES`), a raw reply (text lines sent exactly as given), or ``(code, status, text)``
rendered in the persona's house style (Gmail's: wrapped at 70 columns, ending with its
``<session-id> - gsmtp`` tag).

A server's script knows its persona (:class:`PersonaReplies`): scripting a situation the persona
has no evidence for is an error that says so at once, never an invented text.

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
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from fakeserver.errors import ScriptError
from fakeserver.personas.vocabulary import ReplyTemplate, Situation
from fakeserver.scripting.faults import Fault, HandshakePlan, PlanKind, shape

__all__ = [
    "ALIASES",
    "Action",
    "Expectation",
    "PersonaReplies",
    "RawReply",
    "Script",
    "ScriptedReply",
    "Step",
    "plan_kind",
    "steps_for",
]


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
    BODY = "body"
    """The message coming in after 354 (for ``Disconnect`` faults)."""
    END_OF_DATA = "end_of_data"
    BDAT = "bdat"
    """The reply after each BDAT chunk."""
    RSET = "rset"
    NOOP = "noop"
    HELP = "help"
    VRFY = "vrfy"
    EXPN = "expn"
    QUIT = "quit"
    TLS = "tls"
    """A TLS handshake, on the implicit-TLS port or after STARTTLS (for TLS faults)."""


def plan_kind(step: Step) -> PlanKind:
    """What the faults of ``step`` shape: the TLS handshake, the incoming body, or a reply."""
    if step is Step.TLS:
        return PlanKind.HANDSHAKE
    if step is Step.BODY:
        return PlanKind.BODY
    return PlanKind.REPLY


ALIASES = {
    "quota_exceeded": Situation.DAILY_QUOTA,
    "too_big": Situation.MESSAGE_TOO_BIG,
    "not_authenticated": Situation.AUTH_REQUIRED,
}
"""Friendlier names for a few situations."""

_RAW_REPLY = re.compile(r"[2-5][0-9][0-9](?:[ -].*)?", re.DOTALL)  # ASCII digits, not \d
_STATUS = re.compile(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}")  # RFC 3463 §2


class PersonaReplies(Protocol):
    """What a script knows of the persona it speaks for (a
    :class:`~fakeserver.personas.model.Persona` is one)."""

    @property
    def name(self) -> str: ...

    def has(self, situation: Situation) -> bool: ...


@dataclass(frozen=True, slots=True)
class RawReply:
    """Reply lines sent exactly as given (each gets a CRLF)."""

    lines: tuple[str, ...]

    @property
    def code(self) -> int:
        return int(self.lines[0][:3])


ScriptedReply = Situation | RawReply | ReplyTemplate


@dataclass(frozen=True, slots=True)
class Action:
    """What a script asks of one occurrence of a step: another reply, faults, or both."""

    reply: ScriptedReply | None = None
    faults: tuple[Fault[Any], ...] = ()


@dataclass(slots=True)
class Expectation:
    """One scripted change; made by :meth:`Script.on` and finished with a ``reply`` method."""

    step: Step
    matching: Callable[[str], bool] | None
    description: str
    times: int | None = None
    nth: int | None = None
    probability: float = 1.0
    sequence: list[ScriptedReply] = field(default_factory=list)
    faults: tuple[Fault[Any], ...] = ()
    seen: int = 0
    used: int = 0
    persona: PersonaReplies | None = None

    def reply(
        self, reply: str | int | Situation, status: str | None = None, text: str | None = None
    ) -> Expectation:
        """Answers with one reply: a situation name, raw text, or ``(code, status, text)``."""
        self.sequence = [_parse_reply(reply, status, text, self.persona)]
        return self

    def fault(self, *faults: Fault[Any]) -> Expectation:
        """Makes the step misbehave (see :mod:`~fakeserver.scripting.faults`); combines with a
        reply.

        Raises:
            ScriptError: a fault that does nothing at this step (a TLS fault on ``rcpt``...).
        """
        kind = plan_kind(self.step)
        for fault in faults:
            if fault.shapes is not kind:
                raise ScriptError(
                    f"on({self.step.value!r}).fault({fault!r})",
                    f"{fault.name!r} shapes {fault.shapes.value}; this step has {kind.value}; "
                    f"use it on {', '.join(step.value for step in steps_for(fault.shapes))}",
                )
        self.faults = (*self.faults, *faults)
        return self

    def replies(self, *replies: str | Situation | ScriptedReply) -> Expectation:
        """Answers the first occurrence with the first reply, and so on, then lets it be."""
        if not replies:
            raise ScriptError("replies()", "give at least one reply")
        self.sequence = [
            item
            if isinstance(item, RawReply | ReplyTemplate)
            else _parse_reply(item, None, None, self.persona)
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

    def _fires(self, argument: str, rng: random.Random) -> bool:
        """Counts this occurrence if it matches, and says whether it is one to change."""
        if self.matching is not None and not self.matching(argument):
            return False
        self.seen += 1
        if self.nth is not None:
            return self.seen == self.nth
        if self.times is not None and self.used >= self.times:
            return False
        # The draw happens only for occurrences that could fire, so a seed replays exactly.
        return self.probability >= 1.0 or rng.random() < self.probability

    def _use(self) -> Action:
        reply = self.sequence[min(self.used, len(self.sequence) - 1)] if self.sequence else None
        self.used += 1
        return Action(reply, self.faults)


class Script:
    """The expectations of one server; edited from the test thread, read by the server's."""

    def __init__(self, seed: int = 0, *, persona: PersonaReplies | None = None) -> None:
        self.persona = persona
        self._lock = threading.Lock()
        self._expectations: list[Expectation] = []
        self.seed = seed
        self._rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        """Restarts the draws of ``probability=`` expectations from ``seed``."""
        with self._lock:
            self.seed = seed
            self._rng.seed(seed)

    def on(
        self,
        step: str | Step,
        *,
        matching: str | re.Pattern[str] | Callable[[str], bool] | None = None,
        times: int | None = None,
        nth: int | None = None,
        probability: float = 1.0,
    ) -> Expectation:
        """Starts an expectation; finish it with ``.reply(...)``, ``.replies(...)`` and/or
        ``.fault(...)``.

        Args:
            step: one of :class:`Step` (``"rcpt"``, ``"end_of_data"``...).
            matching: only commands whose argument contains this text, matches this
                pattern, or passes this test (``"TO:<bad@"``); None: all.
            times: change only the first ``times`` matching occurrences.
            nth: change only the ``nth`` matching occurrence (1 is the first).
            probability: change each eligible occurrence with this chance, drawn from the
                script's seeded generator (``seed``; the pytest plugin seeds it per test).

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
        if not 0.0 < probability <= 1.0:
            raise ScriptError(f"on({step!r}, probability={probability})", "use 0 < p <= 1")
        expectation = Expectation(
            named,
            _matcher(matching),
            _describe(named, matching, times, nth, probability),
            times,
            nth,
            probability,
            persona=self.persona,
        )
        with self._lock:
            self._expectations.append(expectation)
        return expectation

    def decide(self, step: Step, argument: str = "") -> Action | None:
        """What the script asks of this occurrence of ``step``; None: nothing special.

        Every expectation for the step counts the occurrence (so ``nth`` means the n-th
        occurrence, whoever answered the others); the first one added that fires answers.
        """
        chosen = None
        with self._lock:
            if not self._expectations:
                return None
            for expectation in self._expectations:
                if expectation.step is step and (expectation.sequence or expectation.faults):
                    fires = expectation._fires(argument, self._rng)
                    if fires and chosen is None:
                        chosen = expectation._use()
        return chosen

    def handshake_plan(self, server_name: str) -> HandshakePlan:
        """How the next TLS handshake goes, as the ``tls`` step's faults shape it (the client
        asked for ``server_name`` by SNI, or for none)."""
        action = self.decide(Step.TLS, server_name)
        return shape(HandshakePlan(), action.faults if action is not None else ())

    def unmet(self) -> list[str]:
        """Descriptions of limited expectations that have not been used up."""
        with self._lock:
            return [
                f"{item.description} used {item.used} time(s)"
                for item in self._expectations
                if item.unmet
            ]

    @property
    def expectations(self) -> list[Expectation]:
        """The expectations in the order they were added (the first that fires wins), with
        their counters: ``seen`` (matching occurrences), ``used`` (changed ones), ``unmet``."""
        with self._lock:
            return list(self._expectations)

    def remove(self, expectation: Expectation) -> bool:
        """Forgets one expectation; returns whether it was there."""
        with self._lock:
            for index, item in enumerate(self._expectations):
                if item is expectation:
                    del self._expectations[index]
                    return True
        return False

    def clear(self) -> None:
        with self._lock:
            self._expectations.clear()


def _parse_reply(
    reply: str | int | Situation,
    status: str | None,
    text: str | None,
    persona: PersonaReplies | None,
) -> ScriptedReply:
    if isinstance(reply, int):
        if text is None:
            raise ScriptError(f"reply({reply})", "a code needs text: reply(550, '5.1.1', 'text')")
        if status is not None and not _STATUS.fullmatch(status):
            raise ScriptError(
                f"reply({reply}, {status!r})", "a status is an RFC 3463 code like '5.1.1', or None"
            )
        return ReplyTemplate(reply, status, (text,), True, reply == 421, "scripted")
    situation = reply if isinstance(reply, Situation) else ALIASES.get(reply)
    if situation is None and reply in {item.value for item in Situation}:
        situation = Situation(reply)
    if situation is not None:
        if persona is not None and not persona.has(situation):
            raise ScriptError(
                f"reply({reply!r})",
                f"the {persona.name} persona has no evidence for {situation.value}, so it has "
                "no such reply; script the words you expect as raw lines ('550 5.7.1 ...'), "
                f"or see `fakeserver personas {persona.name}` for what it has",
            )
        return situation
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
    step: Step, matching: object, times: int | None, nth: int | None, probability: float
) -> str:
    parts = [repr(step.value)]
    if matching is not None:
        parts.append(f"matching={matching!r}")
    if times is not None:
        parts.append(f"times={times}")
    if nth is not None:
        parts.append(f"nth={nth}")
    if probability < 1.0:
        parts.append(f"probability={probability}")
    return f"on({', '.join(parts)})"


def steps_for(kind: PlanKind) -> list[Step]:
    """The steps whose faults shape ``kind`` of plan."""
    return [step for step in Step if plan_kind(step) is kind]
