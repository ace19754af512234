"""The aiosmtpd adapter: the only module that imports aiosmtpd, and it decides nothing.

aiosmtpd supplies the asyncio protocol: it reads command lines (ending in CRLF or a bare LF,
as Gmail accepts), dispatches them to ``smtp_<VERB>`` methods and performs the STARTTLS
handshake. This module turns what aiosmtpd did into events for the connection's
:class:`~fakeserver.session.session.Session`, and carries out the actions the session answers
with (:meth:`Connection._perform`): every word said comes from the session.

The seams used, each a public or de-facto extension point of aiosmtpd 1.4:

- ``smtp_<VERB>`` methods (aiosmtpd documents adding and replacing commands this way): one
  per verb in :data:`fakeserver.session.dialogue.VERBS`, each handing a ``Command`` event on.
- ``push()``: aiosmtpd writes a few replies itself, before any hook can run. Each becomes an
  event (:data:`_CANNED`); an unknown one is reported as an error and becomes
  ``InternalError``:

  ============================================  =========================================
  aiosmtpd says                                 the session is told
  ============================================  =========================================
  ``220 <host> <ident>`` (greeting)             ``Connected``
  ``500 Command line too long``                 ``LineTooLong``
  ``500 Error: bad syntax`` (empty, not ASCII)  ``Unrecognized``
  ``500 Error: command "X" not recognized``     ``Unrecognized``
  ``502 5.5.1 Too many unrecognized ...``       ``Unrecognized`` (aiosmtpd closes)
  ``220 Ready to start TLS``                    nothing: the session's reply went out first
  a handler exception                           ``InternalError`` (the error is recorded)
  ============================================  =========================================

  ``500 Error: strict ASCII mode``, ``530 Must issue a STARTTLS command first`` and ``554
  Command refused due to lack of security`` cannot happen: SMTPUTF8 is on, and
  ``require_starttls`` and the STARTTLS hook are not used.
- ``data_received()`` (asyncio ``Protocol``): sees every inbound byte after TLS decryption;
  it restarts the idle timer when the bytes make progress, and keeps the raw bytes so each
  consumed line reaches the session exactly as the client sent it (case, bare LF and all).
- ``connection_made()`` / ``connection_lost()``: the first call opens the session; a second
  one means the STARTTLS handshake finished (aiosmtpd then makes a new aiosmtpd session). On
  an implicit-TLS port the session opens earlier, when the client connects
  (:mod:`fakeserver.transport.implicit_tls`), and ``connection_made()`` comes once TLS is up.
  A connection lost during a handshake tells the session why (``TLSFailed``).
- ``_reader`` and ``_writer``: the stream pair aiosmtpd itself uses. SASL responses, DATA and
  BDAT are read from the reader the way aiosmtpd's own ``auth_*`` methods and ``smtp_DATA``
  do (:mod:`fakeserver.transport.reading`); replies are written to the writer as ``push()``
  does, without its added CRLF, through :class:`~fakeserver.transport.writing.ReplyWriter`.
- ``_handler_coroutine``: the task running aiosmtpd's command loop; a close cancels it, as
  aiosmtpd's own ``smtp_QUIT`` does, and makes ``_reader`` raise so that no line already
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

from aiosmtpd.smtp import SMTP, TLSSetupException

from fakeserver.personas.model import Listener
from fakeserver.session import actions, events
from fakeserver.transport.host import ConnectionSession, SessionHost
from fakeserver.transport.idle import IdleClock
from fakeserver.transport.implicit_tls import Served
from fakeserver.transport.reading import Inbound, Lost, read_chunk, read_data, read_line
from fakeserver.transport.tls import failed_handshake, handshake_finished
from fakeserver.transport.writing import ReplyWriter

__all__ = ["Connection", "dispatched_verbs"]

_IDENT = "smtprig-greeting"
_SERVER_ERROR = "smtprig: handler exception"
_CANNED: dict[str, type[events.LineTooLong | events.Unrecognized]] = {
    "500 Command line too long": events.LineTooLong,
    "500 Error: bad syntax": events.Unrecognized,
    "502 5.5.1 Too many unrecognized commands, goodbye.": events.Unrecognized,
}
# aiosmtpd's own idle timeout only backs ours up (ours says the persona's words first).
_BACKSTOP_TIMEOUT_S = 24 * 3600.0
# Pipelined commands answered before the loop is given to other connections.
_COMMANDS_PER_TURN = 32


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


class _Handler:
    """aiosmtpd's handler: only its exception hook is used; replies come from the session."""

    def __init__(self, host: SessionHost) -> None:
        self._host = host

    async def handle_exception(self, error: Exception) -> str:
        if not isinstance(error, TLSSetupException | ConnectionError):
            self._host.report_error(error)
        return _SERVER_ERROR

    def __dir__(self) -> list[str]:
        return ["handle_exception"]  # what aiosmtpd looks for, per connection (see Connection)


