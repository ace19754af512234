"""A scriptable fake of Gmail's submission server, built on aiosmtpd.

The public surface is what this module re-exports; everything else is internal.
"""

from __future__ import annotations

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
from fakeserver.personas.model import Persona, Situation, load_persona
from fakeserver.recordreplay.cassette import Cassette, RecordMode, Upstream
from fakeserver.recordreplay.proxy import ProxyOptions, RecordingProxy
from fakeserver.recordreplay.replay import ReplayOptions, ReplayServer
from fakeserver.scripting.script import Script, Step
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.server.outbox import CapturedMessage, Outbox, SessionInfo
from fakeserver.server.sessions import SessionList, SessionRecord
from fakeserver.session.accounts import DEFAULT_ACCOUNT, Account
from fakeserver.session.policy import Policy
from fakeserver.session.rules import Envelope, Listener
from fakeserver.transport.loop import Address
from fakeserver.transport.tls import Certificates

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
