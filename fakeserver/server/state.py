"""What one fake server shares between its connections, and how it reports what happens.

:class:`ServerCore` holds the settings and the shared parts of one running server: persona,
accounts, policy and usage counters, outbox, finished transcripts, errors, and the
observers that watch conversations (the live log, the JSON event stream). The aiosmtpd
adapter makes one :class:`Connection` per client and reports every line through
:meth:`ServerCore.line`, which records it (secrets redacted) before any observer sees it.

Threads: connections run in the server's event-loop thread. ``errors``, ``transcripts`` and
the outbox are also read from other threads, so they are guarded by a lock.
"""

from __future__ import annotations

import itertools
import random
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from client.transcript import Direction, Line, Recorder, Transcript
from client.transcript.redaction import SecretRedactor
from fakeserver._waiting import wait_for_count
from fakeserver.errors import UnexpectedCommand
from fakeserver.personas.model import Persona
from fakeserver.scripting.script import Script
from fakeserver.server.outbox import CapturedMessage, Outbox, SessionInfo
from fakeserver.server.sessions import SessionList, SessionRecord
from fakeserver.session.accounts import Accounts
from fakeserver.session.policy import Policy, Usage
from fakeserver.session.rules import Conversation, Listener

__all__ = ["Connection", "Observer", "ServerCore"]


@dataclass(slots=True)
class Connection:
    """One client connection, as observers see it.

    Attributes:
        id: unique within the server, in order of arrival.
        listener: the port kind it came in on.
        peer: the client's (host, port).
        conversation: the Gmail state of the connection (TLS, login, transaction).
        started_at: Unix time it was accepted.
        tls_version: set once TLS is up.
        tls_cipher: set once TLS is up.
    """

    id: int
    listener: Listener
    peer: tuple[str, int]
    conversation: Conversation
    started_at: float
    tls_version: str | None = None
    tls_cipher: str | None = None
    recorder: Recorder | None = field(default=None, repr=False)
    redactor: SecretRedactor = field(default_factory=SecretRedactor, repr=False)
    commands: list[str] = field(default_factory=list)
    reply_codes: list[int] = field(default_factory=list)
    offered: frozenset[str] = frozenset()
    pipelined: bool = False
    _info: SessionInfo | None = field(default=None, repr=False)

    @property
    def session_id(self) -> str:
        return self.conversation.session_id

    def session_info(self) -> SessionInfo:
        """The facts stored with each message from this connection.

        Messages of one connection share the object while the facts stay the same, which
        keeps a captured message close to its own size in memory.
        """
        conversation = self.conversation
        info = self._info
        if (
            info is None
            or info.helo_name != conversation.helo_name
            or info.tls_version != self.tls_version
            or info.user != conversation.user
            or info.auth_mechanism != conversation.mechanism
        ):
            info = SessionInfo(
                connection_id=self.id,
                listener=self.listener,
                peer=self.peer,
                session_id=conversation.session_id,
                helo_name=conversation.helo_name,
                tls_version=self.tls_version,
                tls_cipher=self.tls_cipher,
                user=conversation.user,
                auth_mechanism=conversation.mechanism,
                started_at=self.started_at,
            )
            self._info = info
        return info


class Observer(Protocol):
    """Watches conversations; called in the server's event-loop thread, so keep it quick.

    Lines arrive already redacted. An observer that raises is reported in
    ``ServerCore.errors`` and never breaks the connection.
    """

    def on_open(self, connection: Connection) -> None: ...

    def on_line(self, connection: Connection, line: Line) -> None: ...

    def on_event(self, connection: Connection, kind: str, detail: str) -> None: ...

    def on_message(self, connection: Connection, message: CapturedMessage) -> None: ...

    def on_close(self, connection: Connection, transcript: Transcript | None) -> None: ...


class BaseObserver:
    """An :class:`Observer` that ignores everything: subclass it and override only what
    you watch."""

    def on_open(self, connection: Connection) -> None:
        pass

    def on_line(self, connection: Connection, line: Line) -> None:
        pass

    def on_event(self, connection: Connection, kind: str, detail: str) -> None:
        pass

    def on_message(self, connection: Connection, message: CapturedMessage) -> None:
        pass

    def on_close(self, connection: Connection, transcript: Transcript | None) -> None:
        pass


