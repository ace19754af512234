"""Fuzz targets for the command side: the personas' rules, the SASL decoders and the AUTH
redactor.

``dialogue``: a :class:`~fakeserver.session.session.Session` of any shipped persona told any
sequence of commands (real verbs with awkward arguments, and garbage), SASL responses, message
bodies, BDAT chunks and TLS handshakes, always as its actions ask, as the transport does. It
never raises; every reply it writes is one well-formed reply (the persona's or a stand-in); it
closes only after a closing reply; and it stores a message only from a client that greeted,
logged in and (where the persona requires it) is on TLS, once per end of data.

``sasl``: the base64, PLAIN, XOAUTH2 and OAUTHBEARER decoders take any bytes and answer or say
None, and give back what a well-formed payload holds.

``redactor``: an AUTH line or a SASL response, written in any pieces, is stored with its
secret replaced, and nothing of the secret survives.
"""

from __future__ import annotations

import base64
import dataclasses
import random
import re

from hypothesis import strategies as st

from client.protocol import ReplyReader
from client.transcript import Direction, Line, Recorder, SecretRedactor
from fakeserver.personas.loader import load_persona, shipped_personas
from fakeserver.personas.model import Persona, Situation
from fakeserver.scripting.script import Script
from fakeserver.session import actions, events, sasl
from fakeserver.session.accounts import DEFAULT_ACCOUNT, Accounts
from fakeserver.session.dialogue import VERBS
from fakeserver.session.policy import Policy, Usage
from fakeserver.session.records import CapturedMessage, SessionRecord, SessionView
from fakeserver.session.session import Session, SessionSetup
from fuzz.engine import Target, pure

__all__ = ["DIALOGUE", "REDACTOR", "SASL"]

_PERSONAS = [load_persona(name) for name in shipped_personas()]
_ACCOUNTS = Accounts([DEFAULT_ACCOUNT])
_GOOD_PLAIN = base64.b64encode(b"\0tester@gmail.com\0app-password").decode()
_GOOD_XOAUTH2 = base64.b64encode(
    b"user=tester@gmail.com\x01auth=Bearer ya29.smtprig-test-token\x01\x01"
).decode()
# What the adapter can hand over: one line, so never an LF (a bare CR can be there).
_WEIRD = st.binary(max_size=60).map(
    lambda raw: raw.replace(b"\n", b"").decode("utf-8", "surrogateescape")
)
_ADDRESS = st.one_of(
    st.sampled_from(
        [
            "a@example.org",
            "",
            "x@.com",
            "@",
            "jörg@exämple.org",
            "a@[127.0.0.1]",
            "(any@instagram.com",
            "a\x00b@example.org",
            "j\udcf6rg@example.org",
            "x" * 900,
        ]
    ),
    _WEIRD,
)
_ARGUMENTS: dict[str, st.SearchStrategy[str]] = {
    "EHLO": st.one_of(st.sampled_from(["client.example", "", "two words"]), _WEIRD),
    "AUTH": st.one_of(
        st.sampled_from(
            [
                f"PLAIN {_GOOD_PLAIN}",
                "PLAIN",
                "LOGIN",
                f"XOAUTH2 {_GOOD_XOAUTH2}",
                "XOAUTH2",
                "OAUTHBEARER",
                "CRAM-MD5",
                "XOAUTH",
                "PLAIN =",
                "LOGIN dGVzdGVy",
                "PLAIN-CLIENTTOKEN",
            ]
        ),
        st.builds(lambda mech, ir: f"{mech} {ir}", st.sampled_from(["PLAIN", "LOGIN"]), _WEIRD),
    ),
    "MAIL": st.builds(
        lambda a, p: f"FROM:<{a}>{p}",
        _ADDRESS,
        st.sampled_from(
            [
                "",
                " SIZE=100",
                " SIZE=99999999999",
                " BODY=8BITMIME",
                " X=1",
                " SIZE",
                " SIZE=٣٦",
                " RET=HDRS",
            ]
        ),
    ),
    "RCPT": st.builds(
        lambda a, p: f"TO:<{a}>{p}",
        _ADDRESS,
        st.sampled_from(["", " NOTIFY=x", " ORCPT=rfc822;a@example.org", " NOTIFY"]),
    ),
    "BDAT": st.one_of(
        st.builds(
            lambda size, last: f"{size}{last}",
            st.one_of(st.integers(0, 300), st.just(35882578), st.just(10**17), st.just("٣")),
            st.sampled_from(["", " LAST", " last", " LASTLY"]),
        ),
        _WEIRD,
    ),
}
_VERBS = st.one_of(st.sampled_from(sorted(VERBS)), st.sampled_from(["XYZZY", "", "MAIL FROM"]))
_SASL = st.one_of(
    st.sampled_from(
        [b"*", b"", b"dGVzdGVyQGdtYWlsLmNvbQ==", b"YXBwLXBhc3N3b3Jk", _GOOD_PLAIN.encode()]
    ),
    st.binary(max_size=60).map(lambda raw: raw.replace(b"\n", b"")),
)
_POLICIES = st.builds(
    Policy,
    daily_quota=st.one_of(st.none(), st.integers(0, 3)),
    rate_limit_per_minute=st.one_of(st.none(), st.integers(0, 3)),
    auth_failure_limit=st.one_of(st.none(), st.integers(0, 3)),
)
_TRANSACTION_VERBS = {"MAIL", "RCPT", "DATA", "BDAT"}
# What no stored envelope may hold: a control, or a lone surrogate (a byte that is not UTF-8).
_NEVER_STORED = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
# What the rules need of a policy, which a server refuses to start without (FakeGmail).
_POLICY_NEEDS = {
    "daily_quota": Situation.DAILY_QUOTA,
    "rate_limit_per_minute": Situation.RATE_LIMITED,
    "auth_failure_limit": Situation.TOO_MANY_LOGINS,
}


