"""The one module through which the HTTP layer reaches a fake: :class:`Source`.

Everything else in :mod:`fakeserver.http` sees only what this module returns: captured messages
(each with its ``id``), session records (:class:`~fakeserver.session.records.SessionRecord`,
``ended`` None while open), transcripts, script rules and events. It uses the public API of
:class:`~fakeserver.server.fake.FakeGmail` (``outbox``, ``sessions``, ``script``, ``errors``,
``check()``, ``reset()``), one observer (:class:`~fakeserver.server.observers.BaseObserver`),
which sees the open sessions and numbers the events, and the scenario parser (``parse_rules``,
``Locator``, ``Rule.apply``), so a rule sent as JSON is checked exactly as a scenario file's.

A rule is one ``[[step]]`` table; it makes one script expectation per step it names, which
keep its counters. The rules the API added are listed here; removing one removes its
expectations from the script.

Threads: the observer runs in the SMTP loop thread; everything else is called from the HTTP
loop. Shared state is guarded by one lock, and every change appends to :attr:`Source.events`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any, Protocol, cast

from client.transcript.model import Transcript
from fakeserver.errors import ScriptError, ServerThreadError, UnmetExpectation
from fakeserver.http.events import EventLog
from fakeserver.http.records import RuleEntry, RuleError
from fakeserver.personas.model import Listener, Persona
from fakeserver.scripting.scenario import Locator, Rule, Scenario, ScenarioError, parse_rules
from fakeserver.scripting.script import Expectation, Script
from fakeserver.server.observers import BaseObserver
from fakeserver.server.outbox import Outbox
from fakeserver.server.sessions import SessionList
from fakeserver.session.records import CapturedMessage, SessionRecord, SessionView
from fakeserver.transport.loop import Address

__all__ = ["Fake", "Source", "parse_rule_specs"]

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


class Fake(Protocol):
    """What the HTTP layer uses of a fake (a :class:`~fakeserver.server.fake.FakeGmail`)."""

    @property
    def outbox(self) -> Outbox: ...

    @property
    def sessions(self) -> SessionList: ...

    @property
    def script(self) -> Script: ...

    @property
    def errors(self) -> list[BaseException]: ...

    @property
    def listeners(self) -> dict[Listener, Address]: ...

    @property
    def persona(self) -> Persona: ...

    @property
    def ca_pem(self) -> bytes: ...

    def check(self) -> None: ...

    def reset(self) -> None: ...


class Source:
    """One fake as the API sees it: messages, sessions, transcripts, rules, events.

    Args:
        name: the sandbox id (``default`` for the server ``fakeserver serve`` starts).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.events = EventLog()
        self.observer = _Watcher(self)
        self._gmail: Fake | None = None
        self._lock = threading.Lock()
        self._open: dict[int, SessionView] = {}
        # Closed, told to the observers, and not yet in the fake's history (the fake adds a
        # record only once every observer has seen it close): a waiter woken by the close
        # must find it.
        self._closing: dict[int, SessionRecord] = {}
        self._rules: list[RuleEntry] = []
        self._rule_ids = 0

    def attach(self, gmail: Fake) -> None:
        """Serves ``gmail``, which must have been made with ``observers=[source.observer]``."""
        self._gmail = gmail

    @property
    def gmail(self) -> Fake:
        if self._gmail is None:
            raise RuntimeError("no fake attached")
        return self._gmail

    # ------------------------------------------------------------------ messages

    def messages(self) -> list[CapturedMessage]:
        """The captured messages, oldest first."""
        return self.gmail.outbox.messages

    def message(self, message_id: int) -> CapturedMessage | None:
        return next((message for message in self.messages() if message.id == message_id), None)

    def clear_messages(self) -> None:
        self.gmail.outbox.clear()

    # ------------------------------------------------------------------ sessions

    def sessions(self) -> list[SessionRecord]:
        """Closed sessions oldest first, then the open ones (as far as they have got)."""
        closed = list(self.gmail.sessions)
        done = {record.info.connection_id for record in closed}
        with self._lock:
            for number in done & self._closing.keys():
                del self._closing[number]
            closing = list(self._closing.values())
            live = list(self._open.values())
        return closed + closing + [view.record() for view in live if view.number not in done]

    def session(self, session_id: int) -> SessionRecord | None:
        return next(
            (record for record in self.sessions() if record.info.connection_id == session_id),
            None,
        )

    def transcript(self, session_id: int) -> Transcript | None:
        """The session's conversation, AUTH redacted; so far, while it is open."""
        record = self.session(session_id)
        return record.transcript if record is not None else None

    # ------------------------------------------------------------------ script

    def rules(self) -> list[RuleEntry]:
        with self._lock:
            return list(self._rules)

    def add_rules(self, specs: Sequence[object], pointers: Sequence[str]) -> list[RuleEntry]:
        """Checks every rule, then adds them all, in order (the first that fires wins).

        Raises:
            RuleError: one is refused; none is added then.
        """
        rules = self.check_rules(specs, pointers)
        added = [self._apply(rule, spec) for rule, spec in _paired(rules, specs)]
        self.events.append("script.changed", {"rules": len(self.rules())})
        return added

    def replace_rules(
        self, specs: Sequence[object], pointers: Sequence[str], seed: int | None
    ) -> list[RuleEntry]:
        """Checks every rule, then replaces the whole script (and reseeds its draws)."""
        rules = self.check_rules(specs, pointers)
        self.gmail.script.clear()
        with self._lock:
            self._rules.clear()
        if seed is not None:
            self.gmail.script.reseed(seed)
        added = [self._apply(rule, spec) for rule, spec in _paired(rules, specs)]
        self.events.append("script.changed", {"rules": len(added)})
        return added

    def adopt(self, scenario: Scenario) -> None:
        """Serves a scenario file's rules (``--scenario``), listed like the API's own."""
        if scenario.seed is not None:
            self.gmail.script.reseed(scenario.seed)
        for rule in scenario.rules:
            self._apply(rule, None)

    def remove_rule(self, rule_id: int) -> bool:
        """Removes one rule's expectations from the script; False when there is no such rule."""
        with self._lock:
            entry = next((item for item in self._rules if item.id == rule_id), None)
            if entry is None:
                return False
            self._rules.remove(entry)
        for expectation in entry.expectations:
            self.gmail.script.remove(expectation)
        self.events.append("script.changed", {"rules": len(self.rules())})
        return True

    def clear_rules(self) -> None:
        self.gmail.script.clear()
        with self._lock:
            self._rules.clear()
        self.events.append("script.changed", {"rules": 0})

    def check_rules(self, specs: Sequence[object], pointers: Sequence[str]) -> tuple[Rule, ...]:
        """The rules, parsed and tried on a scratch script of this fake's persona, so that a
        reply the persona has no evidence for is refused before any rule is added.

        Raises:
            RuleError: as :func:`parse_rule_specs`, or a rule names a reply the persona lacks.
        """
        rules = parse_rule_specs(specs, pointers)
        for rule, pointer in zip(rules, pointers, strict=True):
            try:
                rule.apply(Script(persona=self.gmail.persona))
            except ScriptError as error:
                raise RuleError(pointer, error.problem) from error
        return rules

    def _apply(self, rule: Rule, spec: dict[str, Any] | None) -> RuleEntry:
        capture = _Capture(self.gmail.script)
        rule.apply(cast(Script, capture))
        with self._lock:
            self._rule_ids += 1
            entry = RuleEntry(self._rule_ids, spec, capture.made)
            self._rules.append(entry)
        return entry

    # ------------------------------------------------------------------ check and reset

    def problems(self) -> list[str]:
        """What ``check()`` would raise now, without forgetting it (as GET should)."""
        problems = [f"{type(error).__name__}: {error}" for error in self.gmail.errors]
        unmet = self.gmail.script.unmet()
        if unmet:
            problems.append(f"UnmetExpectation: {UnmetExpectation(unmet)}")
        return problems

    def final_check(self) -> list[str]:
        """``check()``: what went wrong, forgotten once returned."""
        try:
            self.gmail.check()
        except ServerThreadError as error:
            return [f"{type(item).__name__}: {item}" for item in error.errors]
        return []

    def reset(self) -> None:
        """``reset()``: drops connections, forgets messages, sessions and the script."""
        self.gmail.reset()  # which calls forget()

    def forget(self) -> None:
        """Forgets the rules the fake forgot in a reset (FakeGmail calls it from its reset)."""
        with self._lock:
            self._rules.clear()
            self._closing.clear()
        self.events.append("reset", {})


