"""The one module through which the HTTP layer reaches a fake: :class:`Source`.

Everything else in :mod:`fakeserver.http` sees only what this module returns. It uses the
public API of :class:`~fakeserver.server.FakeGmail` (``outbox``, ``script``, ``errors``,
``check()``, ``reset()``, ``reseed()``), one observer (:class:`~fakeserver.core.BaseObserver`),
and the scenario parser (``parse_rules``, ``Locator``, ``Rule.apply``).

What the API needs that the server does not have yet is derived here, each in one place, so
it can be replaced by a native feature without touching the rest:

- a stable id per captured message (:meth:`Source.messages`): numbered as the observer sees
  them, in arrival order, never reused; the outbox stays the truth for which still exist;
- every session, open or closed, with how it ended (:class:`SessionView`): built from the
  observed :class:`~fakeserver.core.Connection` (the core appends its own record only after
  the observers have run, so a waiter woken by the close would not find it there yet);
- the transcript of one session by id, also while it is open (:meth:`Source.transcript`);
- script rules with their counters, and removing one (:class:`RuleEntry`): the expectations
  a rule makes are captured as ``Rule.apply`` makes them, and a removed one is disarmed;
- a ``[[step]]`` table given as JSON, checked by the scenario code with its messages
  (:func:`parse_rule_specs`), the error's line mapped back to a JSON pointer.

Threads: the observer runs in the SMTP loop thread; everything else is called from the HTTP
loop. Shared state is guarded by one lock, and every change appends to :attr:`Source.events`.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from client.transcript import Direction, Line, Recorder, Transcript
from fakeserver.core import BaseObserver, Connection
from fakeserver.errors import ServerThreadError, UnmetExpectation
from fakeserver.http.events import EventLog
from fakeserver.http.records import RuleEntry, RuleError, SessionView, StoredMessage
from fakeserver.outbox import CapturedMessage
from fakeserver.scenario import Locator, Rule, Scenario, ScenarioError, parse_rules
from fakeserver.script import Expectation, Script
from fakeserver.sessions import SessionRecord

if TYPE_CHECKING:
    from fakeserver.server import FakeGmail

__all__ = ["Source", "parse_rule_specs"]

KEEP_SESSIONS = 2000
"""Closed sessions (and their transcripts) kept per fake; the oldest are forgotten first."""

_CLOSING_FAULTS = ("Close(", "Reset(", "Disconnect(", "NoFinalCRLF(")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(slots=True)
class _Live:
    connection: Connection
    recorder: Recorder
    faults: list[str] = field(default_factory=list)
    last_reply: bytes = b""


class Source:
    """One fake as the API sees it: messages with ids, sessions, transcripts, rules, events.

    Args:
        name: the sandbox id (``default`` for the server ``fakeserver serve`` starts).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.events = EventLog()
        self.observer = _Watcher(self)
        self._gmail: FakeGmail | None = None
        self._lock = threading.Lock()
        self._messages: list[StoredMessage] = []
        self._by_id: dict[int, StoredMessage] = {}
        self._message_ids = 0
        self._live: dict[int, _Live] = {}
        self._closed: OrderedDict[int, tuple[SessionView, Transcript]] = OrderedDict()
        self._rules: list[RuleEntry] = []
        self._rule_ids = 0
        self._resetting = False

    def attach(self, gmail: FakeGmail) -> None:
        """Serves ``gmail``, which must have been made with ``observers=[source.observer]``."""
        self._gmail = gmail

    @property
    def gmail(self) -> FakeGmail:
        if self._gmail is None:
            raise RuntimeError("no fake attached")
        return self._gmail

    # ------------------------------------------------------------------ messages

    def messages(self) -> list[StoredMessage]:
        """The captured messages still in the outbox, oldest first."""
        with self._lock:
            ours = list(self._messages)
        # Ours first, the outbox after: a message is in the outbox before the observer
        # numbers it, so one of ours missing from the later snapshot was really removed.
        present = {id(message) for message in self.gmail.outbox.messages}
        gone = {stored.id for stored in ours if id(stored.message) not in present}
        if not gone:
            return ours
        with self._lock:
            self._messages = [stored for stored in self._messages if stored.id not in gone]
            for number in gone:
                self._by_id.pop(number, None)
            return list(self._messages)

    def message(self, message_id: int) -> StoredMessage | None:
        return next((stored for stored in self.messages() if stored.id == message_id), None)

    def clear_messages(self) -> None:
        self.gmail.outbox.clear()
        self.messages()

    # ------------------------------------------------------------------ sessions

    def sessions(self) -> list[SessionView]:
        """Closed sessions oldest first, then the open ones."""
        with self._lock:
            closed = [view for view, _ in self._closed.values()]
            live = list(self._live.values())
        return closed + [_view(item, open_=True) for item in live]

    def session(self, session_id: int) -> SessionView | None:
        with self._lock:
            if session_id in self._closed:
                return self._closed[session_id][0]
            live = self._live.get(session_id)
        return _view(live, open_=True) if live is not None else None

    def transcript(self, session_id: int) -> Transcript | None:
        """The session's conversation, AUTH redacted; so far, while it is open."""
        with self._lock:
            if session_id in self._closed:
                return self._closed[session_id][1]
            live = self._live.get(session_id)
            return live.recorder.transcript() if live is not None else None

    # ------------------------------------------------------------------ script

    def rules(self) -> list[RuleEntry]:
        with self._lock:
            return list(self._rules)

    def add_rules(self, specs: Sequence[object], pointers: Sequence[str]) -> list[RuleEntry]:
        """Checks every rule, then adds them all, in order (the first that fires wins).

        Raises:
            RuleError: one is refused; none is added then.
        """
        rules = parse_rule_specs(specs, pointers)
        added = [self._apply(rule, spec) for rule, spec in _paired(rules, specs)]
        self.events.append("script.changed", {"rules": len(self.rules())})
        return added

    def replace_rules(
        self, specs: Sequence[object], pointers: Sequence[str], seed: int | None
    ) -> list[RuleEntry]:
        """Checks every rule, then replaces the whole script (and reseeds its draws)."""
        rules = parse_rule_specs(specs, pointers)
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
        """Disarms and forgets one rule; False when there is no such rule."""
        with self._lock:
            entry = next((item for item in self._rules if item.id == rule_id), None)
            if entry is None:
                return False
            self._rules.remove(entry)
        for expectation in entry.expectations:
            # The script has no remove: a matcher that never matches stops it counting and
            # firing, and without a lifetime it can never be unmet.
            expectation.matching = _never
            expectation.times = expectation.nth = None
        self.events.append("script.changed", {"rules": len(self.rules())})
        return True

    def clear_rules(self) -> None:
        self.gmail.script.clear()
        with self._lock:
            self._rules.clear()
        self.events.append("script.changed", {"rules": 0})

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
        self._resetting = True
        try:
            self.gmail.reset()
        finally:
            self._resetting = False
        self.forget()

    def forget(self) -> None:
        """Forgets what the fake forgot in a reset (FakeGmail calls it from its reset)."""
        with self._lock:
            if not (self._messages or self._closed or self._rules):
                return
            self._messages.clear()
            self._by_id.clear()
            self._closed.clear()
            self._rules.clear()
        self.events.append("reset", {})

    # ------------------------------------------------------------------ observed (SMTP thread)

    def _opened(self, connection: Connection) -> None:
        recorder = Recorder(
            clock=time.monotonic,
            headers=(
                ("listener", connection.listener.value),
                ("peer", f"{connection.peer[0]} {connection.peer[1]}"),
                ("session-id", connection.session_id),
            ),
        )
        with self._lock:
            self._live[connection.id] = _Live(connection, recorder)
        self.events.append("session.open", {"id": connection.id})

    def _line(self, connection: Connection, line: Line) -> None:
        live = self._live.get(connection.id)
        if live is None:
            return
        live.recorder.line(line.direction, line.data)
        if line.direction is Direction.SERVER and line.data[3:4] in {b" ", b"\r", b"\n", b""}:
            live.last_reply = line.data[:40]

    def _event(self, connection: Connection, kind: str, detail: str) -> None:
        live = self._live.get(connection.id)
        if live is None:
            return
        live.recorder.event(kind, detail)
        if kind == "fault":
            live.faults.append(detail)
            self.events.append("fault", {"session": connection.id, "detail": detail})

    def _message(self, message: CapturedMessage) -> None:
        with self._lock:
            self._message_ids += 1
            stored = StoredMessage(self._message_ids, message)
            self._messages.append(stored)
            self._by_id[stored.id] = stored
        self.events.append("message", {"id": stored.id})

    def _closed_connection(self, connection: Connection) -> None:
        with self._lock:
            live = self._live.pop(connection.id, None)
        if live is None:
            return
        end = "reset" if self._resetting else _end_reason(live)
        live.recorder.event("closed", end)
        view = _view(live, open_=False, end=end)
        with self._lock:
            self._closed[connection.id] = (view, live.recorder.transcript())
            while len(self._closed) > KEEP_SESSIONS:
                self._closed.popitem(last=False)
        self.events.append("session.close", {"id": connection.id})


