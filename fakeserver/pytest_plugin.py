"""The pytest plugin: a fake Gmail in every test, one fixture away.

Installing smtprig registers this module through the ``pytest11`` entry point, so a test
only has to ask for ``fake_gmail``::

    def test_welcome_mail(fake_gmail):
        send_welcome(host=fake_gmail.smtps.host, port=fake_gmail.smtps.port, ...)
        [message] = fake_gmail.outbox.wait_for(1)
        assert message.message["Subject"] == "Welcome"

Fixtures:

``fake_gmail`` (function scope)
    A running :class:`~fakeserver.server.fake.FakeGmail` with an empty outbox, no script and no
    history. At teardown, whatever went wrong in the server thread, a command Gmail does not
    know and an unused limited script fail the test (as an error at teardown).
``fake_server`` (function scope)
    The same, speaking for the persona ``fake_server_persona`` names: ``"gmail"`` unless a test
    parametrizes it, so one test runs against several providers::

        @pytest.mark.parametrize("fake_server_persona", ["office365", "ses", "sendgrid"])
        def test_signup_mail(fake_server):
            host, port = fake_server.submission     # every provider has a STARTTLS port
            ...

    ``fake_server.listeners`` gives the ports the provider has (Microsoft 365 has no
    implicit-TLS port: ``fake_server.smtps`` raises, saying so).
``fake_server_persona`` (function scope; parametrize or override it)
    The persona's name (``fakeserver personas`` lists them) or a TOML file.
``fake_gmail_options`` (function scope; override it to configure)
    The :class:`~fakeserver.server.fake.ServerOptions`, built from the two below.
``fake_gmail_accounts``, ``fake_gmail_policy`` (session scope; override them, in any scope)
    Who may log in, and the optional Gmail behaviours (quota, rate limit, login limit).
``fake_gmail_certificates``, ``fake_gmail_ssl_context`` (session scope)
    The in-memory CA bundle and a client ``ssl.SSLContext`` that trusts it.
``smtp_cassette`` (function scope)
    A :class:`~fakeserver.recordreplay.cassette.Cassette` for the test: its SMTP conversations
    recorded against ``smtp_cassette_upstream`` once, and replayed (and checked) afterwards; the
    record mode comes from ``--smtp-record-mode`` (none, once, new, all; default none). The
    files live in ``smtp_cassette_dir``: ``cassettes/<module>/<test>/`` next to the test.
``smtp_cassette_match`` (function scope; override it to configure)
    How closely a replayed test must follow its cassette: a
    :class:`~client.transcript.matching.Matching` (the message's level, ``structure`` by
    default; masks for values that change on every run; a ``before_record`` filter), or just a
    level's name. Override it in a module or a conftest, or parametrize a test with it.

How it stays fast: servers are started once per distinct options and per pytest process
(so ``pytest -n 2`` gives each worker its own, on its own ports) and are reset between tests
instead of restarted: reset drops open connections, forgets messages, sessions, transcripts,
errors and script, and reseeds the session ids from the test's node id. No fixed port, no
global state, no environment variable.

Importing this module is cheap (it is loaded in every pytest run of a project that installs
smtprig); the server code is imported when a fixture is first used.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import ssl
    from pathlib import Path

    from client.transcript.matching import Matching, MatchLevel
    from fakeserver.recordreplay.cassette import Cassette, Upstream
    from fakeserver.server.fake import FakeGmail, ServerOptions
    from fakeserver.session.accounts import Account
    from fakeserver.session.policy import Policy
    from fakeserver.transport.tls import Certificates

__all__ = [
    "fake_gmail",
    "fake_gmail_accounts",
    "fake_gmail_certificates",
    "fake_gmail_options",
    "fake_gmail_policy",
    "fake_gmail_ssl_context",
    "fake_server",
    "fake_server_persona",
    "pytest_addoption",
    "smtp_cassette",
    "smtp_cassette_dir",
    "smtp_cassette_match",
    "smtp_cassette_upstream",
]


class _Servers:
    """The servers of one pytest process, one per distinct options."""

    def __init__(self) -> None:
        self._running: dict[ServerOptions, FakeGmail] = {}

    def get(self, options: ServerOptions) -> tuple[FakeGmail, bool]:
        """A running server for ``options``, and whether it is shared (to reset, not stop)."""
        from fakeserver.server.fake import FakeGmail

        try:
            server = self._running.get(options)
        except TypeError:  # unhashable options (e.g. a Persona object): not shared
            return FakeGmail(options).start(), False
        if server is None:
            server = FakeGmail(options).start()
            self._running[options] = server
        return server, True

    def stop_all(self) -> None:
        for server in self._running.values():
            server.stop()
        self._running.clear()


@pytest.fixture(scope="session")
def _fake_gmail_servers() -> Iterator[_Servers]:
    servers = _Servers()
    yield servers
    servers.stop_all()


@pytest.fixture(scope="session")
def fake_gmail_certificates() -> Certificates:
    """The CA and server certificate every fake Gmail of this process presents."""
    from fakeserver.transport.tls import default_certificates

    return default_certificates()


@pytest.fixture(scope="session")
def fake_gmail_ssl_context(fake_gmail_certificates: Certificates) -> ssl.SSLContext:
    """A client context that trusts the fake's CA and checks host names."""
    from fakeserver.transport.tls import client_context

    return client_context(fake_gmail_certificates)


