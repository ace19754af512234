"""Fixtures for the recording proxy and the replay server: upstreams to record, and the CA.

Every server binds 127.0.0.1 port 0 and uses the per-process in-memory CA, so tests never touch
``certs/`` and run in parallel. Stock aiosmtpd runs as ``tests.support.stockaiosmtpd`` runs it.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest

from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.transport.tls import client_context, default_certificates, server_context
from tests.support.stockaiosmtpd import EnvelopeKeeper, StockAiosmtpd, password_checker

WAIT_S = 5.0
"""The longest a test waits for anything; a correct run takes milliseconds."""

USER = "alice@example.test"
PASSWORD = "s3cret-app-password"


@pytest.fixture
def trusting() -> ssl.SSLContext:
    """A client context that trusts the in-memory test CA and checks host names."""
    return client_context(default_certificates())


@pytest.fixture
def gmail() -> Iterator[FakeGmail]:
    """Our fake Gmail, to record through the proxy; errors in its thread fail the test."""
    with FakeGmail(ServerOptions(seed=5)) as server:
        yield server
        server.check()


class Aiosmtpd(StockAiosmtpd[EnvelopeKeeper]):
    """Stock aiosmtpd with the in-memory test CA, and LOGIN and PLAIN for USER.

    Args:
        mode: ``plain``, ``implicit`` (TLS from the first byte) or ``starttls``.
    """

    def __init__(self, mode: str) -> None:
        context = server_context(default_certificates())
        super().__init__(
            EnvelopeKeeper(),
            starttls=context if mode == "starttls" else None,
            implicit_tls=context if mode == "implicit" else None,
            authenticator=password_checker(USER, PASSWORD),
            # aiosmtpd counts only STARTTLS as TLS (FIELD-NOTES): AUTH on the others needs this.
            auth_require_tls=mode == "starttls",
        )
        self.mode = mode