def _closing_codes(persona: Persona) -> set[int]:
    """The codes of replies that close the connection: the persona's closing replies and
    stand-ins, and its syntax error, for a BDAT whose size cannot be read."""
    templates = [persona.template(situation) for situation in Situation]
    return {t.code for t in templates if t.closes} | {persona.template(Situation.SYNTAX_ERROR).code}


def _answerable(policy: Policy, persona: Persona) -> Policy:
    """``policy`` without the limits whose replies the persona has no evidence for."""
    unanswerable = {name: None for name, need in _POLICY_NEEDS.items() if not persona.has(need)}
    return dataclasses.replace(policy, **unanswerable)


class _Journal:
    """Keeps the messages a session stores; everything else it reports is let go."""

    watching_lines = False
    watching_message_data = False

    def __init__(self, requires_tls: bool) -> None:
        self.stored = 0
        self.requires_tls = requires_tls

    def opened(self, session: SessionView) -> None:
        pass

    def line(self, session: SessionView, line: Line) -> None:
        pass

    def event(self, session: SessionView, kind: str, detail: str) -> None:
        pass

    def store(self, session: SessionView, message: CapturedMessage) -> CapturedMessage:
        assert isinstance(session, Session)  # the invariants need its dialogue
        dialogue = session.dialogue
        envelope = message.envelope
        for text in (envelope.mail_from, *envelope.recipients, *envelope.mail_options):
            assert not _NEVER_STORED.search(text), f"stored {text!r}: a control or non-UTF-8"
        assert dialogue.greeted, "a message without a greeting"
        assert dialogue.tls or not self.requires_tls, "a message without TLS"
        assert session.user, "a message without a login"
        self.stored += 1
        return message

    def unrecognized(self, session: SessionView, line: bytes) -> None:
        pass

    def closed(self, session: SessionView, record: SessionRecord) -> None:
        pass


