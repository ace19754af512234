"""One connection of the fake, without sockets: events in, actions out.

A :class:`Session` holds everything that decides what the fake says on one connection: the
persona's rules (a :class:`~fakeserver.session.dialogue.Dialogue`), the test's script and its
faults, and the connection's bookkeeping (a :class:`~fakeserver.session.ledger.Ledger`). The
transport hands it each thing that happened as an event (:mod:`fakeserver.session.events`);
it answers with the actions to carry out (:mod:`fakeserver.session.actions`): replies to write
with the plan that faults made of them, TLS to start, a line or a message to read, a close.
It stores each accepted message through its :class:`Journal` *before* it returns the 250 that
acknowledges it, so nothing acknowledged can be lost.

One reply renderer (:mod:`fakeserver.session.replies`): the persona's words for a situation,
or the script's instead; a scripted 4xx or 5xx means the command had no effect (``_refuse``),
a scripted 2xx or 3xx only changes the words (:mod:`fakeserver.scripting.script`).

Like the client's ``client.protocol``, it never touches a socket, a clock or randomness: the
session id and the clock come in through its :class:`SessionSetup`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from client.tls_mode import TLSMode
from client.transcript.model import Line
from client.transcript.recorder import Recorder
from client.transcript.redaction import REDACTED
from fakeserver.personas.identifiers import Identity
from fakeserver.personas.model import Grade, Listener, Persona, Situation
from fakeserver.scripting.faults import AbortHandshake, BodyPlan, Fault, ReplyPlan, shape
from fakeserver.scripting.script import Action, Script, Step
from fakeserver.session import actions, events
from fakeserver.session.accounts import Accounts
from fakeserver.session.dialogue import VERBS, Decision, Dialogue, Next
from fakeserver.session.journal import Journal
from fakeserver.session.ledger import Ledger
from fakeserver.session.policy import Policy, Usage
from fakeserver.session.records import CapturedMessage, EndReason, SessionInfo, SessionRecord
from fakeserver.session.replies import Replies, closes_after, refuses

__all__ = ["LEFT_AFTER_HANDSHAKE", "UNRECOGNIZED_LIMIT", "Journal", "Session", "SessionSetup"]

UNRECOGNIZED_LIMIT = 5
"""Lines that are no command after which the connection is closed: aiosmtpd's own limit for
unknown ASCII verbs, which the session applies to every kind of such line."""

LEFT_AFTER_HANDSHAKE = (
    "the client left as soon as TLS was up, without a word: a client that checks the server's"
    " name after the handshake (curl does) leaves so when the certificate does not hold the"
    " name it connected by (fakeserver serve --cert-name NAME adds one)"
)
"""Why a client closed, when it closed right after a TLS handshake that succeeded."""

_EHLO_REPLIES = frozenset(
    {Situation.EHLO_BEFORE_TLS, Situation.EHLO_AFTER_TLS, Situation.EHLO_IMPLICIT_TLS}
)
# Each verb's step, looked up rather than made per command (an enum call is not free).
_STEPS = {verb: Step(verb.lower()) for verb in VERBS}
# What is still accounted for once the session has decided to end: the last reply going out,
# the rest of a body, a handshake already under way, and the end itself.
_EVEN_WHEN_ENDED = (events.Written, events.ClientData, events.TLSStarted, events.ConnectionLost)


@dataclass(frozen=True, slots=True)
class SessionSetup:
    """What every session of one server shares.

    Attributes:
        persona: the replies, limits and behaviour.
        accounts: who may log in.
        policy: optional behaviours (quota, rate limit, login limit).
        usage: the counters those need, across connections.
        script: the test's scripted replies and faults.
        clock: Unix time in seconds.
        record_transcripts: keep each connection's transcript.
        error_delay_s: seconds to wait before each 4xx or 5xx reply.
    """

    persona: Persona
    accounts: Accounts
    policy: Policy
    usage: Usage
    script: Script
    clock: Callable[[], float]
    record_transcripts: bool
    error_delay_s: float = 0.0


class Session:
    """One client connection's state and decisions.

    Args:
        setup: what the server's sessions share.
        journal: where to report.
        number: the connection's number within the server, from 1.
        listener: the port kind it came in on.
        peer: the client's ``(host, port)``.
        session_id: the persona's id for this connection.
        identity: all the persona's identifiers for this connection (``session_id`` among
            them); None: only ``session_id``.
    """

    def __init__(
        self,
        setup: SessionSetup,
        journal: Journal,
        *,
        number: int,
        listener: Listener,
        peer: tuple[str, int],
        session_id: str,
        identity: Identity | None = None,
    ) -> None:
        self.number = number
        self.listener = listener
        self.peer = peer
        self.session_id = session_id
        self.started_at = setup.clock()
        self.tls_version: str | None = None
        self.tls_cipher: str | None = None
        self.ended: EndReason | None = None
        self._end_detail: str | None = None  # why, where ``ended`` does not say it all
        self._setup = setup
        self._persona = setup.persona
        self._journal = journal
        self.dialogue = Dialogue(
            persona=setup.persona,
            accounts=setup.accounts,
            policy=setup.policy,
            usage=setup.usage,
            listener=listener,
            client_ip=peer[0],
            session_id=session_id,
            clock=setup.clock,
            identity=identity,
        )
        recorder = None
        if setup.record_transcripts:
            headers = (
                ("listener", listener.value),
                ("tls", (TLSMode.IMPLICIT if listener.implicit_tls else TLSMode.STARTTLS).value),
                ("peer", f"{peer[0]} {peer[1]}"),
                ("session-id", session_id),
            )
            # The ledger redacts client lines before it records them (see ledger.py).
            recorder = Recorder(redact_secrets=False, headers=headers)
        report = self._report_line if journal.watching_lines else None
        self.ledger = Ledger(recorder, report, report_message_data=journal.watching_message_data)
        self._unrecognized = 0
        self._secrets_may_follow = False  # the last command was AUTH (see _not_a_command)
        self._body_plan = BodyPlan()
        self._replies = Replies(setup.persona, self.dialogue.fields, setup.clock)
        self._info: SessionInfo | None = None
        self._closed = False  # the connection is gone (``ended`` can be decided before)
        self._commands_before_tls: int | None = None  # None: no TLS yet
        journal.opened(self)

    # ------------------------------------------------------------------ facts

    @property
    def user(self) -> str | None:
        return self.dialogue.auth.user

    @property
    def auth_mechanism(self) -> str | None:
        return self.dialogue.auth.mechanism

    @property
    def helo_name(self) -> str | None:
        return self.dialogue.helo_name

    @property
    def messages_accepted(self) -> int:
        return self.dialogue.messages_accepted

    @property
    def in_sasl_exchange(self) -> bool:
        return self.dialogue.auth.in_exchange

    @property
    def records_lines(self) -> bool:
        """Whether anyone keeps the lines; when not, the transport need not report body data."""
        return self.ledger.watching

    def info(self) -> SessionInfo:
        """The facts stored with each message from this connection.

        Messages of one connection share the object while the facts stay the same, which
        keeps a captured message close to its own size in memory.
        """
        info = self._info
        if (
            info is None
            or info.helo_name != self.helo_name
            or info.tls_version != self.tls_version
            or info.user != self.user
            or info.auth_mechanism != self.auth_mechanism
        ):
            info = self._info = SessionInfo(
                connection_id=self.number,
                listener=self.listener,
                peer=self.peer,
                session_id=self.session_id,
                helo_name=self.helo_name,
                tls_version=self.tls_version,
                tls_cipher=self.tls_cipher,
                user=self.user,
                auth_mechanism=self.auth_mechanism,
                started_at=self.started_at,
            )
        return info

    # ------------------------------------------------------------------ events

    def handle(self, event: events.Event) -> list[actions.Action]:
        """Takes in one event and returns what the transport is to do, in order."""
        if self.ended is not None and not isinstance(event, _EVEN_WHEN_ENDED):
            return []  # closing: lines read after the close get nothing
        match event:
            case events.Command():
                return self._command(event)
            case events.Written():
                self.ledger.written(event.data)
                return []
            case events.ClientData():
                self.ledger.client_data(event.data)
                return []
            case events.MessageReceived():
                return self._message_received(event)
            case events.ChunkReceived():
                return self._chunk_received(event.chunk)
            case events.SaslResponse():
                return self._sasl_response(event)
            case events.Connected():
                greeting = self.dialogue.say(Situation.GREETING)
                return self._reply(greeting, self._decide(Step.GREETING))
            case events.TLSStarted():
                return self._tls_started(event)
            case events.TLSFailed():
                return self._tls_failed(event)
            case events.Unrecognized():
                return self._not_a_command(event.line)
            case events.LineTooLong():
                self._secrets_may_follow = False
                self.ledger.client_line(event.line)
                return self._reply(self.dialogue.say(Situation.LINE_TOO_LONG))
            case events.MessageLost():
                lost_by_fault = event.by_fault
                return (
                    self._end(EndReason.FAULT, reset=self._body_plan.reset) if lost_by_fault else []
                )
            case events.IdleTimeout():
                timeout = self.dialogue.say(Situation.IDLE_TIMEOUT)
                return self._reply(timeout, ending=EndReason.IDLE_TIMEOUT)
            case events.InternalError():
                return self._reply(self.dialogue.say(Situation.SERVER_ERROR))
            case events.ConnectionLost():
                self._lost(event)
                return []

    # ------------------------------------------------------------------ commands

    def _command(self, event: events.Command) -> list[actions.Action]:
        verb = event.verb
        self._secrets_may_follow = verb == "AUTH"
        self.ledger.command(verb, event.line, pipelined=event.more_waiting)
        # A BDAT's reply comes after its chunk, so it is scripted there.
        action = None if verb == "BDAT" else self._decide(_STEPS[verb], event.argument)
        if refuses(action, self._persona):
            return self._refuse(action, event.argument)
        decision = self.dialogue.command(verb, event.argument)
        if verb == "EHLO" and decision.situation in _EHLO_REPLIES:
            self.ledger.expect_ehlo_reply()
        return self._reply(decision, action, ending=EndReason.QUIT if verb == "QUIT" else None)

    def _not_a_command(self, line: bytes) -> list[actions.Action]:
        # Lines that are not commands, right after an AUTH, are likely SASL responses the client
        # pipelined before its AUTH was refused: secrets, recorded redacted.
        secret = self._secrets_may_follow
        self.ledger.command("?", line, pipelined=False, secret=secret)
        self._unrecognized += 1
        self._journal.unrecognized(self, REDACTED if secret else line)
        # Some providers quote the line (office365.md: "500 5.3.3 Unrecognized command 'x'").
        said = "" if secret else line.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
        if self._unrecognized >= UNRECOGNIZED_LIMIT:
            return self._reply(self.dialogue.say(Situation.TOO_MANY_UNRECOGNIZED, argument=said))
        return self._reply(self.dialogue.say(Situation.UNRECOGNIZED, argument=said))

    def _sasl_response(self, event: events.SaslResponse) -> list[actions.Action]:
        self.ledger.client_line(event.line, secret=True)
        if event.too_long:
            self.dialogue.auth.abandon()
            return self._reply(self.dialogue.say(Situation.LINE_TOO_LONG))
        action = self._decide(Step.AUTH_RESPONSE)
        if refuses(action, self._persona):
            self.dialogue.auth.abandon()
            return self._refuse(action)
        return self._reply(self.dialogue.sasl_response(event.line.rstrip(b"\r\n")), action)

    def _message_received(self, event: events.MessageReceived) -> list[actions.Action]:
        self.ledger.end_of_data()
        if event.more_waiting:
            self.ledger.pipelined = True
        if event.content is None:
            self._note("discarded", "the message past SIZE (its lines past the limit)")
        action = self._decide(Step.END_OF_DATA)
        if refuses(action, self._persona):
            refusal = self._refuse(action)  # first: the reply may name the sender
            self.dialogue.abandon_transaction()
            return refusal
        return self._reply(self.dialogue.message_received(event.content), action)

    def _chunk_received(self, chunk: bytes | None) -> list[actions.Action]:
        self.ledger.end_of_data()
        if chunk is None:
            self._note("discarded", "a BDAT chunk: read, not kept, not recorded")
        action = self._decide(Step.BDAT)
        if refuses(action, self._persona):
            refusal = self._refuse(action)  # first: the reply may name the sender
            self.dialogue.abandon_transaction()
            return refusal
        return self._reply(self.dialogue.chunk_received(chunk), action)

    def _tls_started(self, event: events.TLSStarted) -> list[actions.Action]:
        self.tls_version, self.tls_cipher = event.tls_version, event.tls_cipher
        self._commands_before_tls = len(self.ledger.commands)
        if event.discarded:
            self._note("discarded", f"{event.discarded} bytes sent before TLS")
        self._note("tls", f"{event.tls_version} {event.tls_cipher}")
        if event.bad_certificate is not None:
            # The client took a certificate it should have refused: a fact for experiments.
            self._note("certificate", event.bad_certificate)
        if not self.listener.implicit_tls:
            self.dialogue.tls_started()
        return []

    def _tls_failed(self, event: events.TLSFailed) -> list[actions.Action]:
        if event.scripted:
            self._note_faults([AbortHandshake()])
        self._note("tls-failed", event.reason)
        self.ended = EndReason.FAULT if event.scripted else EndReason.TLS_FAILED
        self._end_detail = event.reason
        return []

    # ------------------------------------------------------------------ replies

    def _decide(self, step: Step, argument: str = "") -> Action | None:
        return self._setup.script.decide(step, argument)

    def _refuse(self, action: Action, argument: str = "") -> list[actions.Action]:
        """A scripted failure instead of running the command (see fakeserver.scripting.script)."""
        reply = action.reply
        if reply is None:
            raise RuntimeError("_refuse() called without a scripted reply")
        data = self._replies.scripted(reply, self.dialogue.context(argument))
        return self._send(data, action, closes_after(self._persona, reply))

    def _reply(
        self,
        decision: Decision,
        action: Action | None = None,
        *,
        ending: EndReason | None = None,
    ) -> list[actions.Action]:
        """The actions for a decision: store what it accepted, say it, and go on as it says."""
        if decision.accepted is not None:
            message = CapturedMessage(
                decision.accepted, decision.content, self.info(), self._setup.clock()
            )
            try:
                self._journal.store(self, message)  # before the 250: nothing acknowledged is lost
            except Exception:  # the journal has reported it; the client must not see a 250
                return self._reply(self.dialogue.say(Situation.SERVER_ERROR))
        result: list[actions.Action] = []
        situation = decision.situation
        if situation is not None:
            if situation not in self._persona.replies:
                self._gap(situation)
            if action is not None and action.reply is not None:
                data = self._replies.scripted(action.reply, decision.fields)
                closes = decision.next is Next.CLOSE or closes_after(self._persona, action.reply)
            else:
                data = self._replies.persona(situation, decision.fields)
                closes = decision.next is Next.CLOSE
            result = self._send(data, action, closes, ending)
            if closes or self.ended is not None:
                return result
        return result + self._next(decision)

    def _send(
        self,
        data: bytes,
        action: Action | None,
        closes: bool,
        ending: EndReason | None = None,
    ) -> list[actions.Action]:
        plan = ReplyPlan(data)
        if action is not None and action.faults:
            # The transcript shows what reached the wire (see events.Written), and why.
            self._note_faults(action.faults)
            plan = shape(plan, action.faults)
        if self._setup.error_delay_s and data[:1] in (b"4", b"5"):
            plan = dataclasses.replace(plan, delay_s=plan.delay_s + self._setup.error_delay_s)
        result: list[actions.Action] = [actions.Send(plan)]
        if plan.ending is not None:
            self.ended = EndReason.FAULT  # the writer ends it as the plan says
        elif closes:
            result += self._end(ending or EndReason.SERVER_CLOSED)
        return result

    def _next(self, decision: Decision) -> list[actions.Action]:
        persona = self._persona
        match decision.next:
            case Next.START_TLS:
                return [actions.StartTLS()]
            case Next.SASL_RESPONSE:
                return [actions.ReadSaslResponse(persona.sasl_response_limit)]
            case Next.MESSAGE:
                body = self._decide(Step.BODY)
                faults = body.faults if body is not None else ()
                if faults:
                    self._note_faults(faults)
                self._body_plan = shape(BodyPlan(), faults)
                return [actions.ReadMessage(persona.size_limit, self._body_plan)]
            case Next.CHUNK:
                return [actions.ReadChunk(decision.chunk_size, decision.keep_chunk)]
            case Next.CLOSE:
                return self._end(EndReason.SERVER_CLOSED)
        return []

    def _gap(self, situation: Situation) -> None:
        """A rule needed a reply the persona has no evidence for (Persona.template)."""
        template = self._persona.template(situation)
        if template.grade is Grade.STAND_IN:
            self._note("gap", f"{self._persona.name} has no reply for {situation.value}")

    def _note(self, kind: str, detail: str) -> None:
        """An event of the connection, for its transcript and the server's observers."""
        self.ledger.event(kind, detail)
        self._journal.event(self, kind, detail)

    def _note_faults(self, faults: Sequence[Fault[Any]]) -> None:
        description = "; ".join(repr(fault) for fault in faults)
        self.ledger.faults.append(description)
        self._note("fault", description)

    # ------------------------------------------------------------------ the end

    def _end(self, reason: EndReason, *, reset: bool = False) -> list[actions.Action]:
        self.ended = reason
        return [actions.CloseConnection(reset=reset)]

    def _lost(self, event: events.ConnectionLost) -> None:
        self._closed = True
        if self.ended is None:
            self.ended = EndReason.ABORTED if event.aborted else EndReason.CLIENT_CLOSED
            if not event.aborted and self._commands_before_tls == len(self.ledger.commands):
                self._end_detail = LEFT_AFTER_HANDSHAKE
        if event.unread:
            # Never recorded: unread bytes may be a pipelined secret.
            self._note("unread", f"{event.unread} bytes")
        self.ledger.finish(self.ended.value)
        record = self.record()
        self._journal.closed(self, record)

    def record(self) -> SessionRecord:
        """What happened on the connection so far (``ended`` is None while it is open)."""
        ledger = self.ledger
        closed = self.ended is not None and self._closed
        return SessionRecord(
            info=self.info(),
            commands=tuple(ledger.commands),
            reply_codes=tuple(ledger.reply_codes),
            offered=ledger.offered,
            pipelined=ledger.pipelined,
            messages=self.messages_accepted,
            ended=self.ended if closed else None,
            ended_at=self._setup.clock() if closed else None,
            faults=tuple(ledger.faults),
            _transcript=ledger.final_transcript() if closed else ledger.transcript(),
            end_detail=self._end_detail if closed else None,
        )

    def _report_line(self, line: Line) -> None:
        self._journal.line(self, line)
