"""A scriptable fake of Gmail's submission server, built on aiosmtpd.

The public surface is what this module re-exports, plus the public subpackages:
``fakeserver.scripting`` (scripts, faults, scenario files), ``fakeserver.personas`` and
``fakeserver.recordreplay``. How the parts fit is drawn in ``docs/architecture.md``.
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
from fakeserver.personas.loader import load_persona
from fakeserver.personas.model import Listener, Persona, Situation
from fakeserver.recordreplay.cassette import Cassette, RecordMode, Upstream
from fakeserver.recordreplay.proxy import ProxyOptions, RecordingProxy
from fakeserver.recordreplay.replay import ReplayOptions, ReplayServer
from fakeserver.scripting.script import Script, Step
from fakeserver.server.fake import FakeGmail
from fakeserver.server.options import ServerOptions
from fakeserver.server.outbox import Outbox
from fakeserver.server.sessions import SessionList
from fakeserver.session.accounts import DEFAULT_ACCOUNT, Account
from fakeserver.session.policy import Policy
from fakeserver.session.records import (
    CapturedMessage,
    EndReason,
    Envelope,
    SessionInfo,
    SessionRecord,
)
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
]
