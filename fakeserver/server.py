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

import dataclasses
import functools
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Self

from client.transcript import Transcript
from fakeserver._lifecycle import Lifecycle
from fakeserver.accounts import DEFAULT_ACCOUNT, Account, Accounts
from fakeserver.core import Observer, ServerCore
from fakeserver.dialogue import Listener
from fakeserver.errors import ConfigurationError, ServerThreadError, UnmetExpectation
from fakeserver.faults import AbortHandshake, TLSCertificate
from fakeserver.outbox import CapturedMessage, Outbox
from fakeserver.persona import Persona, load_persona
from fakeserver.policy import Policy
from fakeserver.recording import TranscriptFiles
from fakeserver.runner import Address, ListenerSpec, Runner
from fakeserver.script import Script, Step
from fakeserver.sessions import SessionList
from fakeserver.tls import (
    Certificates,
    client_context,
    default_certificates,
    fault_context,
    server_context,
)

__all__ = ["FakeGmail", "HttpServer", "HttpServing", "ServerOptions"]


class HttpServer(Protocol):
    """What a fake asks of the HTTP API it serves (:mod:`fakeserver.http`), which this module
    never imports: the web stack loads only when ``ServerOptions(http=...)`` asks for it."""

    @property
    def observer(self) -> Observer: ...

    @property
    def url(self) -> str: ...

    def start(self) -> object: ...

    def stop(self) -> None: ...

    def on_reset(self) -> None: ...


class HttpServing(Protocol):
    """How to serve a fake over HTTP: :class:`fakeserver.http.HttpOptions`."""

    def serve(self, gmail: FakeGmail) -> HttpServer: ...


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """How a fake Gmail is set up. Every field has a safe default.

    Attributes:
        host: the address to listen on; loopback unless you mean otherwise.
        smtps_port: implicit-TLS port (like 465); 0 picks a free one.
        submission_port: STARTTLS port (like 587); 0 picks a free one.
        plain_port: an extra port like 25 (which at Gmail behaves like 587), or None.
        accounts: who may log in.
        persona: the persona's name, a path to a persona TOML file, or a loaded Persona.
        policy: optional Gmail behaviours (daily quota, rate limit, login limit).
        certificates: the CA and server certificate; None uses a per-process in-memory one.
        maildir: also store accepted messages in this Maildir.
        idle_timeout_s: silence after which the server sends 451 4.4.2 and closes
            (Gmail: 10 to 15 minutes).
        record_transcripts: keep a transcript of every connection in ``transcripts``.
        record_dir: also write each connection's transcript into this directory.
        strict: a command Gmail does not know is an error that ``check()`` raises, since
            it is usually a bug in the client under test.
        seed: seeds the session-id generator, for repeatable runs.
        http: also serve the HTTP API and web inbox, e.g. ``fakeserver.http.HttpOptions()``;
            None: not.
    """

    host: str = "127.0.0.1"
    smtps_port: int = 0
    submission_port: int = 0
    plain_port: int | None = None
    accounts: Sequence[Account] = (DEFAULT_ACCOUNT,)
    persona: str | Path | Persona = "gmail"
    policy: Policy = field(default_factory=Policy)
    certificates: Certificates | None = None
    maildir: Path | None = None
    idle_timeout_s: float = 600.0
    record_transcripts: bool = True
    record_dir: Path | None = None
    strict: bool = True
    seed: int | None = None
    http: HttpServing | None = None

    def __post_init__(self) -> None:
        # A tuple keeps the options hashable, so the pytest plugin can share servers.
        object.__setattr__(self, "accounts", tuple(self.accounts))
        if not self.idle_timeout_s > 0:
            raise ConfigurationError(
                "idle_timeout_s", f"{self.idle_timeout_s} must be a positive number of seconds"
            )

    def replace(self, **changes: object) -> ServerOptions:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def listener_specs(self) -> list[ListenerSpec]:
        specs = [
            ListenerSpec(Listener.SMTPS, self.host, self.smtps_port),
            ListenerSpec(Listener.SUBMISSION, self.host, self.submission_port),
        ]
        if self.plain_port is not None:
            specs.append(ListenerSpec(Listener.PLAIN, self.host, self.plain_port))
        return specs