class _Watcher(BaseObserver):
    """The observer a served fake is made with; hands everything to its :class:`Source`."""

    def __init__(self, source: Source) -> None:
        self._source = source

    def on_open(self, connection: Connection) -> None:
        self._source._opened(connection)

    def on_line(self, connection: Connection, line: Line) -> None:
        self._source._line(connection, line)

    def on_event(self, connection: Connection, kind: str, detail: str) -> None:
        self._source._event(connection, kind, detail)

    def on_message(self, connection: Connection, message: CapturedMessage) -> None:
        self._source._message(message)

    def on_close(self, connection: Connection, transcript: Transcript | None) -> None:
        self._source._closed_connection(connection)


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


def _never(argument: str) -> bool:
    return False


def _view(live: _Live, *, open_: bool, end: str | None = None) -> SessionView:
    connection = live.connection
    record = SessionRecord(
        info=connection.session_info(),
        commands=tuple(connection.commands),
        reply_codes=tuple(connection.reply_codes),
        offered=connection.offered,
        pipelined=connection.pipelined,
        messages=connection.conversation.messages_accepted,
    )
    ended_at = None if open_ else time.time()
    return SessionView(record, open_, ended_at, end, tuple(live.faults))


def _end_reason(live: _Live) -> str:
    """How a connection ended, from what the observer saw (the server does not say)."""
    last = live.last_reply
    if last.startswith(b"221") and "QUIT" in live.connection.commands:
        return "quit"
    if last.startswith(b"451 4.4.2"):
        return "idle timeout"
    if any(fault.startswith(_CLOSING_FAULTS) for fault in live.faults):
        return "fault"
    if last.startswith(b"421"):
        return "server closed (421)"
    return "client closed"


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
