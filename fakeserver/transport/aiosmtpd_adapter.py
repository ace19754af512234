"""The aiosmtpd adapter: the only module that imports aiosmtpd.

aiosmtpd supplies the asyncio protocol: it reads command lines (ending in CRLF or a bare LF,
as Gmail accepts), dispatches them to ``smtp_<VERB>`` methods and performs the STARTTLS
handshake. Every word the server says comes from the persona through
:class:`~fakeserver.session.rules.Conversation`; this module only moves bytes and reports them.

The seams used, each a public or de-facto extension point of aiosmtpd 1.4:

- ``smtp_<VERB>`` methods (aiosmtpd documents adding and replacing commands this way): one
  per verb in :data:`fakeserver.session.rules.VERBS`, all delegating to the Conversation.
- ``push()``: aiosmtpd writes a few replies itself, before any hook can run. Each is
  translated to a persona situation (:data:`_CANNED`); an unknown one is reported as an
  error and answered with ``server_error``. They are:

  ============================================  =========================================
  aiosmtpd says                                 the persona says instead
  ============================================  =========================================
  ``220 <host> <ident>`` (greeting)             ``greeting``
  ``500 Command line too long``                 ``line_too_long`` (and closes)
  ``500 Error: bad syntax`` (empty line)        ``unrecognized``
  ``500 Error: command "X" not recognized``     ``unrecognized``
  ``502 5.5.1 Too many unrecognized ...``       ``too_many_unrecognized`` (aiosmtpd closes)
  ``220 Ready to start TLS``                    ``starttls_ready``
  a handler exception                           ``server_error`` (closes; error recorded)
  ============================================  =========================================

  ``500 Error: strict ASCII mode``, ``530 Must issue a STARTTLS command first`` and ``554
  Command refused due to lack of security`` cannot happen: SMTPUTF8 is on, and
  ``require_starttls`` and the STARTTLS hook are not used.
- ``data_received()`` (asyncio ``Protocol``): sees every inbound byte after TLS decryption;
  it restarts the idle timer when the bytes make progress, and keeps the raw bytes so each
  consumed line can be reported exactly as the client sent it (case, bare LF and all).
- ``connection_made()`` / ``connection_lost()``: the first call opens the connection; a
  second one means the STARTTLS handshake finished (aiosmtpd then makes a new session).
- ``_reader`` and ``_writer``: the stream pair aiosmtpd itself uses. SASL responses, DATA
  and BDAT are read from the reader the way aiosmtpd's own ``auth_*`` methods and
  ``smtp_DATA`` do (see ``_streams``); replies are written to the writer as ``push()``
  does, without its added CRLF, through ``_writer.ReplyWriter`` (batching and faults).
- ``_handler_coroutine``: the task running aiosmtpd's command loop; ``close()`` cancels it,
  as aiosmtpd's own ``smtp_QUIT`` does, and makes ``_reader`` raise so that no line already
  buffered is read after the close.
- ``_reset_timeout()``: aiosmtpd restarts its idle timer on every command; ours arms it once,
  as the backstop behind our own idle timer.
- ``__dir__``: aiosmtpd's ``__init__`` inspects every member of the protocol on every
  connection to find ``smtp_*`` and ``auth_*``; ours lists just its verbs.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TypeGuard

from aiosmtpd.smtp import SMTP, TLSSetupException

from client.transcript import Direction
from client.transcript.redaction import REDACTED
from fakeserver.personas.model import Situation
from fakeserver.scripting.faults import Disconnect, Fault
from fakeserver.scripting.script import Action, Step, closes, is_failure, render
from fakeserver.server.outbox import CapturedMessage
from fakeserver.server.state import Connection, ServerCore
from fakeserver.session.rules import Conversation, Listener, Next, Outcome
from fakeserver.transport.reading import (
    Inbound,
    LineSplitter,
    Lost,
    extensions,
    read_chunk,
    read_data,
    read_line,
)
from fakeserver.transport.writing import ReplyWriter

__all__ = ["ProtocolFactory"]

_IDENT = "smtprig-greeting"
_SERVER_ERROR = "smtprig: handler exception"
# Canned replies to lines aiosmtpd found to be no command it knows.
_NOT_A_COMMAND = frozenset({Situation.UNRECOGNIZED, Situation.TOO_MANY_UNRECOGNIZED})


class _NoRawClientLines(logging.Filter):
    """Drops aiosmtpd's log records that quote a client's line as received.

    Such a line can be a secret (a SASL response pipelined after a refused AUTH), and
    aiosmtpd only masks AUTH commands; the transcripts and the live log show the same lines
    with every secret redacted.
    """

    _QUOTING = frozenset(
        {"_handle_client readline: %r", "%r >> %r", "%r unrecognised: %s", "DATA readline: %s"}
    )

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in self._QUOTING


logging.getLogger("mail.log").addFilter(_NoRawClientLines())

# aiosmtpd's own idle timeout only backs ours up (ours says 451 4.4.2 first).
_BACKSTOP_TIMEOUT_S = 24 * 3600.0


class _Handler:
    """aiosmtpd's handler: only its exception hook is used; replies come from the persona."""

    def __init__(self, core: ServerCore) -> None:
        self._core = core

    async def handle_exception(self, error: Exception) -> str:
        if not isinstance(error, TLSSetupException | ConnectionError):
            self._core.report_error(error)
        return _SERVER_ERROR

    def __dir__(self) -> list[str]:
        return ["handle_exception"]  # what aiosmtpd looks for, per connection (see _GmailSMTP)


