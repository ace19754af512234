"""Fixtures for the client tests: an in-memory CA chain and stock aiosmtpd servers.

The chain is trustme's CA -> leaf certificate for ``localhost`` and ``127.0.0.1`` -> server
and client ``SSLContext``s, made once per session in memory (tests never read ``certs/``).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest
import trustme

from tests.support.client_testkit import AiosmtpdServer


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


@pytest.fixture(scope="session")
def client_context(ca: trustme.CA) -> ssl.SSLContext:
    """Trusts only the test CA, and checks host names (PROTOCOL_TLS_CLIENT's default)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(context)
    return context


@pytest.fixture(scope="session")
def untrusting_context() -> ssl.SSLContext:
    """Trusts a different CA: every handshake with the test servers must fail."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    trustme.CA().configure_trust(context)
    return context


@pytest.fixture
def plain_server() -> Iterator[AiosmtpdServer]:
    """aiosmtpd in clear text, offering AUTH without TLS (for tests only)."""
    with AiosmtpdServer(auth_require_tls=False) as server:
        yield server


@pytest.fixture
def starttls_server(server_context: ssl.SSLContext) -> Iterator[AiosmtpdServer]:
    """aiosmtpd offering STARTTLS, and AUTH only after it."""
    with AiosmtpdServer(starttls=server_context) as server:
        yield server


@pytest.fixture
def implicit_tls_server(server_context: ssl.SSLContext) -> Iterator[AiosmtpdServer]:
    """aiosmtpd speaking TLS from the first byte."""
    with AiosmtpdServer(implicit_tls=server_context) as server:
        yield server
