"""The persona's rules for one connection: what a command means, and what to answer.

A :class:`Dialogue` is told what the client did (a command, a SASL response, a message body, a
BDAT chunk, a finished TLS handshake) and answers with a :class:`Decision`: the
:class:`~fakeserver.personas.model.Situation` to reply with, its fields, and what the connection
does next. It knows nothing of scripts, faults or sockets (the session,
:mod:`fakeserver.session.session`, wraps it with those); it never touches a clock or randomness
of its own: the session id and the persona's identifiers come in (drawn from the server's seeded
generator, :class:`~fakeserver.personas.identifiers.Identity`), and the clock is injected.
Every change of SMTP state lives here.

The order of checks follows Gmail's recordings (replies.md §6): a command that needs a greeting
gets ``503 5.5.1 EHLO/HELO first`` before anything else; then, on a listener where TLS is not yet
up, ``530 5.7.0 Must issue a STARTTLS command first`` (before the argument's syntax is looked
at: transcript 18), unless the persona's behaviour lets the transaction run in clear text; then
``530 5.7.0 Authentication Required``. :data:`_GATES` holds that order per verb.

Where providers differ, the rules read the persona's :class:`~fakeserver.personas.model.Behaviour`
(what the EHLO argument must be, whether BDAT is a command...), never its name; a reply the
persona lacks is its stand-in (:meth:`~fakeserver.personas.model.Persona.template`).
"""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fakeserver.personas.identifiers import Identity
from fakeserver.personas.model import Listener, Persona, Situation
from fakeserver.session.accounts import Accounts
from fakeserver.session.addresses import (
    forward_path,
    is_mailbox,
    is_reverse_path,
    mail_parameters_refusal,
    reverse_path,
)
from fakeserver.session.argument_rules import (
    helo_refusal,
    rcpt_parameters_taken,
    without_dsn_parameters,
)
from fakeserver.session.auth import AuthAnswer, Authenticator
from fakeserver.session.envelope import Envelope
from fakeserver.session.policy import Policy, Usage

__all__ = ["VERBS", "Decision", "Dialogue", "Next"]