# Session scope: made once, they cost a test nothing (pytest spends about 0.1 ms on each
# function-scoped fixture a test uses). An override may have any scope.
@pytest.fixture(scope="session")
def fake_gmail_accounts() -> Sequence[Account]:
    """Who may log in; override to add or replace accounts."""
    from fakeserver.session.accounts import DEFAULT_ACCOUNT

    return (DEFAULT_ACCOUNT,)


@pytest.fixture(scope="session")
def fake_gmail_policy() -> Policy:
    """Optional Gmail behaviours (all off); override to switch some on."""
    from fakeserver.session.policy import Policy

    return Policy()


@pytest.fixture
def fake_gmail_options(
    fake_gmail_accounts: Sequence[Account],
    fake_gmail_policy: Policy,
    fake_gmail_certificates: Certificates,
) -> ServerOptions:
    """The server's settings; override for anything the other fixtures do not cover."""
    from fakeserver.server.fake import ServerOptions

    return ServerOptions(
        accounts=tuple(fake_gmail_accounts),
        policy=fake_gmail_policy,
        certificates=fake_gmail_certificates,
    )


@pytest.fixture
def fake_gmail(
    request: pytest.FixtureRequest,
    _fake_gmail_servers: _Servers,
    fake_gmail_options: ServerOptions,
) -> Iterator[FakeGmail]:
    """A fake Gmail, fresh for this test; see the module docstring."""
    yield from _fresh(request, _fake_gmail_servers, fake_gmail_options)


@pytest.fixture
def fake_server_persona() -> str:
    """The persona ``fake_server`` speaks for; parametrize it to run a test for several."""
    return "gmail"


@pytest.fixture
def fake_server(
    request: pytest.FixtureRequest,
    _fake_gmail_servers: _Servers,
    fake_gmail_options: ServerOptions,
    fake_server_persona: str,
) -> Iterator[FakeGmail]:
    """A fake of the ``fake_server_persona`` provider, fresh for this test."""
    options = fake_gmail_options.replace(persona=fake_server_persona)
    yield from _fresh(request, _fake_gmail_servers, options)


def _fresh(
    request: pytest.FixtureRequest, servers: _Servers, options: ServerOptions
) -> Iterator[FakeGmail]:
    server, shared = servers.get(options)
    # Session ids and probabilistic faults follow the test, so a failing test repeats
    # exactly; the seed shows in the captured output of a failing test.
    seed = zlib.crc32(request.node.nodeid.encode())
    server.reseed(seed)
    print(f"smtprig: {server.persona.name} seed {seed} (session ids, fault draws)")
    try:
        yield server
        server.check()
    finally:
        if shared:
            server.reset()
        else:
            server.stop()


_RECORD_MODES = ("none", "once", "new", "all")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smtprig")
    group.addoption(
        "--smtp-record-mode",
        choices=_RECORD_MODES,
        default="none",
        help="when smtp_cassette records: none (replay only, the default), once (record "
        "what is missing), new (also record connections past the recorded ones), all",
    )


@pytest.fixture
def smtp_cassette_upstream() -> Upstream | None:
    """The real server cassettes record against; override it to record, e.g.
    ``Upstream(("smtp.gmail.com", 465), TLSMode.IMPLICIT)``."""
    return None


@pytest.fixture
def smtp_cassette_dir(request: pytest.FixtureRequest) -> Path:
    """Where this test's cassette lives: ``cassettes/<module>/<test>/`` beside the test."""
    from pathlib import Path

    from fakeserver.recordreplay.cassette import cassette_name

    test_file = Path(str(request.node.path))
    return test_file.parent / "cassettes" / test_file.stem / cassette_name(request.node.name)


@pytest.fixture
def smtp_cassette_match() -> Matching | MatchLevel | str:
    """How closely a replayed test must follow its cassette; override it, e.g.
    ``Matching(masks=[r"token=(\\w+)"])`` or ``"bytes"``. By default the conversation exactly,
    and the message as structure."""
    from client.transcript.matching import Matching

    return Matching()


@pytest.fixture
def smtp_cassette(
    request: pytest.FixtureRequest,
    smtp_cassette_upstream: Upstream | None,
    smtp_cassette_dir: Path,
    smtp_cassette_match: Matching | MatchLevel | str,
    fake_gmail_certificates: Certificates,
) -> Iterator[Cassette]:
    """This test's SMTP cassette, running; checked (and written, when recording) at
    teardown."""
    from fakeserver.recordreplay.cassette import Cassette

    mode = request.config.getoption("--smtp-record-mode")
    cassette = Cassette(
        smtp_cassette_dir,
        mode,
        upstream=smtp_cassette_upstream,
        certificates=fake_gmail_certificates,
        match=smtp_cassette_match,
    ).start()
    try:
        yield cassette
    finally:
        cassette.stop()
    cassette.check()