class _Watcher(BaseObserver):
    """The observer a served fake is made with: it keeps the open sessions and tells the
    event log."""

    def __init__(self, source: Source) -> None:
        self._source = source

    def on_open(self, session: SessionView) -> None:
        with self._source._lock:
            self._source._open[session.number] = session
        self._source.events.append("session.open", {"id": session.number})

    def on_event(self, session: SessionView, kind: str, detail: str) -> None:
        if kind == "fault":
            self._source.events.append("fault", {"session": session.number, "detail": detail})

    def on_message(self, session: SessionView, message: CapturedMessage) -> None:
        self._source.events.append("message", {"id": message.id})

    def on_close(self, session: SessionView, record: SessionRecord) -> None:
        with self._source._lock:
            self._source._open.pop(session.number, None)
            self._source._closing[session.number] = record
        self._source.events.append("session.close", {"id": session.number})


class _Capture:
    """Stands in for a Script while ``Rule.apply`` runs, keeping the expectations it makes."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self.made: list[Expectation] = []

    def on(self, *arguments: Any, **options: Any) -> Expectation:
        expectation = self._script.on(*arguments, **options)
        self.made.append(expectation)
        return expectation


def _paired(rules: tuple[Rule, ...], specs: Sequence[object]) -> list[tuple[Rule, dict[str, Any]]]:
    # parse_rule_specs made one rule per spec, and checked that each spec is an object.
    return [(rule, cast(dict[str, Any], spec)) for rule, spec in zip(rules, specs, strict=True)]


def parse_rule_specs(specs: Sequence[object], pointers: Sequence[str]) -> tuple[Rule, ...]:
    """Rules from ``[[step]]`` tables written as JSON, checked as a scenario file's are.

    The scenario parser names lines, so the tables are laid out as a scenario's text (one
    ``[[step]]`` header per rule, one line per key) for its :class:`Locator`, and the line of
    an error is turned back into a JSON pointer.

    Args:
        specs: the rules as decoded from JSON.
        pointers: the JSON pointer of each rule in the request body.

    Raises:
        RuleError: a rule is not an object, or the scenario parser refuses it.
    """
    lines: list[str] = []
    places: dict[int, tuple[str, str]] = {}
    for spec, pointer in zip(specs, pointers, strict=True):
        if not isinstance(spec, dict):
            raise RuleError(pointer, 'a rule is an object: {"on": "rcpt", "reply": "..."}')
        lines.append("[[step]]")
        places[len(lines)] = (pointer, "")
        for key in spec:
            lines.append(f"{key} = ..." if _PLAIN_KEY.fullmatch(str(key)) else "# another key")
            places[len(lines)] = (pointer, str(key))
    try:
        return parse_rules(list(specs), Locator("\n".join(lines), "rule"), "step", first=0)
    except ScenarioError as error:
        pointer, key = places.get(error.line or 0, (pointers[0] if pointers else "", ""))
        escaped = key.replace("~", "~0").replace("/", "~1")
        raise RuleError(f"{pointer}/{escaped}" if key else pointer, error.problem) from error
