"""A scriptable fake of Gmail's submission server, built on aiosmtpd.

The public surface is what this module re-exports; everything else is internal.
"""

from __future__ import annotations

from fakeserver._loop import Address
from fakeserver.accounts import DEFAULT_ACCOUNT, Account
from fakeserver.cassette import Cassette, RecordMode, Upstream
from fakeserver.dialogue import Envelope, Listener
from fakeserver.errors import (
    AccountError,
    CertificateError,
    ConfigurationError,
    FakeServerError,
    PersonaError,
    ScriptError,
    ServerThreadError,
    UnexpectedCommand,
    UnmetExpectation,
)
from fakeserver.outbox import CapturedMessage, Outbox, SessionInfo
from fakeserver.persona import Persona, Situation, load_persona
from fakeserver.policy import Policy
from fakeserver.proxy import ProxyOptions, RecordingProxy
from fakeserver.replay import ReplayOptions, ReplayServer
from fakeserver.script import Script, Step
from fakeserver.server import FakeGmail, ServerOptions
from fakeserver.sessions import SessionList, SessionRecord
from fakeserver.tls import Certificates

__all__ = [
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
]