class _Driver:
    """Plays the transport: carries out the session's actions, drawing what the client says."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data
        self.clock = 1_750_000_000.0
        self.persona = persona = data.draw(st.sampled_from(_PERSONAS))
        self.closing_codes = _closing_codes(persona)
        self.journal = _Journal(persona.behaviour.requires_tls)
        setup = SessionSetup(
            persona=persona,
            accounts=_ACCOUNTS,
            policy=_answerable(data.draw(_POLICIES), persona),
            usage=Usage(lambda: self.clock),
            script=Script(),
            clock=lambda: self.clock,
            record_transcripts=data.draw(st.booleans()),
        )
        identity = persona.identifiers.open(random.Random(data.draw(st.integers(0, 9))), 0.0)
        self.session = Session(
            setup,
            self.journal,
            number=1,
            listener=data.draw(st.sampled_from(persona.listeners)),
            peer=("192.0.2.1", 50000),
            session_id=identity.session_id,
            identity=identity,
        )
        self.closed = False
        self.last_code = 0

    def step(self) -> bool:
        """One command and whatever it asks for; False once the connection is closed."""
        verb = self.data.draw(_VERBS)
        argument = self.data.draw(_ARGUMENTS.get(verb, _WEIRD)).strip()
        dialogue = self.session.dialogue
        before = (dialogue.greeted, dialogue.tls, self.session.user)
        line = f"{verb} {argument}\r\n".encode("utf-8", "surrogateescape")
        known = verb in VERBS
        event = events.Command(verb, argument, line) if known else events.Unrecognized(line)
        todo = self.session.handle(event)
        if any(isinstance(action, actions.ReadChunk) for action in todo):
            # RFC 3030 §2: a chunk is read only for a size in ASCII digits.
            assert re.fullmatch("[0-9]+", argument.split()[0]), f"BDAT {argument!r} read a chunk"
        codes = self.perform(todo)
        if verb in _TRANSACTION_VERBS and codes:
            tls = before[1] or not self.persona.behaviour.requires_tls
            allowed = before[0] and tls and before[2] is not None
            assert codes[0] >= 400 or allowed, f"{verb} {argument!r} got {codes} in {before}"
        self.clock += self.data.draw(st.sampled_from([0.0, 1.0, 61.0]))
        return not self.closed

    def perform(self, todo: list[actions.Action]) -> list[int]:
        """Carries out the actions (and those that the reads bring); returns the reply codes."""
        codes: list[int] = []
        pending = list(reversed(todo))
        while pending:
            action = pending.pop()
            assert not self.closed, f"{action} after the close"
            more: list[actions.Action] = []
            match action:
                case actions.Send(plan):
                    codes.append(self.check(plan.data))
                    self.session.handle(events.Written(plan.data))
                case actions.CloseConnection():
                    assert self.last_code in self.closing_codes, f"closed after {self.last_code}"
                    self.closed = True
                case actions.StartTLS():
                    more = self.session.handle(events.TLSStarted("TLSv1.3", "TLS_AES_128_GCM"))
                case actions.ReadSaslResponse():
                    line = self.data.draw(_SASL) + b"\r\n"
                    more = self.session.handle(events.SaslResponse(line))
                case actions.ReadMessage():
                    content = self.data.draw(st.one_of(st.none(), st.binary(max_size=200)))
                    more = self.session.handle(events.MessageReceived(content))
                case actions.ReadChunk(size, keep):
                    chunk = bytes(size) if keep else None
                    more = self.session.handle(events.ChunkReceived(chunk))
            pending.extend(reversed(more))
        assert self.session.messages_accepted == self.journal.stored
        if self.session.user is not None:
            assert self.session.user == DEFAULT_ACCOUNT.username
            assert self.session.dialogue.tls or not self.persona.behaviour.requires_tls
        return codes

    def check(self, wire: bytes) -> int:
        """One well-formed reply; returns its code."""
        reader = ReplyReader()
        reader.feed(wire)
        reply = reader.next_reply()
        assert reply is not None, wire
        assert reader.pending() == b"", wire
        lines = [line + b"\n" for line in wire.split(b"\n")[:-1]]
        assert all(line.endswith(b"\r\n") and b"\r" not in line[:-2] for line in lines), wire
        assert all(len(line) <= 512 for line in lines), f"over RFC 5321's 512 octets: {wire!r}"
        self.last_code = reply.code
        return reply.code


def check_dialogue(data: st.DataObject) -> None:
    driver = _Driver(data)
    for _ in range(data.draw(st.integers(1, 40))):
        if not driver.step():
            return


DIALOGUE = Target(
    "dialogue",
    "Session: any commands in any order; no exception, valid replies, gates, no phantom mail",
    st.data(),
    pure(check_dialogue),
    inputs=3_000,
)


def check_sasl(value: tuple[bytes, str, str]) -> None:
    blob, login, secret = value
    decoders = (sasl.decode_base64, sasl.parse_plain, sasl.parse_xoauth2, sasl.parse_oauthbearer)
    for decode in decoders:
        decode(blob)  # answers or returns None; any exception fails the run
    plain = sasl.parse_plain(b"\0" + login.encode() + b"\0" + secret.encode())
    assert plain == sasl.LoginAttempt(login, secret)
    xoauth2 = f"user={login}\x01auth=Bearer {secret}\x01\x01".encode()
    if secret and " " not in secret:
        assert sasl.parse_xoauth2(xoauth2) == sasl.LoginAttempt(login, secret)
    assert sasl.decode_base64(base64.b64encode(blob)) == blob


_NO_SEPARATORS = st.text(
    st.characters(codec="utf-8", exclude_characters="\0\x01"), min_size=1, max_size=30
)
SASL = Target(
    "sasl",
    "SASL decoders: any bytes answer or None; well-formed payloads give back what they hold",
    st.tuples(st.binary(max_size=200), _NO_SEPARATORS, _NO_SEPARATORS),
    pure(check_sasl),
    inputs=5_000,
)

_TOKEN = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="<>"),
    min_size=1,
    max_size=40,
)


def check_redactor(value: tuple[str, str, bool, list[int], bool]) -> None:
    mechanism, secret, as_response, cuts, recorder = value
    if as_response:
        if secret == "*":
            return  # a cancel carries nothing (RFC 4954 §4) and is kept as is
        line, expected = f"{secret}\r\n".encode(), b"<redacted>\r\n"
    else:
        verb = "auth" if len(secret) % 2 else "AUTH"  # verbs are case-insensitive
        line = f"{verb} {mechanism} {secret}\r\n".encode()
        expected = f"{verb} {mechanism} <redacted>\r\n".encode()
    bounds = sorted({cut % (len(line) + 1) for cut in cuts})
    pieces = [line[a:b] for a, b in zip([0, *bounds], [*bounds, len(line)], strict=True)]
    if recorder:
        sink = Recorder()
        for piece in pieces:
            sink.line(Direction.CLIENT, piece, sasl_response=as_response)
        stored = b"".join(entry.data for entry in sink.transcript().lines)
    else:
        redactor = SecretRedactor()
        stored = b"".join(redactor.client_line(p, sasl_response=as_response) for p in pieces)
    assert stored == expected, (pieces, stored)


REDACTOR = Target(
    "redactor",
    "AUTH secrets in any pieces: stored as <redacted>, nothing of them kept",
    st.tuples(
        _TOKEN,
        # A SASL response is base64, which never starts with "*"; a lone "*" cancels (RFC 4954
        # §4), so the redactor keeps a first piece "*" until it knows (a one-octet tell).
        _TOKEN.filter(lambda token: token == "*" or not token.startswith("*")),
        st.booleans(),
        st.lists(st.integers(0, 200), max_size=8),
        st.booleans(),
    ),
    pure(check_redactor),
    inputs=5_000,
)
