"""Gmail's rules for one connection, without sockets.

A :class:`Conversation` is told what the client did (a command, a SASL response, a message
body, a BDAT chunk, a finished TLS handshake) and answers with an :class:`Outcome`: the
:class:`~fakeserver.personas.model.Situation` to reply with, its fields, and what the connection
does next. It never touches sockets, clocks or randomness: the session id comes in, and the
clock is injected. Everything that changes a connection's state lives here.

The order of checks follows the recordings (replies.md §6): a command that needs a greeting
gets ``503 5.5.1 EHLO/HELO first`` before anything else; then, on a listener where TLS is
not yet up, ``530 5.7.0 Must issue a STARTTLS command first`` (before the argument's syntax
is looked at: transcript 18); then ``530 5.7.0 Authentication Required``. The table
``_GATES`` holds that order per verb.
"""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fakeserver.personas.model import Persona, Situation
from fakeserver.session import sasl
from fakeserver.session.accounts import Accounts, Verdict
from fakeserver.session.addresses import (
    forward_path,
    is_mailbox,
    mail_parameters_refusal,
    reverse_path,
)
from fakeserver.session.policy import Policy, Usage

__all__ = [
    "Conversation",
    "Envelope",
    "Listener",
    "Next",
    "Outcome",
    "Policy",
    "Usage",
]


class Listener(enum.StrEnum):
    """The kinds of port a fake Gmail listens on."""

    SMTPS = "smtps"
    """Implicit TLS, like port 465."""
    SUBMISSION = "submission"
    """STARTTLS, like port 587."""
    PLAIN = "plain"
    """Like port 25 on smtp.gmail.com, which behaves like 587 (replies.md, scope)."""


class Next(enum.Enum):
    """What the connection does after the reply."""

    COMMAND = "command"
    SASL_RESPONSE = "sasl_response"
    MESSAGE = "message"
    CHUNK = "chunk"
    START_TLS = "start_tls"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class Envelope:
    """The envelope of an accepted message (RFC 5321 §2.3.1)."""

    mail_from: str
    recipients: tuple[str, ...]
    mail_options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to one thing the client did.

    Attributes:
        situation: the reply to send, or None when nothing is said yet (a BDAT chunk is read
            before its reply).
        fields: values for the reply's template.
        next: what the connection does after the reply.
        chunk_size: for ``Next.CHUNK``, the octets to read.
        keep_chunk: for ``Next.CHUNK``, False when the chunk is to be read and thrown away
            (it is refused, or it would pass the size limit).
        accepted: the envelope of a message accepted by this outcome; the caller must store
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
"""Every verb a Conversation knows; others are unrecognized."""

_BDAT_ARGUMENT = re.compile(r"(\d{1,18})(?:\s+(LAST))?", re.IGNORECASE)


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


@dataclass(slots=True)
class _Exchange:
    mechanism: str
    step: str
    login: str = ""


