"""What one fake server shares between its connections, and who watches them.

:class:`ServerState` holds the shared parts of one running server: the outbox, the record of
closed connections, the errors for the test, and the observers that watch conversations (the
live log, the JSON event stream, transcript files). It is the transport's
:class:`~fakeserver.transport.host.SessionHost` (it opens the sessions, which the server's
``SessionMaker`` makes) and every session's :class:`~fakeserver.session.journal.Journal` (the
sessions report to it).

Threads: sessions run in the server's event-loop thread. ``errors``, the session records and
the outbox are also read from other threads, so they are guarded by a lock.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from client.transcript.model import Line, Transcript
from fakeserver._waiting import wait_for_count
from fakeserver.errors import UnexpectedCommand
from fakeserver.personas.identifiers import Identity
from fakeserver.personas.model import Listener, Persona
from fakeserver.server.observers import Observer, hooks
from fakeserver.server.outbox import Outbox
from fakeserver.server.sessions import SessionList
from fakeserver.session.records import CapturedMessage, SessionRecord, SessionView
from fakeserver.transport.host import ConnectionSession

__all__ = ["ServerState", "SessionMaker"]


class SessionMaker(Protocol):
    """Makes the session of a new connection, reporting to ``journal`` (the server's
    :class:`~fakeserver.session.session.Session`, given the server's ``SessionSetup``)."""

    def __call__(
        self,
        journal: ServerState,
        *,
        number: int,
        listener: Listener,
        peer: tuple[str, int],
        session_id: str,
        identity: Identity,
    ) -> ConnectionSession: ...


class ServerState:
    """The shared state of one fake server.

    Args:
        persona: the persona the sessions speak for (its host name, limits, session ids).
        make_session: makes the session of each new connection.
        outbox: where accepted messages go.
        idle_timeout_s: silence after which a session is told it timed out.
        strict: an unrecognized command is an error that ``take_errors()`` returns.
        history_limit: closed connections kept, the oldest forgotten first; None: all.
        observers: notified of everything that happens.
        seed: seeds the generator of session ids (and the persona's other identifiers), so a
            run can be repeated.
    """

    def __init__(
        self,
        *,
        persona: Persona,
        make_session: SessionMaker,
        outbox: Outbox,
        idle_timeout_s: float,
        strict: bool = True,
        history_limit: int | None = None,
        observers: Sequence[Observer] = (),
        seed: int | None = None,
    ) -> None:
        self._persona = persona
        self._make_session = make_session
        self.outbox = outbox
        self._idle_timeout_s = idle_timeout_s
        self.strict = strict
        self._history_limit = history_limit
        self.observers = list(observers)
        self._hooks = {
            name: hooks(self.observers, name)
            for name in ("on_open", "on_line", "on_event", "on_message", "on_close")
        }
        # (An Observer need not be a BaseObserver: one that does not say, watches.)
        self._watching_lines = any(
            getattr(observer, "watches_lines", True) for observer in self.observers
        )
        self._watching_message_data = any(
            getattr(observer, "watches_lines", True)
            and getattr(observer, "watches_message_data", True)
            for observer in self.observers
        )
        self._rng = random.Random(seed)
        self._numbers = itertools.count(1)
        self._lock = threading.Condition()
        self._errors: list[BaseException] = []
        self._sessions: list[SessionRecord] = []
        self._open: dict[int, SessionView] = {}

    # ------------------------------------------------------------------ the transport's host

    @property
    def hostname(self) -> str:
        return self._persona.hostname

    @property
    def command_line_limit(self) -> int:
        return self._persona.command_line_limit

    @property
    def idle_timeout_s(self) -> float:
        return self._idle_timeout_s

    def open_session(self, listener: Listener, peer: tuple[str, int]) -> ConnectionSession:
        """A new session for a client that connected to ``listener`` from ``peer``."""
        identity = self._persona.identifiers.open(self._rng, time.time())
        return self._make_session(
            self,
            number=next(self._numbers),
            listener=listener,
            peer=peer,
            session_id=identity.session_id,
            identity=identity,
        )

    def reseed(self, seed: int) -> None:
        """Restarts the session-id generator from ``seed`` (called between tests)."""
        self._rng.seed(seed)

    # ------------------------------------------------------------------ the sessions' journal

    @property
    def watching_lines(self) -> bool:
        """Whether an observer watches lines; when none does, sessions do not report them
        (they still keep their transcripts, when those are on)."""
        return self._watching_lines

    @property
    def watching_message_data(self) -> bool:
        """Whether an observer watches the lines of message data too (the live log does only
        with ``--show-bodies``)."""
        return self._watching_message_data

    def opened(self, session: SessionView) -> None:
        with self._lock:
            self._open[session.number] = session
        self._notify("on_open", session)

    def line(self, session: SessionView, line: Line) -> None:
        self._notify("on_line", session, line)

    def event(self, session: SessionView, kind: str, detail: str) -> None:
        self._notify("on_event", session, kind, detail)

    def store(self, session: SessionView, message: CapturedMessage) -> CapturedMessage:
        """Stores ``message``; raises (once the error is recorded) when the outbox cannot take
        it, and the session then sends no 250."""
        try:
            stored = self.outbox.add(message)
        except Exception as error:
            self.report_error(error)
            raise
        self._notify("on_message", session, stored)
        return stored

    def unrecognized(self, session: SessionView, line: bytes) -> None:
        """A command the persona does not know: an error for the test when the server is
        strict, since it is usually a bug in the client under test."""
        if self.strict:
            self.report_error(UnexpectedCommand(session.number, line.rstrip(b"\r\n")))

    def closed(self, session: SessionView, record: SessionRecord) -> None:
        # Observers first (one writes the transcript file), so that whoever waits for the
        # record finds everything about the connection done.
        self._notify("on_close", session, record)
        with self._lock:
            self._open.pop(session.number, None)
            self._sessions.append(record)
            if self._history_limit is not None and len(self._sessions) > self._history_limit:
                del self._sessions[: len(self._sessions) - self._history_limit]
            self._lock.notify_all()

    # ------------------------------------------------------------------ errors and results

    def report_error(self, error: BaseException) -> None:
        """Keeps an error raised in the server thread for the test thread to re-raise."""
        with self._lock:
            self._errors.append(error)

    @property
    def errors(self) -> list[BaseException]:
        with self._lock:
            return list(self._errors)

    def take_errors(self) -> list[BaseException]:
        """Returns the errors so far and forgets them."""
        with self._lock:
            errors, self._errors = self._errors, []
        return errors

    @property
    def transcripts(self) -> list[Transcript]:
        """The transcripts of the connections closed so far, oldest first."""
        with self._lock:
            records = list(self._sessions)
        # Outside the lock: a closed connection's transcript is made when first read, which
        # can take a while, and the loop takes the lock as each connection closes.
        return [transcript for record in records if (transcript := record.transcript)]

    def wait_for_sessions(self, count: int, timeout_s: float) -> SessionList:
        """Waits until ``count`` connections have closed; raises TimeoutError otherwise."""
        with self._lock:
            wait_for_count(
                self._lock,
                self._sessions,
                count,
                timeout_s,
                awaited="closed connection(s)",
                happened="closed",
            )
            return SessionList(self._sessions)

    @property
    def sessions(self) -> SessionList:
        """The connections closed so far, oldest first."""
        with self._lock:
            return SessionList(self._sessions)

    @property
    def open_sessions(self) -> list[SessionRecord]:
        """The connections still open, oldest first, each as far as it has got (``ended`` is
        None). Read from another thread, a record may miss the last line or two."""
        with self._lock:
            views = list(self._open.values())
        return [view.record() for view in views]

    def clear_history(self) -> None:
        """Forgets closed connections' records and transcripts."""
        with self._lock:
            self._sessions.clear()

    def _notify(self, method: str, *args: object) -> None:
        for hook in self._hooks[method]:
            try:
                hook(*args)
            except Exception as error:  # an observer must never break a connection
                self.report_error(error)
