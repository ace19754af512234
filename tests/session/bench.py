"""A session on a bench, with no socket: feed it what a client says, read what it writes.

:class:`Bench` plays the transport's part in the simplest way: it turns each client line into
the event the aiosmtpd adapter would give (a ``Command`` for a verb the session knows, an
``Unrecognized`` otherwise), carries out the session's actions (a ``Send`` is written whole,
piece by piece, and reported back as ``Written``), and remembers what the session asked to
read next and whether it closed. Its :class:`Journal` keeps everything the session reported.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from client.transcript import Line
from fakeserver.personas.identifiers import Identity
from fakeserver.personas.loader import load_persona
from fakeserver.personas.model import Listener, Persona
from fakeserver.scripting.faults import ReplyPlan
from fakeserver.scripting.script import Script
from fakeserver.session import actions, events
from fakeserver.session.accounts import Account, Accounts
from fakeserver.session.dialogue import VERBS
from fakeserver.session.policy import Policy, Usage
from fakeserver.session.records import CapturedMessage, SessionRecord, SessionView
from fakeserver.session.session import Session, SessionSetup

SESSION = "ffacd0b85a97d-3b778f047afsm2210013f8f.39"
TAG = f" {SESSION} - gsmtp\r\n"
NOW = 1753522157.25
CLIENT_IP = "203.0.113.7"
PERSONA = load_persona()
ACCOUNTS = Accounts(
    [
        Account("tester@gmail.com", "app-password", oauth_tokens=frozenset({"ya29.good"})),
        Account("twostep@gmail.com", "google-password", requires_app_password=True),
    ]
)


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode()


def plain(user: str, password: str) -> str:
    return b64(f"\0{user}\0{password}")


def xoauth2(user: str, token: str) -> str:
    return b64(f"user={user}\x01auth=Bearer {token}\x01\x01")


@dataclass
class Journal:
    """Keeps what a session reports."""

    watching_lines: bool = True
    watching_message_data: bool = True
    lines: list[Line] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)
    messages: list[CapturedMessage] = field(default_factory=list)
    unrecognized_lines: list[bytes] = field(default_factory=list)
    records: list[SessionRecord] = field(default_factory=list)
    refuse_to_store: bool = False

    def opened(self, session: SessionView) -> None:
        pass

    def line(self, session: SessionView, line: Line) -> None:
        self.lines.append(line)

    def event(self, session: SessionView, kind: str, detail: str) -> None:
        self.events.append((kind, detail))

    def store(self, session: SessionView, message: CapturedMessage) -> CapturedMessage:
        if self.refuse_to_store:
            raise OSError("disk full")
        self.messages.append(message)
        return message

    def unrecognized(self, session: SessionView, line: bytes) -> None:
        self.unrecognized_lines.append(line)

    def closed(self, session: SessionView, record: SessionRecord) -> None:
        self.records.append(record)


class Bench:
    """One session, driven by hand.

    Args:
        listener: the port kind the client came to.
        persona: what the session says.
        policy: optional behaviours.
        usage: counters shared with other benches (a quota across connections).
        script: the test's script.
        error_delay_s: the wait before error replies.
        identity: the persona's identifiers for the session; None: only ``SESSION``.
    """

    def __init__(
        self,
        listener: Listener = Listener.SMTPS,
        *,
        persona: Persona = PERSONA,
        policy: Policy | None = None,
        usage: Usage | None = None,
        script: Script | None = None,
        error_delay_s: float = 0.0,
        identity: Identity | None = None,
    ) -> None:
        self.script = script or Script()
        self.identity = identity
        self.journal = Journal()
        setup = SessionSetup(
            persona=persona,
            accounts=ACCOUNTS,
            policy=policy or Policy(),
            usage=usage or Usage(lambda: NOW),
            script=self.script,
            clock=lambda: NOW,
            record_transcripts=True,
            error_delay_s=error_delay_s,
        )
        self.session = Session(
            setup,
            self.journal,
            number=1,
            listener=listener,
            peer=(CLIENT_IP, 50123),
            session_id=identity.session_id if identity is not None else SESSION,
            identity=identity,
        )
        self.wire = bytearray()
        self.plans: list[ReplyPlan] = []
        self.reading: actions.Action | None = None
        self.starting_tls = False
        self.closed: actions.CloseConnection | None = None
        if listener is Listener.SMTPS:
            self.tell(events.TLSStarted("TLSv1.3", "TLS_AES_256_GCM_SHA384"))

    # ------------------------------------------------------------------ the client's side

    def connect(self) -> str:
        """The greeting."""
        return self.tell(events.Connected())

    def say(self, line: str) -> str:
        """Sends one command line; returns what the session wrote back."""
        raw = line.encode("utf-8", "surrogateescape") + b"\r\n"
        verb, _, argument = line.partition(" ")
        if verb.upper() in VERBS:
            return self.tell(events.Command(verb.upper(), argument.strip(), raw))
        return self.tell(events.Unrecognized(raw))

    def sasl(self, line: str | bytes) -> str:
        """Answers a 334 challenge."""
        raw = line if isinstance(line, bytes) else line.encode()
        return self.tell(events.SaslResponse(raw + b"\r\n"))

    def tls(self) -> str:
        """The STARTTLS handshake finished."""
        self.starting_tls = False
        return self.tell(events.TLSStarted("TLSv1.3", "TLS_AES_256_GCM_SHA384"))

    def message(self, content: bytes | None) -> str:
        """The end of DATA (None: past the size limit)."""
        return self.tell(events.MessageReceived(content))

    def chunk(self, data: bytes | None) -> str:
        """A BDAT chunk (None: thrown away)."""
        return self.tell(events.ChunkReceived(data))

    def hang_up(self) -> SessionRecord:
        """The connection is gone; returns the session's record."""
        self.tell(events.ConnectionLost())
        return self.journal.records[-1]

    def logged_in(self) -> Bench:
        self.say("EHLO client.example")
        if self.session.listener is not Listener.SMTPS:
            self.say("STARTTLS")
            self.tls()
        reply = self.say(f"AUTH PLAIN {plain('tester@gmail.com', 'app-password')}")
        assert reply == "235 2.7.0 Accepted\r\n"
        return self

    def in_transaction(self) -> Bench:
        self.logged_in()
        self.say("MAIL FROM:<tester@gmail.com>")
        self.say("RCPT TO:<friend@example.org>")
        return self

    # ------------------------------------------------------------------ the transport's side

    def tell(self, event: events.Event) -> str:
        """Hands the session one event, carries out its actions; returns what was written."""
        start = len(self.wire)
        for action in self.session.handle(event):
            self._carry_out(action)
        return self.wire[start:].decode("utf-8", "replace")

    def _carry_out(self, action: actions.Action) -> None:
        match action:
            case actions.Send(plan):
                self.plans.append(plan)
                ending = plan.ending
                if plan.stall or (ending is not None and ending.when == "before"):
                    return
                for piece in plan.pieces():
                    self.wire += piece
                    self.session.handle(events.Written(piece))
            case actions.StartTLS():
                self.starting_tls = True
            case actions.CloseConnection():
                self.closed = action
            case _:
                self.reading = action
