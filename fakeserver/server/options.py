"""Everything a fake server is set up with, as one value.

:class:`ServerOptions` is shared by ``FakeGmail``, the ``fakeserver serve`` command, the
pytest plugin and experiments, so a setting means the same wherever it is given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fakeserver.errors import AccountError, ConfigurationError
from fakeserver.personas.model import Listener, Persona
from fakeserver.scripting.scenario import Scenario
from fakeserver.server.observers import Observer
from fakeserver.session.accounts import DEFAULT_ACCOUNT, Account
from fakeserver.session.policy import Policy
from fakeserver.transport.runner import ListenerSpec
from fakeserver.transport.tls import Certificates, server_name

__all__ = ["HttpServer", "HttpServing", "ServerOptions", "parse_account"]


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

    def apply_scenario(self, scenario: Scenario) -> None:
        """Adds a scenario file's rules to the fake's script, listed by the API as its own."""
        ...


class HttpServing(Protocol):
    """How to serve a fake over HTTP: :class:`fakeserver.http.HttpOptions`."""

    def serve(self, fake: Any) -> HttpServer:
        """Makes the HTTP server of ``fake`` (a ``FakeGmail``; typed loosely because the options
        come before the server that takes them)."""
        ...


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """How a fake server is set up. Every field has a safe default.

    Attributes:
        host: the address to listen on; loopback unless you mean otherwise.
        smtps_port: implicit-TLS port (like 465); 0 picks a free one. Not bound for a persona
            whose provider has none (Microsoft 365).
        submission_port: STARTTLS port (like 587); 0 picks a free one.
        plain_port: an extra port like 25 (which at Gmail behaves like 587), or None.
        accounts: who may log in.
        persona: the persona's name (``"gmail"``, ``"gmail-2024"``, ``"office365"``, ``"ses"``,
            ``"sendgrid"``; ``fakeserver personas`` lists them), a path to a persona TOML file,
            or a loaded Persona.
        policy: optional behaviours (daily quota, rate limit, login limit).
        certificates: the CA and server certificate; None uses a per-process in-memory one.
        cert_names: more names the server certificate holds, for a client that checks the
            name it connects by (an SES region's ``email-smtp.us-east-1.amazonaws.com``, a
            relay's); the certificate then comes from the same CA, so what trusts it still
            does.
        maildir: also store accepted messages in this Maildir.
        idle_timeout_s: silence after which the server sends the persona's idle-timeout reply
            and closes; None: the persona's own (Gmail: 10 to 15 minutes).
        error_delays: wait before error replies as the persona's provider does (Microsoft 365:
            about 5 s); False answers at once.
        record_transcripts: keep a transcript of every connection in ``transcripts``.
        record_dir: also write each connection's transcript into this directory.
        history_limit: keep at most this many closed connections (and their transcripts),
            forgetting the oldest first; None keeps them all (a test's server is reset between
            tests anyway).
        strict: a command the persona does not know is an error that ``check()`` raises,
            since it is usually a bug in the client under test.
        seed: seeds the generator of session ids and the persona's other identifiers, for
            repeatable runs.
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
    cert_names: Sequence[str] = ()
    maildir: Path | None = None
    idle_timeout_s: float | None = None
    error_delays: bool = True
    record_transcripts: bool = True
    record_dir: Path | None = None
    history_limit: int | None = None
    strict: bool = True
    seed: int | None = None
    http: HttpServing | None = None

    def __post_init__(self) -> None:
        # A tuple keeps the options hashable, so the pytest plugin can share servers.
        object.__setattr__(self, "accounts", tuple(self.accounts))
        if isinstance(self.cert_names, str):
            raise ConfigurationError("cert_names", "give a sequence of names, not one string")
        try:
            names = tuple(server_name(name) for name in self.cert_names)
        except ValueError as error:
            raise ConfigurationError("cert_names", str(error)) from None
        object.__setattr__(self, "cert_names", names)
        if self.idle_timeout_s is not None and not self.idle_timeout_s > 0:
            raise ConfigurationError(
                "idle_timeout_s", f"{self.idle_timeout_s} must be a positive number of seconds"
            )

    def replace(self, **changes: object) -> ServerOptions:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def with_scenario(self, scenario: Scenario, *, keep: Collection[str] = ()) -> ServerOptions:
        """A copy with the settings a scenario file gives (``seed``, ``idle_timeout_s``), except
        the fields named in ``keep`` (the command line's own, which win)."""
        changes: dict[str, object] = {}
        if scenario.seed is not None and "seed" not in keep:
            changes["seed"] = scenario.seed
        if scenario.idle_timeout_s is not None and "idle_timeout_s" not in keep:
            changes["idle_timeout_s"] = scenario.idle_timeout_s
        return self.replace(**changes) if changes else self

    def listener_specs(self, persona: Persona) -> list[ListenerSpec]:
        """Where to listen: the implicit-TLS and STARTTLS ports the persona's provider has, and
        the port like 25 when ``plain_port`` asks for it.

        Raises:
            ConfigurationError: ``plain_port`` is set for a provider without such a port.
        """
        ports = ((Listener.SMTPS, self.smtps_port), (Listener.SUBMISSION, self.submission_port))
        specs = [
            ListenerSpec(listener, self.host, port)
            for listener, port in ports
            if listener in persona.listeners
        ]
        if self.plain_port is not None:
            if Listener.PLAIN not in persona.listeners:
                raise ConfigurationError(
                    "plain_port", f"the {persona.name} persona has no port like 25; leave it unset"
                )
            specs.append(ListenerSpec(Listener.PLAIN, self.host, self.plain_port))
        return specs


def parse_account(spec: str) -> Account:
    """Parses ``USER:PASSWORD`` (the ``--account`` option).

    The password is everything after the first colon, so it may contain colons.

    Raises:
        AccountError: the spec has no colon, or an empty user or password.
    """
    username, colon, password = spec.partition(":")
    if not colon or not username.strip() or not password:
        raise AccountError(
            f"--account {spec!r}", "expected USER:PASSWORD, e.g. --account me@gmail.com:secret"
        )
    return Account(username.strip(), password)
