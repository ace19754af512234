"""Recipe: replay a recorded conversation with a real server (an SMTP cassette), though every run
of the application makes a new message: its Date, Message-ID, MIME boundaries and order number.

The cassette in ``cassettes/test_cassette_app/test_invoice_mail/`` is committed; a plain pytest
run replays it, with no server and no network. ``pytest --smtp-record-mode=all`` would record it
again against the upstream below.
"""

from __future__ import annotations

import secrets

import pytest

from client import TLSMode
from client.transcript import Matching
from fakeserver.recordreplay import Cassette, Upstream
from tests.examples.myapp import MailSettings, send_invoice

USER, PASSWORD = "shop@gmail.com", "app-password"
INVOICE_PDF = b"%PDF-1.4\n% an invoice\n%%EOF\n"


@pytest.fixture
def smtp_cassette_upstream() -> Upstream:  # needed only to record
    return Upstream(("smtp.gmail.com", 465), TLSMode.IMPLICIT)


@pytest.fixture
def smtp_cassette_match() -> Matching:  # the order number is new every run
    return Matching(masks=[r"order (\d+)"])


def test_invoice_mail(smtp_cassette: Cassette) -> None:
    host, port = smtp_cassette.address
    settings = MailSettings(host, port, USER, PASSWORD, smtp_cassette.client_context())
    send_invoice(settings, "ann@example.org", order=secrets.randbelow(10**8), pdf=INVOICE_PDF)