class Connection(SMTP):
    """One client connection: aiosmtpd's protocol, talking for a session.

    Args:
        host: the server behind the listener.
        listener: the kind of port it came to.
        tls_context: the server context STARTTLS upgrades with.
        loop: the server's event loop.
        live: the listener's open connections, which this one joins while it is open.
    """

    def __init__(
        self,
        host: SessionHost,
        listener: Listener,
        tls_context: ssl.SSLContext,
        loop: asyncio.AbstractEventLoop,
        live: set[Served],
    ) -> None:
        limit = host.command_line_limit
        # aiosmtpd reads these in __init__ (the StreamReader limit) and per command.
        self.line_length_limit = limit
        self.command_size_limit = limit - 2  # aiosmtpd measures the line without CRLF
        super().__init__(
            _Handler(host),
            hostname=host.hostname,
            ident=_IDENT,
            tls_context=None if listener.implicit_tls else tls_context,
            enable_SMTPUTF8=True,
            data_size_limit=None,
            timeout=_BACKSTOP_TIMEOUT_S,
            loop=loop,
        )
        self._host = host
        self._listener = listener
        self._live = live
        self._session: ConnectionSession | None = None
        # Kept always: it also tells whether the client pipelined.
        self._inbound = Inbound(limit)
        self._idle = IdleClock(loop, host.idle_timeout_s, self._on_idle)
        self._arrived = asyncio.Event()  # set when bytes come (or the connection ends)
        self._burst = 0  # commands run back to back without waiting for the client
        self._closing = False
        self._aborted = False
        self._starting_tls = False  # a STARTTLS handshake is under way
        self._clear: asyncio.BaseTransport | None = None  # implicit TLS, before it is up
        self.lost: asyncio.Future[None] = loop.create_future()
        self._replies = ReplyWriter(
            self._write,
            self._written,
            lambda: self.transport,
            self.lost,
            lambda: bool(self._inbound),
            self._inbound.has_line,
        )

    def _reset_timeout(self, duration: float | None = None) -> None:
        # aiosmtpd moves its own idle timer on every command; ours (the IdleClock)
        # does the job, so its backstop is armed once, at the start, and left alone.
        if self._timeout_handle is None:
            super()._reset_timeout(duration)

    def __dir__(self) -> list[str]:
        # aiosmtpd's __init__ runs inspect.getmembers(self) and dir(self) on every
        # connection, only to find the smtp_* and auth_* names; listing just the verbs
        # saves about a millisecond per connection. (No auth_* hooks: AUTH is the session's.)
        return _VERB_METHODS

    # ------------------------------------------------------------------ asyncio protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        upgrading = self._session is not None and not self._listener.implicit_tls
        super().connection_made(transport)
        if upgrading:
            # aiosmtpd has just thrown away plaintext the client pipelined after STARTTLS
            # (RFC 3207 §4.2, the STARTTLS command-injection attack); so do we.
            self._starting_tls = False
            discarded = len(self._inbound.clear())
            self._tell(handshake_finished(transport, discarded))
            return
        if self._session is None:
            self.connection_started(transport)
        if self._listener.implicit_tls:
            self._clear = None
            self._tell(handshake_finished(transport))
        self._idle.restart()

    def connection_started(self, transport: asyncio.BaseTransport) -> None:
        """Opens the session: the client connected (an implicit-TLS handshake starts now)."""
        if self._listener.implicit_tls:
            self._clear = transport  # until TLS is up, what abort() drops
        peer = transport.get_extra_info("peername") or ("", 0)
        self._session = self._host.open_session(self._listener, (peer[0], peer[1]))
        self._live.add(self)

    def handshake_failed(self, failure: events.TLSFailed) -> None:
        """The implicit-TLS handshake failed and the connection is closed."""
        if self._clear is None:
            return  # TLS is up: the handshake did not fail
        self._clear = None
        if not self._aborted:
            self._tell(failure)
        self._gone()

    def data_received(self, data: bytes) -> None:
        self._idle.heard(data)
        self._arrived.set()
        self._inbound.feed(data)
        super().data_received(data)

    def eof_received(self) -> bool:
        # aiosmtpd cancels its command loop on EOF, and the loop closes the connection as it
        # ends; but a client that shuts its side as it connects can be heard before the loop
        # has first run, and a task cancelled before it starts closes nothing. False tells
        # the transport to close itself (after what is already written) in every case.
        super().eof_received()
        return False

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        if self._starting_tls and not self._aborted:  # aiosmtpd passes its TLSSetupException
            cause = error.__cause__ if isinstance(error, TLSSetupException) else error
            tls = getattr(self._tls_protocol, "_sslobj", None)  # aiosmtpd's, asyncio's
            self._tell(failed_handshake(cause, tls))
        self._gone()

    def _gone(self) -> None:
        self._closing = True
        self._arrived.set()
        self._idle.stop()
        self._live.discard(self)
        if not self.lost.done():
            self.lost.set_result(None)
        if self._session is not None:
            unread = len(self._inbound.clear())
            self._tell(events.ConnectionLost(unread=unread, aborted=self._aborted))

    def close(self, *, reset: bool = False) -> None:
        """Closes after the pending output is written (and TLS says goodbye), or resets."""
        self._closing = True
        if reset:
            self._replies.close(reset=True)
        else:
            self._replies.write_now(b"")
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
        self._aborted = True
        transport = self.transport or self._clear
        if transport is not None:
            transport.abort()  # type: ignore[attr-defined]  # a socket's or TLS transport

    # ------------------------------------------------------------------ aiosmtpd's replies

    async def push(self, status: str | bytes) -> None:
        if self._closing:
            return  # aiosmtpd still parses buffered lines after a close; they get nothing
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        if text == f"220 {self.hostname} {_IDENT}":
            await self._perform(self._tell(events.Connected()))
        elif text == "220 Ready to start TLS":
            pass  # the session's 220 went out before the StartTLS action
        elif text == _SERVER_ERROR:
            await self._perform(self._tell(events.InternalError()))
        else:
            # Every other canned reply answers a command line aiosmtpd consumed itself.
            kind = _CANNED.get(text)
            if kind is None and text.startswith('500 Error: command "'):
                kind = events.Unrecognized
            if kind is None:
                self._host.report_error(RuntimeError(f"aiosmtpd sent an unmapped reply: {text!r}"))
                await self._perform(self._tell(events.InternalError()))
                return
            await self._perform(self._tell(kind(self._inbound.take_line())))

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
        line = self._inbound.take_line()
        more_waiting = bool(self._inbound)
        await self._perform(
            self._tell(events.Command(verb, (argument or "").strip(), line, more_waiting))
        )
        # aiosmtpd reads a command that has already arrived without waiting, so a client that
        # pipelines thousands of commands in one write would hold the loop (and every other
        # connection) until the last is answered: give the others a turn now and then.
        self._burst = self._burst + 1 if more_waiting else 0
        if self._burst >= _COMMANDS_PER_TURN:
            self._burst = 0
            await asyncio.sleep(0)

    # ------------------------------------------------------------------ the session's actions

    def _tell(self, event: events.Event) -> list[actions.Action]:
        if self._session is None:
            raise RuntimeError("no session yet")
        return self._session.handle(event)

    @property
    def _records_lines(self) -> bool:
        return self._session is not None and self._session.records_lines

    async def _perform(self, todo: list[actions.Action]) -> None:
        """Carries out the session's actions in order; a read's result brings more."""
        if len(todo) == 1 and not self._closing:  # nearly always: one reply, no read
            todo = await self._carry_out(todo[0])
            if not todo:
                return
        pending = list(reversed(todo))
        while pending and not self._closing:
            action = pending.pop()
            pending.extend(reversed(await self._carry_out(action)))

    async def _carry_out(self, action: actions.Action) -> list[actions.Action]:
        # Class patterns without positional captures: those would build a tuple per action.
        match action:
            case actions.Send():
                await self._replies.write(action.plan)
                if self._replies.closed_by_plan:
                    self._closing = True
                return []
            case actions.CloseConnection():
                self.close(reset=action.reset)
                return []
            case actions.StartTLS():
                await self._replies.flush()
                self._starting_tls = True  # until connection_made() says it is done
                # aiosmtpd announces it (see push()) and performs the handshake;
                # connection_made() runs again when it is done.
                await super().smtp_STARTTLS("")
                return []
            case actions.ReadSaslResponse():
                return await self._read_sasl_response(action.limit_octets)
            case actions.ReadMessage():
                return await self._read_message(action.size_limit, action.plan.drop_after_bytes)
            case actions.ReadChunk():
                return await self._read_chunk(action.size, action.keep)

    async def _read_sasl_response(self, limit: int) -> list[actions.Action]:
        await self._replies.flush()
        try:
            line = await read_line(self._reader, limit)
        except asyncio.IncompleteReadError:
            return []
        raw = self._inbound.take_line()
        return self._tell(events.SaslResponse(raw, too_long=line is None))

    async def _read_message(self, size_limit: int, drop_after: int | None) -> list[actions.Action]:
        await self._replies.flush()
        self._idle.in_content = True
        try:
            content = await read_data(
                self._reader,
                self._inbound,
                size_limit=size_limit,
                drop_after=drop_after,
                report=self._client_data if self._records_lines else None,
                more=self._more,
            )
        finally:
            self._idle.in_content = False
        if isinstance(content, Lost):
            return self._tell(events.MessageLost(by_fault=content.by_fault))
        return self._tell(events.MessageReceived(content, more_waiting=bool(self._inbound)))

    async def _read_chunk(self, size: int, keep: bool) -> list[actions.Action]:
        await self._replies.flush()
        report = self._client_data if self._records_lines else None
        self._idle.in_content = True
        try:
            chunk = await read_chunk(self._reader, self._inbound, size, keep=keep, report=report)
        finally:
            self._idle.in_content = False
        if isinstance(chunk, Lost):
            return []
        return self._tell(events.ChunkReceived(chunk))

    async def _more(self) -> None:
        """Waits until the client has sent more (or the connection has ended)."""
        self._arrived.clear()
        await self._arrived.wait()

    def _client_data(self, data: bytes) -> None:
        self._tell(events.ClientData(data))

    # ------------------------------------------------------------------ writing

    async def _write(self, data: bytes) -> None:
        # aiosmtpd's own writer, as its push() uses it, without push()'s added CRLF.
        self._written(data)
        self._writer.write(data)
        await self._writer.drain()

    def _written(self, data: bytes) -> None:
        if self._session is not None:
            self._session.handle(events.Written(data))

    # ------------------------------------------------------------------ idleness

    def _on_idle(self) -> None:
        if self._closing or self.transport is None:
            return
        # From a timer, not the command loop (which may be waiting for the client): the
        # session's reply is handed to the transport at once, then the connection closes.
        for action in self._tell(events.IdleTimeout()):
            if isinstance(action, actions.Send):
                self._replies.write_now(action.plan.data)
            elif isinstance(action, actions.CloseConnection):
                self.close(reset=action.reset)


_VERB_METHODS = sorted(name for name in vars(Connection) if name.startswith("smtp_"))
"""The verbs this adapter dispatches (a test ties them to the session's)."""


def dispatched_verbs() -> list[str]:
    """The SMTP verbs the adapter dispatches to the session (``EHLO``, ``MAIL``...)."""
    return [name.removeprefix("smtp_") for name in _VERB_METHODS]