class ServerCore:
    """The shared state of one fake server.

    Args:
        persona: what the server says.
        accounts: who may log in.
        policy: optional Gmail behaviours (quota, rate limit, login limit).
        outbox: where accepted messages go.
        starttls_context: the server TLS context for STARTTLS and implicit TLS.
        idle_timeout_s: silence after which the server sends 451 4.4.2 and closes.
        record_transcripts: keep a transcript of every connection in ``transcripts``.
        script: scripted replies; None: the persona's always.
        strict: an unrecognized command is an error that ``take_errors()`` returns.
        observers: notified of everything that happens.
        seed: seeds the session-id generator, so a run can be repeated.
        clock: Unix time in seconds.
    """

    def __init__(
        self,
        *,
        persona: Persona,
        accounts: Accounts,
        policy: Policy,
        outbox: Outbox,
        tls_context: ssl.SSLContext,
        idle_timeout_s: float,
        record_transcripts: bool,
        script: Script | None = None,
        strict: bool = True,
        observers: Sequence[Observer] = (),
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.persona = persona
        self.accounts = accounts
        self.policy = policy
        self.outbox = outbox
        self.tls_context = tls_context
        self.idle_timeout_s = idle_timeout_s
        self.record_transcripts = record_transcripts
        self.script = script or Script()
        self.strict = strict
        self.observers = list(observers)
        self.clock = clock
        self.usage = Usage(clock)
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._errors: list[BaseException] = []
        self._transcripts: list[Transcript] = []
        self._sessions: list[SessionRecord] = []

    # ------------------------------------------------------------------ connections

    def open_connection(self, listener: Listener, peer: tuple[str, int]) -> Connection:
        """Makes the state of a new connection and tells the observers."""
        connection_id = next(self._ids)
        conversation = Conversation(
            persona=self.persona,
            accounts=self.accounts,
            policy=self.policy,
            usage=self.usage,
            listener=listener,
            client_ip=peer[0],
            session_id=self.persona.new_session_id(self._rng),
            clock=self.clock,
        )
        recorder = None
        if self.record_transcripts:
            recorder = Recorder(
                headers=(
                    ("listener", listener.value),
                    ("peer", f"{peer[0]} {peer[1]}"),
                    ("session-id", conversation.session_id),
                )
            )
        connection = Connection(
            connection_id, listener, peer, conversation, self.clock(), recorder=recorder
        )
        self._notify("on_open", connection)
        return connection

    def reseed(self, seed: int) -> None:
        """Restarts the session-id generator from ``seed`` (called between tests)."""
        self._rng.seed(seed)

    @property
    def watching_lines(self) -> bool:
        """Whether anyone needs the lines; when not, the adapter skips reporting them."""
        return self.record_transcripts or bool(self.observers)

    def line(
        self, connection: Connection, direction: Direction, data: bytes, *, secret: bool = False
    ) -> None:
        """Reports one wire line (or piece); secrets are redacted before anyone sees it."""
        if direction is Direction.CLIENT:
            data = connection.redactor.client_line(data, sasl_response=secret)
        line = Line(direction, data)
        if connection.recorder is not None:
            # Already redacted above; the recorder's own redaction is a no-op on placeholders.
            connection.recorder.line(direction, data)
        self._notify("on_line", connection, line)

    def event(self, connection: Connection, kind: str, detail: str = "") -> None:
        if connection.recorder is not None:
            connection.recorder.event(kind, detail)
        self._notify("on_event", connection, kind, detail)

    def message_accepted(self, connection: Connection, message: CapturedMessage) -> None:
        """Stores ``message``; raises when the outbox cannot take it (no 250 then)."""
        self.outbox.add(message)
        self._notify("on_message", connection, message)

    def close_connection(self, connection: Connection) -> None:
        transcript = None
        if connection.recorder is not None:
            connection.recorder.event("closed")
            transcript = connection.recorder.transcript()
        # Observers first (one writes the transcript file), so that whoever waits for the
        # transcript finds everything about the connection done.
        self._notify("on_close", connection, transcript)
        record = SessionRecord(
            info=connection.session_info(),
            commands=tuple(connection.commands),
            reply_codes=tuple(connection.reply_codes),
            offered=connection.offered,
            pipelined=connection.pipelined,
            messages=connection.conversation.messages_accepted,
        )
        with self._lock:
            self._sessions.append(record)
            if transcript is not None:
                self._transcripts.append(transcript)
            self._lock.notify_all()

    def unrecognized(self, connection: Connection, line: bytes) -> None:
        """Notes a command Gmail does not know; an error when the server is strict."""
        connection.commands.append("?")
        if self.strict:
            self.report_error(UnexpectedCommand(connection.id, line.rstrip(b"\r\n")))

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
            return list(self._transcripts)

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

    def clear_history(self) -> None:
        """Forgets closed connections' sessions and transcripts."""
        with self._lock:
            self._transcripts.clear()
            self._sessions.clear()

    def _notify(self, method: str, *args: object) -> None:
        for observer in self.observers:
            try:
                getattr(observer, method)(*args)
            except Exception as error:  # an observer must never break a connection
                self.report_error(error)