class FakeGmail(Lifecycle):
    """A fake Gmail submission server on loopback, in a background thread.

    Args:
        options: how to set it up (see :class:`ServerOptions`).
        observers: extra watchers of every conversation (the CLI's live log uses this).
    """

    def __init__(
        self, options: ServerOptions | None = None, *, observers: Sequence[Observer] = ()
    ) -> None:
        self.options = options or ServerOptions()
        self.persona = _persona(self.options.persona)
        self.certificates = self.options.certificates or default_certificates()
        self.outbox = Outbox(maildir=self.options.maildir)
        # A context of its own, so that its TLS faults touch no other server.
        tls_context = server_context(self.certificates)
        tls_context.sni_callback = self._on_handshake
        watchers = list(observers)
        self.http: HttpServer | None = None
        if self.options.http is not None:
            self.http = self.options.http.serve(self)  # reads nothing of self until started
            watchers.append(self.http.observer)
        if self.options.record_dir is not None:
            watchers.append(TranscriptFiles(self.options.record_dir))
        self._core = ServerCore(
            persona=self.persona,
            accounts=Accounts(self.options.accounts),
            policy=self.options.policy,
            outbox=self.outbox,
            tls_context=tls_context,
            idle_timeout_s=self.options.idle_timeout_s,
            record_transcripts=self.options.record_transcripts
            or self.options.record_dir is not None,
            script=Script(),
            strict=self.options.strict,
            observers=watchers,
            seed=self.options.seed,
        )
        self._runner = Runner(self._core, self.options.listener_specs())
        self._addresses: dict[Listener, Address] = {}
        self.started_in_s: float | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Starts listening; returns self. Raises ConfigurationError if a port is taken."""
        started = time.perf_counter()
        bound = self._runner.start()
        self._addresses = {
            spec.listener: address
            for spec, address in zip(self.options.listener_specs(), bound, strict=True)
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
    def smtps(self) -> Address:
        """The implicit-TLS listener (like 465): ``(host, port)``."""
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
        return self._core.transcripts

    def wait_for_transcripts(self, count: int = 1, timeout_s: float = 5.0) -> list[Transcript]:
        """Waits until ``count`` connections have closed and returns their transcripts.

        A connection's transcript is complete only once the server has seen it close, which
        can be a moment after the client's QUIT; wait for it rather than sleeping.

        Raises:
            TimeoutError: fewer connections closed within ``timeout_s``.
        """
        self._core.wait_for_sessions(count, timeout_s)
        return self._core.transcripts

    @property
    def sessions(self) -> SessionList:
        """What the client did on each closed connection, with assertions on it."""
        return self._core.sessions

    def wait_for_sessions(self, count: int = 1, timeout_s: float = 5.0) -> SessionList:
        """Waits until ``count`` connections have closed; see :mod:`fakeserver.sessions`.

        Raises:
            TimeoutError: fewer connections closed within ``timeout_s``.
        """
        return self._core.wait_for_sessions(count, timeout_s)

    @property
    def script(self) -> Script:
        """Scripted replies for this server: ``gmail.script.on("rcpt", nth=2).reply(...)``."""
        return self._core.script

    @property
    def errors(self) -> list[BaseException]:
        """Errors raised inside the server thread so far."""
        return self._core.errors

    def check(self) -> None:
        """Re-raises, in the calling thread, what went wrong for this test.

        That is: errors raised in the server thread, commands Gmail does not know (when the
        options are strict), and scripted replies with a limited lifetime that were not used
        up. They are forgotten once raised.

        Raises:
            ServerThreadError: with every problem in its ``errors`` list.
        """
        errors = self._core.take_errors()
        unmet = self._core.script.unmet()
        if unmet:
            errors.append(UnmetExpectation(unmet))
            self._core.script.clear()
        if errors:
            raise ServerThreadError(errors)

    def reseed(self, seed: int) -> None:
        """Makes what follows repeatable from ``seed``: session ids, and the draws of
        scripted faults and replies with a ``probability``."""
        self._core.reseed(seed)
        self._core.script.reseed(seed)

    def reset(self) -> None:
        """Makes the running server as good as new for the next test.

        Drops open connections, and forgets messages, sessions, transcripts, errors and the
        script. Connections and their counters start afresh; ports and certificates stay.
        """
        self._runner.abort_connections()
        self.outbox.clear()
        self._core.clear_history()
        self._core.take_errors()
        self._core.script.clear()
        self._core.usage.clear()
        if self.http is not None:
            self.http.on_reset()

    def _on_handshake(
        self, ssl_object: ssl.SSLObject, server_name: str | None, context: ssl.SSLContext
    ) -> int | None:
        """Applies the script's ``tls`` faults as each handshake starts (OpenSSL's
        servername callback runs for every ClientHello, with or without SNI)."""
        try:
            action = self._core.script.decide(Step.TLS, server_name or "")
            for fault in action.faults if action is not None else ():
                if isinstance(fault, AbortHandshake):
                    return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
                if isinstance(fault, TLSCertificate):
                    ssl_object.context = fault_context(self.certificates, fault.kind)
        except Exception as error:  # never let a fault break the server thread
            self._core.report_error(error)
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        return None

    def _address(self, listener: Listener) -> Address:
        address = self._addresses.get(listener)
        if address is None:
            if not self._runner.running:
                raise RuntimeError("the server is not running; use start() or a with block")
            raise ConfigurationError(f"{listener.value} listener", "not enabled on this server")
        return address


def _persona(source: str | Path | Persona) -> Persona:
    return source if isinstance(source, Persona) else _load_persona(source)


@functools.lru_cache(maxsize=8)
def _load_persona(source: str | Path) -> Persona:
    return load_persona(source)
