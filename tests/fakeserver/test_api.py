"""The public surface of fakeserver: what it exports, pinned."""

from __future__ import annotations

import importlib

import pytest

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
    "EndReason",
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


SUBPACKAGES = {
    "fakeserver.scripting": {
        "FAULTS",
        "AbortHandshake",
        "BareLF",
        "Close",
        "Coalesce",
        "Delay",
        "Disconnect",
        "Drip",
        "Expectation",
        "Fault",
        "Garbage",
        "NoFinalCRLF",
        "Overlong",
        "Reset",
        "Scenario",
        "ScenarioError",
        "Script",
        "SplitAt",
        "Stall",
        "Step",
        "TLSCertificate",
        "Withhold",
        "load_scenario",
        "parse_scenario",
    },
    "fakeserver.personas": {
        "Behaviour",
        "Exactness",
        "Grade",
        "Listener",
        "Persona",
        "ReplyTemplate",
        "Situation",
        "load_persona",
        "shipped_personas",
    },
    "fakeserver.recordreplay": {
        "Cassette",
        "ProxyOptions",
        "RecordMode",
        "RecordedTranscript",
        "RecordingProxy",
        "ReplayOptions",
        "ReplayServer",
        "Upstream",
    },
    "fakeserver.experiments": {
        "Case",
        "ClientCommand",
        "Experiment",
        "ExperimentOptions",
        "Exposure",
        "Outcome",
        "Report",
        "RunResult",
        "default_matrix",
        "load_matrix",
    },
}


@pytest.mark.parametrize("package", sorted(SUBPACKAGES))
def test_the_public_subpackages_are_pinned(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == SUBPACKAGES[package]
    for name in module.__all__:
        assert getattr(module, name) is not None


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
