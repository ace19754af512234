"""A scriptable fake of Gmail's submission server, built on aiosmtpd.

The public surface is what this module re-exports; everything else is internal.
"""

from __future__ import annotations

from fakeserver._loop import Address
from fakeserver.accounts import DEFAULT_ACCOUNT, Account
from fakeserver.dialogue import Envelope, Listener
from fakeserver.errors import (
    AccountError,
    CertificateError,
    ConfigurationError,
    FakeServerError,
    PersonaError,
    ServerThreadError,
)
from fakeserver.outbox import CapturedMessage, Outbox, SessionInfo
from fakeserver.persona import Persona, Situation, load_persona
from fakeserver.policy import Policy
from fakeserver.server import FakeGmail, ServerOptions
from fakeserver.tls import Certificates

__all__ = [
    "DEFAULT_ACCOUNT",
    "Account",
    "AccountError",
    "Address",
    "CapturedMessage",
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
    "ServerOptions",
    "ServerThreadError",
    "SessionInfo",
    "Situation",
    "load_persona",
]
