"""The public surface of fakeserver: what it exports, pinned."""

from __future__ import annotations

import fakeserver

PUBLIC = {
    "DEFAULT_ACCOUNT",
    "Account",
    "AccountError",
    "Address",
    "CapturedMessage",
    "Cassette",
    "CertificateError",
    "Certificates",
    "ConfigurationError",
    "Envelope",
    "FakeGmail",
    "FakeServerError",
    "Listener",
    "Outbox",
    "Persona",
    "PersonaError",
    "Policy",
    "ProxyOptions",
    "RecordMode",
    "RecordingProxy",
    "ReplayOptions",
    "ReplayServer",
    "Script",
    "ScriptError",
    "ServerOptions",
    "ServerThreadError",
    "SessionInfo",
    "SessionList",
    "SessionRecord",
    "Situation",
    "Step",
    "UnexpectedCommand",
    "UnmetExpectation",
    "Upstream",
    "load_persona",
}


def test_all_is_pinned() -> None:
    assert set(fakeserver.__all__) == PUBLIC
    assert len(fakeserver.__all__) == len(PUBLIC)
    for name in fakeserver.__all__:
        assert getattr(fakeserver, name) is not None


def test_the_error_tree() -> None:
    assert issubclass(fakeserver.PersonaError, fakeserver.ConfigurationError)
    assert issubclass(fakeserver.ScriptError, fakeserver.ConfigurationError)
    assert issubclass(fakeserver.ConfigurationError, fakeserver.FakeServerError)
    for failure in (
        fakeserver.ServerThreadError,
        fakeserver.UnexpectedCommand,
        fakeserver.UnmetExpectation,
    ):
        assert issubclass(failure, AssertionError), "pytest reports them as failures"