class Next(enum.Enum):
    """What the connection does after the reply."""

    COMMAND = "command"
    SASL_RESPONSE = "sasl_response"
    MESSAGE = "message"
    CHUNK = "chunk"
    START_TLS = "start_tls"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one thing the client did.

    Attributes:
        situation: the reply to send, or None when nothing is said yet (a BDAT chunk is read
            before its reply).
        fields: values for the reply's template.
        next: what the connection does after the reply.
        chunk_size: for ``Next.CHUNK``, the octets to read.
        keep_chunk: for ``Next.CHUNK``, False when the chunk is to be read and thrown away
            (it is refused, or it would pass the size limit).
        accepted: the envelope of a message accepted by this decision; the caller must store
            the message before it sends the reply, so that nothing acknowledged is lost.
        content: the accepted message, dot-unstuffed (DATA) or joined (BDAT).
    """

    situation: Situation | None
    fields: Mapping[str, object]
    next: Next = Next.COMMAND
    chunk_size: int = 0
    keep_chunk: bool = True
    accepted: Envelope | None = None
    content: bytes = b""


class _Gate(enum.Enum):
    GREETED = Situation.HELO_FIRST
    TLS = Situation.TLS_REQUIRED
    AUTHENTICATED = Situation.AUTH_REQUIRED


_TRANSACTION_GATES = (_Gate.GREETED, _Gate.TLS, _Gate.AUTHENTICATED)

# What each verb must pass, in the order Gmail checks (see the module docstring). Gmail was
# seen answering EHLO, HELO, STARTTLS, RSET and QUIT before TLS; NOOP and HELP are presumed
# to work too (replies.md §6.1).
_GATES: dict[str, tuple[_Gate, ...]] = {
    "EHLO": (),
    "HELO": (),
    "STARTTLS": (_Gate.GREETED,),
    "AUTH": (_Gate.GREETED, _Gate.TLS),
    "MAIL": _TRANSACTION_GATES,
    "RCPT": _TRANSACTION_GATES,
    "DATA": _TRANSACTION_GATES,
    "BDAT": _TRANSACTION_GATES,
    "RSET": (),
    "NOOP": (),
    "HELP": (),
    "VRFY": (_Gate.TLS,),
    "EXPN": (),
    "QUIT": (),
}
VERBS = frozenset(_GATES)
"""Every verb a Dialogue knows; others are unrecognized."""

# RFC 3030 §2: chunk-size is 1*DIGIT, and DIGIT is ASCII (RFC 5234 B.1); \d would take any
# script's digits ("BDAT ٣" is not a size).
_BDAT_ARGUMENT = re.compile(r"([0-9]{1,18})(?:[ \t]+(LAST))?", re.IGNORECASE)
_PATH = re.compile(r"<([^<>]*)>")


@dataclass(slots=True)
class _Transaction:
    mail_from: str
    mail_options: tuple[str, ...]
    recipients: list[str] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    chunked_size: int = 0
    chunk_overflow: bool = False


@dataclass(slots=True)
class _PendingChunk:
    size: int
    last: bool
    refusal: Situation | None


class Dialogue:
    """One connection's SMTP state and the persona's rules for it.

    Args:
        persona: the replies, limits and behaviour.
        accounts: who may log in.
        policy: the optional behaviours switched on for this server.
        usage: counters shared with the server's other connections.
        listener: the kind of port the client connected to.
        client_ip: the peer's address as Gmail shows it (no brackets, no ``IPv6:``).
        session_id: this connection's id, repeated in every tagged reply.
        clock: returns Unix time in seconds (the end-of-data timestamp).
        identity: the connection's identifiers (template fields), and the source of each
            accepted message's; None: only ``session_id``.
    """

    def __init__(
        self,
        *,
        persona: Persona,
        accounts: Accounts,
        policy: Policy,
        usage: Usage,
        listener: Listener,
        client_ip: str,
        session_id: str,
        clock: Callable[[], float],
        identity: Identity | None = None,
    ) -> None:
        self.persona = persona
        self.tls = listener.implicit_tls
        self.greeted = False
        self.helo_name: str | None = None
        self.auth = Authenticator(
            accounts,
            policy.auth_failure_limit,
            mechanisms=persona.auth_mechanisms,
            retired=persona.retired_mechanisms,
            error_challenge=persona.behaviour.oauth_error_challenge,
        )
        self.messages_accepted = 0
        self._behaviour = persona.behaviour
        self._implicit_tls = listener.implicit_tls
        self._policy = policy
        self._usage = usage
        self._clock = clock
        self._identity = identity
        self._fields: dict[str, object] = {
            **(identity.values if identity is not None else {}),
            "session_id": session_id,
            "client_ip": client_ip,
        }
        self._transaction: _Transaction | None = None
        self._pending_chunk: _PendingChunk | None = None

    @property
    def fields(self) -> Mapping[str, object]:
        """The template fields every reply of this connection can use."""
        return self._fields

    def say(self, situation: Situation, **fields: object) -> Decision:
        """Says ``situation``; the connection closes after it if the persona's reply closes."""
        closes = self.persona.template(situation).closes
        merged = {**self._fields, **fields} if fields else self._fields
        return Decision(situation, merged, Next.CLOSE if closes else Next.COMMAND)

    def context(self, argument: str = "") -> dict[str, object]:
        """Every field a reply said now could use: the connection's, and the command's
        argument, its address, the logged-in user and the transaction's sender (for a scripted
        reply, which may name any of them)."""
        path = _PATH.search(argument)
        transaction = self._transaction
        return {
            **self._fields,
            "argument": argument,
            "address": path[1] if path else argument.partition(":")[2].strip(),
            "user": self.auth.user or "",
            "sender": transaction.mail_from if transaction is not None else "",
        }

    def command(self, verb: str, argument: str) -> Decision:
        """Answers one command line.

        Args:
            verb: the command name, upper case (``MAIL``); see ``VERBS``.
            argument: the rest of the line with surrounding whitespace removed.
        """
        gates = _GATES.get(verb)
        if gates is None or (verb == "BDAT" and not self._behaviour.chunking):
            return self.say(Situation.UNRECOGNIZED, argument=f"{verb} {argument}".rstrip())
        for gate in gates:
            if not self._passes(gate):
                if verb == "BDAT":
                    return self._bdat(verb, argument, gate_refusal=gate.value)
                return self.say(gate.value)
        return _HANDLERS[verb](self, verb, argument)

    def abandon_transaction(self) -> None:
        """A scripted failure answered end of data or a BDAT chunk: the transaction is over
        (RFC 5321 §4.1.1.4: after the reply to the data, the transaction is reset)."""
        self._transaction = None
        self._pending_chunk = None

    def tls_started(self) -> None:
        """The STARTTLS handshake finished. Gmail keeps the greeting (replies.md §5)."""
        self.tls = True
        self._transaction = None

    def sasl_response(self, line: bytes) -> Decision:
        """Answers the client's line after a 334 challenge (CRLF already removed)."""
        return self._auth_decision(self.auth.respond(line))

    def message_received(self, content: bytes | None) -> Decision:
        """Answers end of data. ``content`` is None when it passed the size limit."""
        transaction = self._transaction
        self._transaction = None
        if transaction is None:
            raise RuntimeError("message_received() called without a transaction")
        return self._finish(transaction, content)

    def chunk_received(self, chunk: bytes | None) -> Decision:
        """Answers a BDAT chunk; ``chunk`` is None when it was thrown away."""
        pending = self._pending_chunk
        self._pending_chunk = None
        if pending is None:
            raise RuntimeError("chunk_received() called without a BDAT command")
        if pending.refusal is not None:
            return self.say(pending.refusal)
        transaction = self._transaction
        if transaction is None:
            raise RuntimeError("a BDAT chunk was accepted without a transaction")
        if chunk is None:
            transaction.chunk_overflow = True
        else:
            transaction.chunks.append(chunk)
        if not pending.last:
            return self.say(Situation.CHUNK_ACCEPTED, octets=pending.size)
        self._transaction = None
        content = None if transaction.chunk_overflow else b"".join(transaction.chunks)
        return self._finish(
            transaction, content, situation=Situation.CHUNK_ACCEPTED, octets=pending.size
        )

    # ------------------------------------------------------------------ verbs

    def _hello(self, verb: str, argument: str) -> Decision:
        refusal = helo_refusal(self._behaviour.helo_argument, argument)
        if refusal is not None:
            return self.say(refusal, argument=argument)
        if verb == "HELO" and self.tls and not self._behaviour.helo_after_tls:
            return self.say(Situation.UNRECOGNIZED)
        self.greeted = True
        self.helo_name = argument
        # RFC 5321 §4.1.4: a new greeting resets the mail transaction (not the login).
        self._transaction = None
        if verb == "HELO":
            return self.say(Situation.HELO)
        if not self.tls:
            return self.say(Situation.EHLO_BEFORE_TLS)
        implicit = self._implicit_tls
        return self.say(Situation.EHLO_IMPLICIT_TLS if implicit else Situation.EHLO_AFTER_TLS)

    def _starttls(self, verb: str, argument: str) -> Decision:
        if self.tls:
            return self.say(Situation.STARTTLS_NOT_AVAILABLE)
        if argument:
            return self.say(Situation.NO_PARAMETERS_ALLOWED)
        return Decision(Situation.STARTTLS_READY, self._fields, Next.START_TLS)

    def _auth(self, verb: str, argument: str) -> Decision:
        return self._auth_decision(self.auth.start(argument))

    def _mail(self, verb: str, argument: str) -> Decision:
        parsed = reverse_path(argument, bare=self._behaviour.bare_paths)
        if parsed is None:
            return self.say(Situation.SYNTAX_ERROR)
        address, parameters = parsed
        if self._transaction is not None:
            return self.say(Situation.NESTED_MAIL)
        # Gmail rewrites the sender to the account anyway, so it takes most paths; not one
        # that is no address at all (see is_reverse_path).
        if not is_reverse_path(address):
            return self.say(Situation.SENDER_INVALID, address=address)
        checked = without_dsn_parameters(parameters) if self._behaviour.dsn else parameters
        refusal = mail_parameters_refusal(checked, self.persona.size_limit)
        if refusal is not None:
            return self.say(refusal)
        # Interned: a test suite sends from the same few addresses thousands of times.
        options = tuple(sys.intern(parameter) for parameter in parameters)
        self._transaction = _Transaction(sys.intern(address), options)
        return self.say(Situation.SENDER_OK)

    def _rcpt(self, verb: str, argument: str) -> Decision:
        transaction = self._transaction
        if transaction is None:
            return self.say(Situation.MAIL_FIRST)
        parsed = forward_path(argument, bare=self._behaviour.bare_paths)
        if parsed is None or (
            parsed[1] and not rcpt_parameters_taken(parsed[1], dsn=self._behaviour.dsn)
        ):
            return self.say(Situation.SYNTAX_ERROR)
        address = parsed[0]
        if not address:
            return self.say(Situation.SYNTAX_ERROR)
        if not is_mailbox(address):
            return self.say(Situation.RECIPIENT_INVALID, address=address)
        if len(transaction.recipients) >= self.persona.max_recipients:
            return self.say(Situation.TOO_MANY_RECIPIENTS)
        transaction.recipients.append(sys.intern(address))
        return self.say(Situation.RECIPIENT_OK)

    def _data(self, verb: str, argument: str) -> Decision:
        transaction = self._transaction
        refusal = self._transaction_refusal()
        if refusal is not None or transaction is None:
            return self.say(refusal or Situation.MAIL_FIRST)
        if transaction.chunks or transaction.chunk_overflow:
            return self.say(Situation.NO_DATA_AFTER_BDAT)
        limit = self._policy.rate_limit_per_minute
        user = self.auth.user
        if (
            limit is not None
            and user is not None
            and self._usage.data_commands_in_last_minute(user) > limit
        ):
            return self.say(Situation.RATE_LIMITED)
        return Decision(Situation.GO_AHEAD, self._fields, Next.MESSAGE)

    def _bdat(self, verb: str, argument: str, gate_refusal: Situation | None = None) -> Decision:
        match = _BDAT_ARGUMENT.fullmatch(argument)
        if match is None and gate_refusal is not None:
            return self.say(gate_refusal)  # the client is not ready for BDAT in any form
        if match is None:
            # Without a size the chunk cannot be skipped, so the stream cannot be trusted.
            return Decision(Situation.SYNTAX_ERROR, self._fields, Next.CLOSE)
        size, last = int(match.group(1)), match.group(2) is not None
        refusal = gate_refusal or self._transaction_refusal()
        transaction = self._transaction
        keep = refusal is None and transaction is not None
        if transaction is not None and refusal is None:
            if transaction.chunked_size + size > self.persona.size_limit:
                keep = False
            transaction.chunked_size += size
        # RFC 3030 §2: the chunk follows the command whatever the reply, so it is always read.
        self._pending_chunk = _PendingChunk(size, last, refusal)
        return Decision(None, self._fields, Next.CHUNK, chunk_size=size, keep_chunk=keep)

    def _rset(self, verb: str, argument: str) -> Decision:
        self._transaction = None
        return self.say(Situation.FLUSHED)

    def _simple(self, verb: str, argument: str) -> Decision:
        return self.say(_SIMPLE_REPLIES[verb])

    # ------------------------------------------------------------------ helpers

    def _passes(self, gate: _Gate) -> bool:
        if gate is _Gate.GREETED:
            return self.greeted
        if gate is _Gate.TLS:
            return self.tls or not self._behaviour.requires_tls
        return self.auth.user is not None

    def _transaction_refusal(self) -> Situation | None:
        if self._transaction is None:
            return Situation.MAIL_FIRST
        if not self._transaction.recipients:
            return Situation.RCPT_FIRST
        return None

    def _auth_decision(self, answer: AuthAnswer) -> Decision:
        if answer.awaits_response:
            return Decision(answer.situation, self._fields, Next.SASL_RESPONSE)
        return self.say(answer.situation)

    def _finish(
        self,
        transaction: _Transaction,
        content: bytes | None,
        *,
        situation: Situation = Situation.MESSAGE_ACCEPTED,
        octets: int | None = None,
    ) -> Decision:
        if content is None or len(content) > self.persona.size_limit:
            return self.say(Situation.MESSAGE_TOO_BIG)
        user = self.auth.user or ""
        quota = self._policy.daily_quota
        if quota is not None and self._usage.accepted(user) >= quota:
            return self.say(Situation.DAILY_QUOTA)
        self._usage.record_accepted(user)
        self.messages_accepted += 1
        envelope = Envelope(
            transaction.mail_from, tuple(transaction.recipients), transaction.mail_options
        )
        now = self._clock()
        fields = {**self._fields, "timestamp": int(now)}
        if octets is not None:
            fields["octets"] = octets
        if self._identity is not None:
            fields.update(self._identity.for_message(now))
        return Decision(situation, fields, accepted=envelope, content=content)


_SIMPLE_REPLIES = {
    "NOOP": Situation.NOOP_OK,
    "HELP": Situation.HELP,
    "VRFY": Situation.VRFY,
    "EXPN": Situation.UNIMPLEMENTED,
    "QUIT": Situation.CLOSING,
}

_HANDLERS: dict[str, Callable[[Dialogue, str, str], Decision]] = {
    "EHLO": Dialogue._hello,
    "HELO": Dialogue._hello,
    "STARTTLS": Dialogue._starttls,
    "AUTH": Dialogue._auth,
    "MAIL": Dialogue._mail,
    "RCPT": Dialogue._rcpt,
    "DATA": Dialogue._data,
    "BDAT": Dialogue._bdat,
    "RSET": Dialogue._rset,
    **{verb: Dialogue._simple for verb in _SIMPLE_REPLIES},
}