class _GmailSMTP(SMTP):
    """One client connection, speaking Gmail."""

    def __init__(
        self,
        core: ServerCore,
        listener: Listener,
        loop: asyncio.AbstractEventLoop,
        live: set[_GmailSMTP],
    ) -> None:
        limit = core.persona.command_line_limit
        # aiosmtpd reads these in __init__ (the StreamReader limit) and per command.
        self.line_length_limit = limit
        self.command_size_limit = limit - 2  # aiosmtpd measures the line without CRLF
        super().__init__(
            _Handler(core),
            hostname=core.persona.hostname,
            ident=_IDENT,
            tls_context=None if listener is Listener.SMTPS else core.tls_context,
            enable_SMTPUTF8=True,
            data_size_limit=None,
            timeout=_BACKSTOP_TIMEOUT_S,
            loop=loop,
        )
        self._core = core
        self._listener = listener
        self._live = live
        self._connection: Connection | None = None
        # Kept always: it also tells whether the client pipelined.
        self._inbound = Inbound(limit)
        self._starttls_action: Action | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._last_heard = 0.0
        self._secrets_may_follow = False  # the last command was AUTH (see push())
        self._reading_content = False  # inside a DATA body or BDAT chunk: every byte is progress
        self._replies: dict[Situation, bytes] = {}
        self._closing = False
        self.lost: asyncio.Future[None] = loop.create_future()
        self._output = LineSplitter(b"\n")
        self._writer_path = ReplyWriter(
            self._write,
            self._written,
            lambda: self.transport,
            self.lost,
            lambda: bool(self._inbound),
            self._inbound.has_line,
        )

    def _reset_timeout(self, duration: float | None = None) -> None:
        # aiosmtpd moves its own idle timer on every command; ours (see _restart_idle_timer)
        # does the job, so its backstop is armed once, at the start, and left alone.
        if self._timeout_handle is None:
            super()._reset_timeout(duration)

    def __dir__(self) -> list[str]:
        # aiosmtpd's __init__ runs inspect.getmembers(self) and dir(self) on every
        # connection, only to find the smtp_* and auth_* names; listing just the verbs
        # saves about a millisecond per connection. (No auth_* hooks: AUTH is ours.)
        return _VERB_METHODS

    # ------------------------------------------------------------------ asyncio protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        upgrading = self._connection is not None
        super().connection_made(transport)
        if upgrading:
            self._tls_upgraded(transport)
            return
        peer = transport.get_extra_info("peername") or ("", 0)
        self._connection = self._core.open_connection(self._listener, (peer[0], peer[1]))
        self._live.add(self)
        if self._listener is Listener.SMTPS:
            self._note_tls(transport)
        self._restart_idle_timer()

    def data_received(self, data: bytes) -> None:
        # Idle means no progress, as Gmail's "without a command": bytes that finish no line
        # do not count, or a client dripping one byte at a time would be held for ever.
        if self._reading_content or b"\n" in data:
            self._restart_idle_timer()
        self._inbound.feed(data)
        super().data_received(data)

    def connection_lost(self, error: Exception | None) -> None:
        self._closing = True
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        super().connection_lost(error)
        self._live.discard(self)
        if not self.lost.done():
            self.lost.set_result(None)
        connection = self._connection
        if connection is not None:
            partial = self._output.rest()
            if partial:
                self._account(connection, partial)  # a reply cut short, as it went out
            unread = self._inbound.clear()
            if unread:
                # Never recorded: unread bytes may be a pipelined secret.
                self._core.event(connection, "unread", f"{len(unread)} bytes")
            self._core.close_connection(connection)

    def close(self) -> None:
        """Closes after the pending output is written (and TLS says goodbye)."""
        self._writer_path.flush_now()
        self._closing = True
        if self.transport is not None:
            self.transport.close()
        # aiosmtpd's command loop would go on reading what the client pipelined and, once its
        # buffer drains, resume reading on a TLS transport that is gone (AttributeError). A
        # cancelled task stops only when it next waits, and a buffered line needs no wait, so
        # the reader itself is told to raise; aiosmtpd ends its loop on CancelledError, as
        # after its own smtp_QUIT.
        # (typeshed asks for an Exception; the reader raises whatever it is given)
        self._reader.set_exception(asyncio.CancelledError())  # type: ignore[arg-type]
        if self._handler_coroutine is not None:
            self._handler_coroutine.cancel()

    def abort(self) -> None:
        """Drops the connection at once, unwritten output and all (server shutdown)."""
        self._closing = True
        if isinstance(self.transport, asyncio.Transport):
            self.transport.abort()

    # ------------------------------------------------------------------ aiosmtpd's replies

    async def push(self, status: str | bytes) -> None:
        if self._closing:
            return  # aiosmtpd still parses buffered lines after a close; they get nothing
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        conversation = self._conversation
        if text == f"220 {self.hostname} {_IDENT}":
            await self._answer(conversation.greeting(), self._script(Step.GREETING))
        elif text == "220 Ready to start TLS":
            # Our _command() asked aiosmtpd to start TLS, which announces it here; a scripted
            # failure was answered before that, so only a scripted wording or faults apply.
            await self._answer(conversation.command("STARTTLS", ""), self._starttls_action)
            # Not held back for commands pipelined behind it: the client waits for this 220
            # before its handshake, and what it pipelined is thrown away (RFC 3207 §4.2).
            await self._writer_path.flush()
        else:
            # Every other canned reply answers a command line aiosmtpd consumed itself.
            outcome = self._canned_outcome(text)
            not_a_command = outcome.situation in _NOT_A_COMMAND
            # Lines that are not commands, right after an AUTH, are likely SASL responses the
            # client pipelined before its AUTH was refused: secrets, recorded redacted.
            secret = not_a_command and self._secrets_may_follow
            self._secrets_may_follow = secret
            line = self._consume_command_line(secret=secret)
            if outcome.situation is Situation.UNRECOGNIZED and self._connection is not None:
                self._core.unrecognized(self._connection, REDACTED if secret else line)
            await self._answer(outcome)

    def _canned_outcome(self, text: str) -> Outcome:
        conversation = self._conversation
        if text == "500 Command line too long":
            return conversation.line_too_long()
        if text == "500 Error: bad syntax" or (
            text.startswith('500 Error: command "') and text.endswith('" not recognized')
        ):
            return conversation.unrecognized()
        if text == "502 5.5.1 Too many unrecognized commands, goodbye.":
            return conversation.too_many_unrecognized()
        if text != _SERVER_ERROR:
            self._core.report_error(RuntimeError(f"aiosmtpd sent an unmapped reply: {text!r}"))
        return conversation.server_error()

    # ------------------------------------------------------------------ commands

    async def smtp_EHLO(self, argument: str | None) -> None:
        await self._command("EHLO", argument)

    async def smtp_HELO(self, argument: str | None) -> None:
        await self._command("HELO", argument)

    async def smtp_STARTTLS(self, argument: str | None) -> None:
        await self._command("STARTTLS", argument)

    async def smtp_AUTH(self, argument: str | None) -> None:
        await self._command("AUTH", argument)

    async def smtp_MAIL(self, argument: str | None) -> None:
        await self._command("MAIL", argument)

    async def smtp_RCPT(self, argument: str | None) -> None:
        await self._command("RCPT", argument)

    async def smtp_DATA(self, argument: str | None) -> None:
        await self._command("DATA", argument)

    async def smtp_BDAT(self, argument: str | None) -> None:
        await self._command("BDAT", argument)

    async def smtp_RSET(self, argument: str | None) -> None:
        await self._command("RSET", argument)

    async def smtp_NOOP(self, argument: str | None) -> None:
        await self._command("NOOP", argument)

    async def smtp_HELP(self, argument: str | None) -> None:
        await self._command("HELP", argument)

    async def smtp_VRFY(self, argument: str | None) -> None:
        await self._command("VRFY", argument)

    async def smtp_EXPN(self, argument: str | None) -> None:
        await self._command("EXPN", argument)

    async def smtp_QUIT(self, argument: str | None) -> None:
        await self._command("QUIT", argument)

    async def _command(self, verb: str, argument: str | None) -> None:
        if self._closing:
            return
        self._consume_command_line()
        self._secrets_may_follow = verb == "AUTH"
        connection = self._connection
        if connection is not None:
            connection.commands.append(verb)
            if self._inbound:
                connection.pipelined = True  # the next command came before this reply
        conversation = self._conversation
        text = (argument or "").strip()
        # A BDAT's reply comes after its chunk, so it is scripted there.
        action = None if verb == "BDAT" else self._script(Step(verb.lower()), text)
        if self._refused(action):
            await self._refuse(action)
            return
        outcome = conversation.command(verb, text)
        if outcome.next is Next.START_TLS:
            # aiosmtpd pushes "220 Ready to start TLS" (answered from the persona in push())
            # and performs the handshake; connection_made() runs again when it is done.
            self._starttls_action = action
            await super().smtp_STARTTLS("")
            return
        sent = await self._answer(outcome, action)
        if verb == "EHLO" and connection is not None and sent.startswith(b"250"):
            connection.offered = extensions(sent)
        while outcome.next is Next.SASL_RESPONSE and not self._closing:
            line = await self._read_line(secret=True)
            if line is None:
                return
            action = self._script(Step.AUTH_RESPONSE)
            if self._refused(action):
                conversation.abandon_exchange()
                await self._refuse(action)
                return
            outcome = conversation.sasl_response(line.rstrip(b"\r\n"))
            await self._answer(outcome, action)
        if outcome.next is Next.MESSAGE:
            await self._receive_message()
        elif outcome.next is Next.CHUNK:
            await self._receive_chunk(outcome, text)

    async def _receive_message(self) -> None:
        content = await self._read_message()
        if isinstance(content, Lost):
            return
        if self._inbound and self._connection is not None:
            self._connection.pipelined = True
        action = self._script(Step.END_OF_DATA)
        if self._refused(action):
            self._conversation.abandon_transaction()
            await self._refuse(action)
            return
        await self._deliver(self._conversation.message_received(content), action)

    async def _receive_chunk(self, outcome: Outcome, argument: str) -> None:
        chunk = await self._read_chunk(outcome.chunk_size, keep=outcome.keep_chunk)
        if isinstance(chunk, Lost):
            return
        action = self._script(Step.BDAT, argument)
        if self._refused(action):
            self._conversation.abandon_transaction()
            await self._refuse(action)
            return
        await self._deliver(self._conversation.chunk_received(chunk), action)

    async def _deliver(self, outcome: Outcome, action: Action | None) -> None:
        connection = self._connection
        if outcome.accepted is not None and connection is not None:
            message = CapturedMessage(
                envelope=outcome.accepted,
                raw=outcome.content,
                session=connection.session_info(),
                received_at=self._core.clock(),
            )
            try:
                # Stored before the 250 goes out: nothing acknowledged is ever lost.
                self._core.message_accepted(connection, message)
            except Exception as error:
                self._core.report_error(error)
                await self._answer(self._conversation.server_error())
                return
        await self._answer(outcome, action)

    # ------------------------------------------------------------------ reading

    async def _read_line(self, *, secret: bool = False) -> bytes | None:
        """Reads one line the client sends outside the command loop (a SASL response).

        Returns None when the connection ended or the line was too long (answered and
        closed).
        """
        await self._writer_path.flush()
        try:
            line = await read_line(self._reader, self._core.persona.sasl_response_limit)
        except asyncio.IncompleteReadError:
            return None
        self._report_client(self._take_inbound_line(), secret=secret)
        if line is None:
            await self._answer(self._conversation.line_too_long())
        return line

    async def _read_message(self) -> bytes | Lost | None:
        """Reads the message after 354; see ``_streams.read_data``."""
        await self._writer_path.flush()
        action = self._script(Step.BODY)
        faults = action.faults if action is not None else ()
        drop = next((fault for fault in faults if isinstance(fault, Disconnect)), None)
        if drop is not None and self._connection is not None:
            self._core.event(self._connection, "fault", repr(drop))
        self._reading_content = True
        try:
            content = await read_data(
                self._reader,
                self._inbound,
                size_limit=self._core.persona.size_limit,
                drop_after=drop.after_bytes if drop is not None else None,
                report=self._report_client if self._core.watching_lines else None,
            )
        finally:
            self._reading_content = False
        if content is None:
            self._note_discarded("the message past SIZE (its lines past the limit)")
        if drop is not None and isinstance(content, Lost):
            self._writer_path.close(reset=drop.reset)  # the fault: a drop mid-message
            self._closing = True
        return content

    async def _read_chunk(self, size: int, *, keep: bool) -> bytes | Lost | None:
        """Reads one BDAT chunk; see ``_streams.read_chunk``."""
        await self._writer_path.flush()
        report = self._report_client if self._core.watching_lines else None
        self._reading_content = True
        try:
            chunk = await read_chunk(self._reader, self._inbound, size, keep=keep, report=report)
        finally:
            self._reading_content = False
        if chunk is None:
            self._note_discarded(f"a BDAT chunk of {size} octets")
        return chunk

    # ------------------------------------------------------------------ writing

    def _script(self, step: Step, argument: str = "") -> Action | None:
        return self._core.script.decide(step, argument)

    def _refused(self, action: Action | None) -> TypeGuard[Action]:
        """Whether the script answers this step with a failure instead of running it."""
        reply = action.reply if action is not None else None
        return reply is not None and is_failure(self._core.persona, reply)

    async def _answer(self, outcome: Outcome, action: Action | None = None) -> bytes:
        """Sends the persona's reply, or the script's wording of it; returns what was sent."""
        if outcome.situation is None or self._closing:
            return b""
        if action is not None and action.reply is not None:
            data = render(self._core.persona, action.reply, outcome.fields)
        else:
            data = self._rendered(outcome)
        await self._send(data, action.faults if action is not None else ())
        if outcome.next is Next.CLOSE:
            self.close()
        return data

    def _rendered(self, outcome: Outcome) -> bytes:
        """The persona's reply; replies that depend only on the connection are kept."""
        situation = outcome.situation
        if situation is None:
            return b""
        if outcome.fields is not self._conversation.fields:
            return self._core.persona.render(situation, outcome.fields)
        data = self._replies.get(situation)
        if data is None:
            data = self._replies[situation] = self._core.persona.render(situation, outcome.fields)
        return data

    async def _refuse(self, action: Action) -> None:
        """Sends a scripted failure instead of running the command (see scripting.script)."""
        if action.reply is None:
            return
        persona = self._core.persona
        await self._send(render(persona, action.reply, self._conversation.fields), action.faults)
        if closes(persona, action.reply):
            self.close()

    async def _send(self, data: bytes, faults: tuple[Fault, ...] = ()) -> None:
        if self._closing:
            return
        connection = self._connection
        if faults and connection is not None:
            # The transcript shows what reached the wire (see _written), and why.
            detail = "; ".join(repr(fault) for fault in faults)
            self._core.event(connection, "fault", detail)
        await self._writer_path.write(data, faults)
        if self._writer_path.closed_by_fault:
            self._closing = True

    async def _write(self, data: bytes) -> None:
        # aiosmtpd's own writer, as its push() uses it, without push()'s added CRLF.
        self._written(data)
        self._writer.write(data)
        await self._writer.drain()

    def _written(self, data: bytes) -> None:
        """Accounts for bytes handed to the transport: reply codes and transcript lines."""
        connection = self._connection
        if connection is None:
            return
        for line in self._output.feed(data):
            self._account(connection, line)

    def _account(self, connection: Connection, line: bytes) -> None:
        if line[3:4] in {b" ", b"\r", b"\n", b""} and line[:3].isdigit():
            connection.reply_codes.append(int(line[:3]))  # the last line of a reply
        if self._core.watching_lines:
            self._core.line(connection, Direction.SERVER, line)

    def _on_idle(self) -> None:
        self._idle_timer = None
        if self._closing or self.transport is None:
            return
        left = self._last_heard + self._core.idle_timeout_s - self.loop.time()
        if left > 0:
            self._idle_timer = self.loop.call_later(left, self._on_idle)
            return
        outcome = self._conversation.idle_timeout()
        data = self._core.persona.render(Situation.IDLE_TIMEOUT, outcome.fields)
        self._written(data)
        if isinstance(self.transport, asyncio.WriteTransport):
            self.transport.write(data)
        self.close()

    def _restart_idle_timer(self) -> None:
        # One timer per connection, moved forward lazily: each arrival only notes the time,
        # and the timer, when it fires early, sets itself again for the time left.
        self._last_heard = self.loop.time()
        if self._idle_timer is None and not self._closing:
            self._idle_timer = self.loop.call_later(self._core.idle_timeout_s, self._on_idle)

    # ------------------------------------------------------------------ reporting

    @property
    def _conversation(self) -> Conversation:
        if self._connection is None:
            raise RuntimeError("no connection yet")
        return self._connection.conversation

    def _consume_command_line(self, *, secret: bool = False) -> bytes:
        line = self._inbound.take_line()
        self._report_client(line, secret=secret)
        return line

    def _take_inbound_line(self) -> bytes:
        return self._inbound.take_line()

    def _report_client(self, data: bytes, *, secret: bool = False) -> None:
        connection = self._connection
        if data and connection is not None and self._core.watching_lines:
            self._core.line(connection, Direction.CLIENT, data, secret=secret)

    def _note_discarded(self, what: str) -> None:
        connection = self._connection
        if connection is not None:
            self._core.event(connection, "discarded", f"{what}: read, not kept, not recorded")

    def _note_tls(self, transport: asyncio.BaseTransport) -> None:
        connection = self._connection
        ssl_object = transport.get_extra_info("ssl_object")
        if connection is None or not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
            return
        connection.tls_version = ssl_object.version()
        cipher = ssl_object.cipher()
        connection.tls_cipher = cipher[0] if cipher else None
        self._core.event(connection, "tls", f"{connection.tls_version} {connection.tls_cipher}")

    def _tls_upgraded(self, transport: asyncio.BaseTransport) -> None:
        # aiosmtpd has just thrown away plaintext the client pipelined after STARTTLS
        # (RFC 3207 §4.2, the STARTTLS command-injection attack); so do we.
        discarded = self._inbound.clear()
        connection = self._connection
        if connection is None:
            return
        if discarded:
            self._core.event(connection, "discarded", f"{len(discarded)} bytes sent before TLS")
        self._note_tls(transport)
        connection.conversation.tls_started()


_VERB_METHODS = sorted(name for name in vars(_GmailSMTP) if name.startswith("smtp_"))


class ProtocolFactory:
    """Makes the protocol for each connection of one listener, and can close them all.

    Args:
        core: the server's shared state.
        listener: the kind of port this factory serves.
        loop: the server's event loop.
    """

    def __init__(
        self, core: ServerCore, listener: Listener, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._core = core
        self._listener = listener
        self._loop = loop
        self._live: set[_GmailSMTP] = set()

    def __call__(self) -> asyncio.Protocol:
        return _GmailSMTP(self._core, self._listener, self._loop, self._live)

    async def close_all(self, *, timeout_s: float) -> None:
        """Drops every open connection and waits, at most ``timeout_s``, until they are gone.

        Aborting rather than closing: a TLS close waits for the client's close_notify,
        which an idle client never sends, and shutdown must not wait for clients.
        """
        protocols = list(self._live)
        for protocol in protocols:
            protocol.abort()
        if protocols:
            await asyncio.wait([protocol.lost for protocol in protocols], timeout=timeout_s)

    @property
    def open_connections(self) -> int:
        return len(self._live)