class Conversation:
    """One connection's state and Gmail's rules for it.

    Args:
        persona: the replies and limits.
        accounts: who may log in.
        policy: the optional behaviours.
        usage: counters shared with the server's other connections.
        listener: the kind of port the client connected to.
        client_ip: the peer's address as Gmail shows it (no brackets, no ``IPv6:``).
        session_id: this connection's id, repeated in every tagged reply.
        clock: returns Unix time in seconds (the end-of-data timestamp).
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
    ) -> None:
        self.persona = persona
        self.listener = listener
        self.session_id = session_id
        self.client_ip = client_ip
        self.tls = listener is Listener.SMTPS
        self.greeted = False
        self.helo_name: str | None = None
        self.user: str | None = None
        self.mechanism: str | None = None
        self.auth_failures = 0
        self.messages_accepted = 0
        self._accounts = accounts
        self._policy = policy
        self._usage = usage
        self._clock = clock
        self._fields: dict[str, object] = {"session_id": session_id, "client_ip": client_ip}
        self._transaction: _Transaction | None = None
        self._exchange: _Exchange | None = None
        self._pending_chunk: _PendingChunk | None = None

    @property
    def fields(self) -> Mapping[str, object]:
        """The template fields every reply of this connection can use."""
        return self._fields

    @property
    def in_sasl_exchange(self) -> bool:
        """True while the next client line answers a 334 challenge (and must be redacted)."""
        return self._exchange is not None

    def greeting(self) -> Outcome:
        return self._say(Situation.GREETING)

    def idle_timeout(self) -> Outcome:
        return self._say(Situation.IDLE_TIMEOUT)

    def line_too_long(self) -> Outcome:
        return self._say(Situation.LINE_TOO_LONG)

    def unrecognized(self) -> Outcome:
        return self._say(Situation.UNRECOGNIZED)

    def too_many_unrecognized(self) -> Outcome:
        return self._say(Situation.TOO_MANY_UNRECOGNIZED)

    def server_error(self) -> Outcome:
        return self._say(Situation.SERVER_ERROR)

    def command(self, verb: str, argument: str) -> Outcome:
        """Answers one command line.

        Args:
            verb: the command name, upper case (``MAIL``); see ``VERBS``.
            argument: the rest of the line with surrounding whitespace removed.
        """
        gates = _GATES.get(verb)
        if gates is None:
            return self.unrecognized()
        for gate in gates:
            if not self._passes(gate):
                if verb == "BDAT":
                    return self._bdat(verb, argument, gate_refusal=gate.value)
                return self._say(gate.value)
        handler: Callable[[Conversation, str, str], Outcome] = _HANDLERS[verb]
        return handler(self, verb, argument)

    def abandon_exchange(self) -> None:
        """A scripted failure answered a SASL response: the AUTH exchange is over."""
        self._exchange = None

    def abandon_transaction(self) -> None:
        """A scripted failure answered end of data or a BDAT chunk: the transaction is over
        (RFC 5321 §4.1.1.4: after the reply to the data, the transaction is reset)."""
        self._transaction = None
        self._pending_chunk = None

    def tls_started(self) -> None:
        """The STARTTLS handshake finished. Gmail keeps the greeting (replies.md §5)."""
        self.tls = True
        self._transaction = None

    def sasl_response(self, line: bytes) -> Outcome:
        """Answers the client's line after a 334 challenge (CRLF already removed)."""
        exchange = self._exchange
        if exchange is None:
            raise RuntimeError("sasl_response() called outside an AUTH exchange")
        self._exchange = None
        if exchange.step == "token_error":
            # Whatever the client sends after the error challenge is taken as its (empty)
            # response, even QUIT (replies.md §7.7, PHPMailer#677).
            return self._login_failed(Situation.BAD_CREDENTIALS)
        decoded = sasl.decode_base64(line) if line.strip() != b"*" else None
        if decoded is None:
            return self._say(Situation.CANNOT_DECODE)
        if exchange.step == "username":
            self._exchange = _Exchange(exchange.mechanism, "password", _text(decoded))
            return self._say(Situation.AUTH_LOGIN_PASSWORD, next_step=Next.SASL_RESPONSE)
        if exchange.step == "password":
            return self._judge_password(
                exchange.mechanism, sasl.Credentials(exchange.login, _text(decoded))
            )
        return self._judge_blob(exchange.mechanism, decoded)

    def message_received(self, content: bytes | None) -> Outcome:
        """Answers end of data. ``content`` is None when it passed the size limit."""
        transaction = self._transaction
        self._transaction = None
        if transaction is None:
            raise RuntimeError("message_received() called without a transaction")
        return self._finish(transaction, content)

    def chunk_received(self, chunk: bytes | None) -> Outcome:
        """Answers a BDAT chunk; ``chunk`` is None when it was thrown away."""
        pending = self._pending_chunk
        self._pending_chunk = None
        if pending is None:
            raise RuntimeError("chunk_received() called without a BDAT command")
        if pending.refusal is not None:
            return self._say(pending.refusal)
        transaction = self._transaction
        if transaction is None:
            raise RuntimeError("a BDAT chunk was accepted without a transaction")
        if chunk is None:
            transaction.chunk_overflow = True
        else:
            transaction.chunks.append(chunk)
        if not pending.last:
            return self._say(Situation.CHUNK_ACCEPTED)
        self._transaction = None
        content = None if transaction.chunk_overflow else b"".join(transaction.chunks)
        return self._finish(transaction, content, situation=Situation.CHUNK_ACCEPTED)

    # ------------------------------------------------------------------ verbs

    def _hello(self, verb: str, argument: str) -> Outcome:
        if not argument:
            return self._say(Situation.HELO_EMPTY)
        if any(character.isspace() for character in argument):
            return self._say(Situation.HELO_INVALID, argument=argument)
        self.greeted = True
        self.helo_name = argument
        # RFC 5321 §4.1.4: a new greeting resets the mail transaction (not the login).
        self._transaction = None
        if verb == "HELO":
            return self._say(Situation.HELO)
        return self._say(Situation.EHLO_AFTER_TLS if self.tls else Situation.EHLO_BEFORE_TLS)

    def _starttls(self, verb: str, argument: str) -> Outcome:
        if self.tls:
            return self._say(Situation.STARTTLS_NOT_AVAILABLE)
        if argument:
            return self._say(Situation.NO_PARAMETERS_ALLOWED)
        return self._say(Situation.STARTTLS_READY, next_step=Next.START_TLS)

    def _auth(self, verb: str, argument: str) -> Outcome:
        parts = argument.split()
        if not parts or len(parts) > 2:
            return self._say(Situation.SYNTAX_ERROR)
        if self.user is not None:
            return self._say(Situation.ALREADY_AUTHENTICATED)
        limit = self._policy.auth_failure_limit
        if limit is not None and self.auth_failures >= limit:
            return self._say(Situation.TOO_MANY_LOGINS)
        mechanism = parts[0].upper()
        initial = parts[1].encode("utf-8", "surrogateescape") if len(parts) == 2 else None
        if mechanism == "XOAUTH":
            return self._say(Situation.XOAUTH_UNSUPPORTED)
        if mechanism not in {"LOGIN", "PLAIN", "XOAUTH2", "OAUTHBEARER", "PLAIN-CLIENTTOKEN"}:
            return self._say(Situation.UNRECOGNIZED_AUTH_TYPE)
        if initial is None:
            if mechanism == "LOGIN":
                self._exchange = _Exchange(mechanism, "username")
                return self._say(Situation.AUTH_LOGIN_USERNAME, next_step=Next.SASL_RESPONSE)
            self._exchange = _Exchange(mechanism, "blob")
            return self._say(Situation.AUTH_EMPTY_CHALLENGE, next_step=Next.SASL_RESPONSE)
        # RFC 4954 §4: "=" is an empty initial response.
        decoded = b"" if initial == b"=" else sasl.decode_base64(initial)
        if decoded is None:
            return self._say(Situation.CANNOT_DECODE)
        if mechanism == "LOGIN":
            # `AUTH LOGIN <b64 user>` skips the Username: prompt (replies.md §7.1).
            self._exchange = _Exchange(mechanism, "password", _text(decoded))
            return self._say(Situation.AUTH_LOGIN_PASSWORD, next_step=Next.SASL_RESPONSE)
        return self._judge_blob(mechanism, decoded)

    def _mail(self, verb: str, argument: str) -> Outcome:
        parsed = reverse_path(argument)
        if parsed is None:
            return self._say(Situation.SYNTAX_ERROR)
        address, parameters = parsed
        if self._transaction is not None:
            return self._say(Situation.NESTED_MAIL)
        # Any reverse-path is taken: Gmail rewrites the sender to the account anyway, and it
        # answered 250 to "<Test Address Display yourgmailaddress@gmail.com>" (transcript
        # 30). "sender_invalid" (553 5.1.7, seen at the MX) stays available to scripts.
        refusal = mail_parameters_refusal(parameters, self.persona.size_limit)
        if refusal is not None:
            return self._say(refusal)
        # Interned: a test suite sends from the same few addresses thousands of times.
        self._transaction = _Transaction(sys.intern(address), tuple(parameters))
        return self._say(Situation.SENDER_OK)

    def _rcpt(self, verb: str, argument: str) -> Outcome:
        transaction = self._transaction
        if transaction is None:
            return self._say(Situation.MAIL_FIRST)
        parsed = forward_path(argument)
        if parsed is None or parsed[1]:
            # Gmail offers no RCPT parameters (no DSN in its EHLO), so any is an error.
            return self._say(Situation.SYNTAX_ERROR)
        address = parsed[0]
        if not address:
            return self._say(Situation.SYNTAX_ERROR)
        if not is_mailbox(address):
            return self._say(Situation.RECIPIENT_INVALID, address=address)
        if len(transaction.recipients) >= self.persona.max_recipients:
            return self._say(Situation.TOO_MANY_RECIPIENTS)
        transaction.recipients.append(sys.intern(address))
        return self._say(Situation.RECIPIENT_OK)

    def _data(self, verb: str, argument: str) -> Outcome:
        transaction = self._transaction
        refusal = self._transaction_refusal()
        if refusal is not None or transaction is None:
            return self._say(refusal or Situation.MAIL_FIRST)
        if transaction.chunks or transaction.chunk_overflow:
            return self._say(Situation.NO_DATA_AFTER_BDAT)
        limit = self._policy.rate_limit_per_minute
        if (
            limit is not None
            and self.user is not None
            and self._usage.data_commands_in_last_minute(self.user) > limit
        ):
            return self._say(Situation.RATE_LIMITED)
        return self._say(Situation.GO_AHEAD, next_step=Next.MESSAGE)

    def _bdat(self, verb: str, argument: str, gate_refusal: Situation | None = None) -> Outcome:
        match = _BDAT_ARGUMENT.fullmatch(argument)
        if match is None and gate_refusal is not None:
            return self._say(gate_refusal)  # the client is not ready for BDAT in any form
        if match is None:
            # Without a size the chunk cannot be skipped, so the stream cannot be trusted.
            return self._say(Situation.SYNTAX_ERROR, next_step=Next.CLOSE)
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
        return Outcome(None, self._fields, Next.CHUNK, chunk_size=size, keep_chunk=keep)

    def _rset(self, verb: str, argument: str) -> Outcome:
        self._transaction = None
        return self._say(Situation.FLUSHED)

    def _simple(self, verb: str, argument: str) -> Outcome:
        return self._say(_SIMPLE_REPLIES[verb])

    # ------------------------------------------------------------------ helpers

    def _passes(self, gate: _Gate) -> bool:
        if gate is _Gate.GREETED:
            return self.greeted
        if gate is _Gate.TLS:
            return self.tls
        return self.user is not None

    def _transaction_refusal(self) -> Situation | None:
        if self._transaction is None:
            return Situation.MAIL_FIRST
        if not self._transaction.recipients:
            return Situation.RCPT_FIRST
        return None

    def _judge_blob(self, mechanism: str, blob: bytes) -> Outcome:
        if mechanism in {"PLAIN", "PLAIN-CLIENTTOKEN"}:
            credentials = sasl.parse_plain(blob)
            if credentials is None:
                return self._say(Situation.CANNOT_DECODE)
            if mechanism == "PLAIN-CLIENTTOKEN":
                # Google's client-token variant is advertised but undocumented; refuse it.
                return self._login_failed(Situation.BAD_CREDENTIALS)
            return self._judge_password(mechanism, credentials)
        parse = sasl.parse_xoauth2 if mechanism == "XOAUTH2" else sasl.parse_oauthbearer
        credentials = parse(blob)
        if credentials is None:
            return self._say(Situation.CANNOT_DECODE)
        account = self._accounts.check_token(credentials.login, credentials.secret)
        if account is None:
            self._exchange = _Exchange(mechanism, "token_error")
            return self._say(Situation.AUTH_TOKEN_ERROR, next_step=Next.SASL_RESPONSE)
        return self._logged_in(account.username, mechanism)

    def _judge_password(self, mechanism: str, credentials: sasl.Credentials) -> Outcome:
        verdict, account = self._accounts.check_password(credentials.login, credentials.secret)
        if verdict is Verdict.ACCEPTED and account is not None:
            return self._logged_in(account.username, mechanism)
        if verdict is Verdict.APP_PASSWORD_REQUIRED:
            return self._login_failed(Situation.APP_PASSWORD_REQUIRED)
        return self._login_failed(Situation.BAD_CREDENTIALS)

    def _logged_in(self, username: str, mechanism: str) -> Outcome:
        self.user = username
        self.mechanism = mechanism
        return self._say(Situation.AUTH_ACCEPTED)

    def _login_failed(self, situation: Situation) -> Outcome:
        self.auth_failures += 1
        return self._say(situation)

    def _finish(
        self,
        transaction: _Transaction,
        content: bytes | None,
        *,
        situation: Situation = Situation.MESSAGE_ACCEPTED,
    ) -> Outcome:
        if content is None or len(content) > self.persona.size_limit:
            return self._say(Situation.MESSAGE_TOO_BIG)
        user = self.user or ""
        quota = self._policy.daily_quota
        if quota is not None and self._usage.accepted(user) >= quota:
            return self._say(Situation.DAILY_QUOTA)
        self._usage.record_accepted(user)
        self.messages_accepted += 1
        envelope = Envelope(
            transaction.mail_from, tuple(transaction.recipients), transaction.mail_options
        )
        fields = {**self._fields, "timestamp": int(self._clock())}
        return Outcome(situation, fields, accepted=envelope, content=content)

    def _say(
        self, situation: Situation, *, next_step: Next | None = None, **fields: object
    ) -> Outcome:
        if next_step is None:
            closes = self.persona.replies[situation].closes
            next_step = Next.CLOSE if closes else Next.COMMAND
        return Outcome(situation, {**self._fields, **fields} if fields else self._fields, next_step)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="surrogateescape")


_SIMPLE_REPLIES = {
    "NOOP": Situation.NOOP_OK,
    "HELP": Situation.HELP,
    "VRFY": Situation.VRFY,
    "EXPN": Situation.UNIMPLEMENTED,
    "QUIT": Situation.CLOSING,
}

_HANDLERS: dict[str, Callable[[Conversation, str, str], Outcome]] = {
    "EHLO": Conversation._hello,
    "HELO": Conversation._hello,
    "STARTTLS": Conversation._starttls,
    "AUTH": Conversation._auth,
    "MAIL": Conversation._mail,
    "RCPT": Conversation._rcpt,
    "DATA": Conversation._data,
    "BDAT": Conversation._bdat,
    "RSET": Conversation._rset,
    **{verb: Conversation._simple for verb in _SIMPLE_REPLIES},
}
