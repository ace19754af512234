"""The Python API: a fake Gmail that runs in a background thread.

::

    with FakeGmail() as gmail:
        with smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context()) as smtp:
            smtp.login(*gmail.credentials)
            smtp.send_message(message)
        [captured] = gmail.outbox.wait_for(1)

Everything a server is configured with is one :class:`ServerOptions` value, shared by this
class, the ``fakeserver serve`` command and the pytest plugin.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from client.transcript.model import Transcript
from fakeserver.errors import ConfigurationError, ServerThreadError, UnmetExpectation
from fakeserver.personas.loader import load_persona
from fakeserver.personas.model import Listener, Persona, Situation
from fakeserver.scripting.script import Script
from fakeserver.server.observers import Observer
from fakeserver.server.options import HttpServer, ServerOptions
from fakeserver.server.outbox import Outbox
from fakeserver.server.sessions import SessionList
from fakeserver.server.state import ServerState
from fakeserver.server.transcript_files import TranscriptFiles
from fakeserver.session.accounts import Accounts
from fakeserver.session.policy import Usage
from fakeserver.session.records import CapturedMessage, SessionRecord
from fakeserver.session.session import Session, SessionSetup
from fakeserver.transport.aiosmtpd_adapter import Connection
from fakeserver.transport.connections import ProtocolFactory
from fakeserver.transport.lifecycle import Lifecycle
from fakeserver.transport.loop import Address
from fakeserver.transport.runner import Runner
from fakeserver.transport.tls import (
    client_context,
    default_certificates,
    plan_handshakes,
    server_context,
    with_names,
)

__all__ = ["FakeGmail", "ServerOptions"]

_EXPLAINED = 5
"""Closed connections a failed wait for mail describes, the last ones."""


class FakeGmail(Lifecycle):
    """A fake Gmail submission server on loopback, in a background thread, or another
    provider's with ``ServerOptions(persona="office365")`` (``"ses"``, ``"sendgrid"``...).

    Args:
        options: how to set it up (see :class:`ServerOptions`).
        observers: extra watchers of every conversation (the CLI's live log uses this).

    Raises:
        ConfigurationError: the options ask the persona for something it has no evidence for
            (a daily quota on a provider whose quota reply nobody recorded), or the persona
            file is broken (``PersonaError``).
    """

    def __init__(
        self, options: ServerOptions | None = None, *, observers: Sequence[Observer] = ()
    ) -> None:
        self.options = options or ServerOptions()
        self.persona = _persona(self.options.persona)
        _check_persona_can(self.persona, self.options)
        self.certificates = with_names(
            self.options.certificates or default_certificates(), tuple(self.options.cert_names)
        )
        self.outbox = Outbox(maildir=self.options.maildir, explain=self._connections_so_far)
        behaviour = self.persona.behaviour
        self._script = script = Script(persona=self.persona)
        self._usage = Usage(time.time)
        # A context of its own, so that its TLS faults touch no other server.
        tls_context = server_context(self.certificates)
        watchers = list(observers)
        self.http: HttpServer | None = None
        if self.options.http is not None:
            self.http = self.options.http.serve(self)  # reads nothing of self until started
            watchers.append(self.http.observer)
        if self.options.record_dir is not None:
            watchers.append(TranscriptFiles(self.options.record_dir))
        setup = SessionSetup(
            persona=self.persona,
            accounts=Accounts(self.options.accounts),
            policy=self.options.policy,
            usage=self._usage,
            script=script,
            clock=time.time,
            record_transcripts=self.options.record_transcripts
            or self.options.record_dir is not None,
            error_delay_s=behaviour.error_delay_s if self.options.error_delays else 0.0,
        )
        idle_timeout_s = self.options.idle_timeout_s or behaviour.idle_timeout_s
        self._state = state = ServerState(
            persona=self.persona,
            make_session=functools.partial(Session, setup),
            outbox=self.outbox,
            idle_timeout_s=idle_timeout_s,
            strict=self.options.strict,
            history_limit=self.options.history_limit,
            observers=watchers,
            seed=self.options.seed,
        )
        plan_handshakes(
            tls_context,
            self.certificates,
            script.handshake_plan,
            self._state.report_error,
        )
        self._specs = self.options.listener_specs(self.persona)

        def connections(listener: Listener, loop: asyncio.AbstractEventLoop) -> ProtocolFactory:
            return ProtocolFactory(
                functools.partial(Connection, state, listener, tls_context, loop),
                implicit_tls=listener.implicit_tls,
                tls_context=tls_context,
                loop=loop,
                idle_timeout_s=idle_timeout_s,
            )

        self._runner = Runner(self._specs, connections)
        self._addresses: dict[Listener, Address] = {}
        self.started_in_s: float | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Starts listening; returns self. Raises ConfigurationError if a port is taken."""
        started = time.perf_counter()
        bound = self._runner.start()
        self._addresses = {
            spec.listener: address for spec, address in zip(self._specs, bound, strict=True)
        }
        if self.http is not None:
            try:
                self.http.start()
            except BaseException:
                self._runner.stop()
                raise
        self.started_in_s = time.perf_counter() - started
        return self

    def stop(self) -> None:
        """Closes every connection and the listeners. Safe to call twice."""
        if self.http is not None:
            self.http.stop()
        self._runner.stop()

    # ------------------------------------------------------------------ where and how to connect

    @property
    def listeners(self) -> dict[Listener, Address]:
        """Every listener that is bound, by kind: ``{Listener.SMTPS: (host, port), ...}``."""
        if not self._runner.running:
            raise RuntimeError("the server is not running; use start() or a with block")
        return dict(self._addresses)

    @property
    def smtps(self) -> Address:
        """The implicit-TLS listener (like 465): ``(host, port)``.

        Raises:
            ConfigurationError: the persona's provider has no implicit-TLS port (Microsoft 365).
        """
        return self._address(Listener.SMTPS)

    @property
    def submission(self) -> Address:
        """The STARTTLS listener (like 587): ``(host, port)``."""
        return self._address(Listener.SUBMISSION)

    @property
    def plain(self) -> Address:
        """The optional port-25-like listener; raises if ``plain_port`` was not set."""
        return self._address(Listener.PLAIN)

    @property
    def credentials(self) -> tuple[str, str]:
        """``(user, password)`` of the first account, ready for ``smtplib.SMTP.login``."""
        if not self.options.accounts:
            raise ConfigurationError("accounts", "this server has no account to log in with")
        account = self.options.accounts[0]
        return account.username, account.password

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate to trust, PEM-encoded."""
        return self.certificates.ca_pem

    def client_context(self) -> ssl.SSLContext:
        """A new client context that trusts this server's CA and checks host names."""
        return client_context(self.certificates)

    # ------------------------------------------------------------------ what happened

    @property
    def messages(self) -> list[CapturedMessage]:
        """The accepted messages so far (a snapshot of ``outbox``)."""
        return self.outbox.messages

    @property
    def transcripts(self) -> list[Transcript]:
        """Transcripts of the connections closed so far (AUTH payloads redacted)."""
        return self._state.transcripts

    def wait_for_transcripts(self, count: int = 1, timeout_s: float = 5.0) -> list[Transcript]:
        """Waits until ``count`` connections have closed and returns their transcripts.

        A connection's transcript is complete only once the server has seen it close, which
        can be a moment after the client's QUIT; wait for it rather than sleeping.

        Raises:
            TimeoutError: fewer connections closed within ``timeout_s``.
        """
        self._state.wait_for_sessions(count, timeout_s)
        return self._state.transcripts

    @property
    def sessions(self) -> SessionList:
        """What the client did on each closed connection, with assertions on it."""
        return self._state.sessions

    @property
    def open_sessions(self) -> list[SessionRecord]:
        """The connections still open, each as far as it has got (``ended`` is None): what a
        client is doing now, for a test or the inbox."""
        return self._state.open_sessions

    def _connections_so_far(self) -> str:
        """What the connections did, for a wait for mail that ran out: the last few closed
        ones and every open one, or where the fake listened when no client came."""
        closed, still_open = self._state.sessions[-_EXPLAINED:], self.open_sessions
        if not closed and not still_open:
            where = ", ".join(
                f"{address.host} port {address.port} ({listener.value})"
                for listener, address in self._addresses.items()
            )
            return f"; no client connected (the fake listens on {where})"
        lines = [record.describe() for record in [*closed, *still_open]]
        return "; the connections:" + "".join(f"\n  {line}" for line in lines)

    def wait_for_sessions(self, count: int = 1, timeout_s: float = 5.0) -> SessionList:
        """Waits until ``count`` connections have closed; see :mod:`fakeserver.server.sessions`.

        Raises:
            TimeoutError: fewer connections closed within ``timeout_s``.
        """
        return self._state.wait_for_sessions(count, timeout_s)

    @property
    def script(self) -> Script:
        """Scripted replies for this server: ``gmail.script.on("rcpt", nth=2).reply(...)``."""
        return self._script

    @property
    def errors(self) -> list[BaseException]:
        """Errors raised inside the server thread so far."""
        return self._state.errors

    def check(self) -> None:
        """Re-raises, in the calling thread, what went wrong for this test.

        That is: errors raised in the server thread, commands Gmail does not know (when the
        options are strict), and scripted replies with a limited lifetime that were not used
        up. They are forgotten once raised.

        Raises:
            ServerThreadError: with every problem in its ``errors`` list.
        """
        errors = self._state.take_errors()
        unmet = self._script.unmet()
        if unmet:
            errors.append(UnmetExpectation(unmet))
            self._script.clear()
        if errors:
            raise ServerThreadError(errors)

    def reseed(self, seed: int) -> None:
        """Makes what follows repeatable from ``seed``: session ids, and the draws of
        scripted faults and replies with a ``probability``."""
        self._state.reseed(seed)
        self._script.reseed(seed)

    def reset(self) -> None:
        """Makes the running server as good as new for the next test.

        Drops open connections, and forgets messages, sessions, transcripts, errors and the
        script. Connections and their counters start afresh; ports and certificates stay.
        """
        self._runner.abort_connections()
        self.outbox.clear()
        self._state.clear_history()
        self._state.take_errors()
        self._script.clear()
        self._usage.clear()
        if self.http is not None:
            self.http.on_reset()

    def _address(self, listener: Listener) -> Address:
        address = self._addresses.get(listener)
        if address is None and listener not in self.persona.listeners:
            kinds = ", ".join(kind.value for kind in self.persona.listeners)
            raise ConfigurationError(
                f"{listener.value} listener",
                f"the {self.persona.name} persona's provider has no such port; it has {kinds} "
                "(FakeGmail.listeners gives what is bound)",
            )
        if address is None:
            if not self._runner.running:
                raise RuntimeError("the server is not running; use start() or a with block")
            raise ConfigurationError(f"{listener.value} listener", "not enabled on this server")
        return address


def _persona(source: str | Path | Persona) -> Persona:
    return source if isinstance(source, Persona) else load_persona(source)


def _check_persona_can(persona: Persona, options: ServerOptions) -> None:
    """Refuses options whose rules would need a reply the persona has no evidence for."""
    policy = options.policy
    needs = [
        ("policy.daily_quota", policy.daily_quota is not None, Situation.DAILY_QUOTA),
        ("policy.rate_limit_per_minute", policy.rate_limit_per_minute is not None,
         Situation.RATE_LIMITED),
        ("policy.auth_failure_limit", policy.auth_failure_limit is not None,
         Situation.TOO_MANY_LOGINS),
        ("accounts (requires_app_password)",
         any(account.requires_app_password for account in options.accounts),
         Situation.APP_PASSWORD_REQUIRED),
    ]  # fmt: skip
    for setting, used, situation in needs:
        if used and not persona.has(situation):
            raise ConfigurationError(
                setting,
                f"the {persona.name} persona has no evidence for {situation.value}, so it "
                "cannot answer it; leave the setting off, or script the reply you expect",
            )
